// Small libuv helpers: error names, address formatting/parsing, and closing handles whose
// owner is freed in the close callback.
//
// Every libuv call in the project checks its return; these helpers turn the negative errno into
// a readable name for logs (`uv_err_name`) and keep the close-then-free dance in one place.
#pragma once

#include <uv.h>

#include <string>
#include <vector>
#include <string_view>

namespace common {

inline const char* uvErr(int rc) { return rc < 0 ? uv_err_name(rc) : "OK"; }

// Parses "127.0.0.1:8080", "[::1]:8080", "localhost:8080" (localhost only; no DNS on the data
// path). Returns false with a reason on failure.
bool parseSockAddr(std::string_view text, sockaddr_storage& out, std::string& error);

// Formats the IP part only ("127.0.0.1", "::1") into `out`; returns its length.
size_t formatIp(const sockaddr* sa, char* out, size_t cap);
std::string formatIp(const sockaddr* sa);
// "ip:port" / "[ip]:port".
std::string formatSockAddr(const sockaddr* sa);
// Sets the port of an IPv4/IPv6 address (other families are left alone).
void setPort(sockaddr_storage& ss, uint16_t port);
// Sorts addresses by their text ("ip:port") and drops duplicates: one canonical order, so two
// lookups that return the same set compare equal.
void sortUniqueAddresses(std::vector<sockaddr_storage>& addrs);
// Resolves `host` with the system resolver (getaddrinfo: blocking, for configuration loading
// only, never on a worker loop) into every IPv4/IPv6 address with `port`, sorted and without
// duplicates. Returns "" or why it failed ("host name not found", ...).
std::string resolveHost(const std::string& host, uint16_t port, std::vector<sockaddr_storage>& out);

// Closes `handle` if it is not already closing; `cb` may be null.
inline void closeHandle(uv_handle_t* handle, uv_close_cb cb = nullptr) {
  if (!uv_is_closing(handle)) uv_close(handle, cb);
}
template <typename H>
void closeHandle(H* handle, uv_close_cb cb = nullptr) {
  closeHandle(reinterpret_cast<uv_handle_t*>(handle), cb);
}

}  // namespace common
