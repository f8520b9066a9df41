// libuv helpers: see uv_util.h.
#include "common/uv_util.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace common {

bool parseSockAddr(std::string_view text, sockaddr_storage& out, std::string& error) {
  std::memset(&out, 0, sizeof(out));
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      error = "expected [IPv6]:port";
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      error = "expected host:port";
      return false;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      error = "IPv6 addresses must be written as [addr]:port";
      return false;
    }
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p > 65535 || port.empty()) {
    error = "invalid port '" + std::string(port) + "'";
    return false;
  }
  if (host == "localhost") host = "127.0.0.1";
  std::string h(host);
  auto* in4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET, h.c_str(), &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons(static_cast<uint16_t>(p));
    return true;
  }
  if (inet_pton(AF_INET6, h.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(p));
    return true;
  }
  error = "invalid IP address '" + h + "' (names other than localhost are not resolved)";
  return false;
}

size_t formatIp(const sockaddr* sa, char* out, size_t cap) {
  if (cap == 0) return 0;
  out[0] = '\0';
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, out, static_cast<socklen_t>(cap));
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, out, static_cast<socklen_t>(cap));
  }
  return std::strlen(out);
}

std::string formatIp(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN];
  return std::string(buf, formatIp(sa, buf, sizeof(buf)));
}

std::string formatSockAddr(const sockaddr* sa) {
  std::string ip = formatIp(sa);
  unsigned port = 0;
  if (sa->sa_family == AF_INET) port = ntohs(reinterpret_cast<const sockaddr_in*>(sa)->sin_port);
  else if (sa->sa_family == AF_INET6) port = ntohs(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_port);
  if (sa->sa_family == AF_INET6) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}


void setPort(sockaddr_storage& ss, uint16_t port) {
  if (ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
  else if (ss.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
}

void sortUniqueAddresses(std::vector<sockaddr_storage>& addrs) {
  auto text = [](const sockaddr_storage& a) { return formatSockAddr(reinterpret_cast<const sockaddr*>(&a)); };
  std::sort(addrs.begin(), addrs.end(), [&](const sockaddr_storage& a, const sockaddr_storage& b) { return text(a) < text(b); });
  addrs.erase(std::unique(addrs.begin(), addrs.end(), [&](const sockaddr_storage& a, const sockaddr_storage& b) { return text(a) == text(b); }),
              addrs.end());
}

std::string resolveHost(const std::string& host, uint16_t port, std::vector<sockaddr_storage>& out) {
  out.clear();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) return rc == EAI_NONAME || rc == EAI_NODATA ? "host name '" + host + "' not found" : "cannot resolve '" + host + "': " + gai_strerror(rc);
  for (addrinfo* a = res; a; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, a->ai_addr, a->ai_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    setPort(ss, port);
    out.push_back(ss);
  }
  ::freeaddrinfo(res);
  sortUniqueAddresses(out);
  if (out.empty()) return "host name '" + host + "' has no IPv4 or IPv6 address";
  return {};
}

}  // namespace common
