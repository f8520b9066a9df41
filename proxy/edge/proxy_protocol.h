// The PROXY protocol header (HAProxy's spec, versions 1 and 2) that an L4 balancer puts in front
// of a connection's first byte to say whose connection it is. Pure: bytes in, addresses out.
//
// parseProxyHeader is called on everything received so far (the session accumulates until it
// returns Done or Error), so a header split across reads is handled without parser state. It
// decides as early as the bytes allow: a first byte that cannot start either signature is an
// error at once, and so is a v1 line that grows past the spec's 107 bytes without CRLF.
//
// What a header says:
//  - v1 `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n`: the source is the client.
//  - v1 `PROXY UNKNOWN ...\r\n`, v2 LOCAL, and v2 PROXY with an address family other than
//    IPv4/IPv6 (AF_UNSPEC, AF_UNIX): the connection is the balancer's own (health checks); the
//    TCP peer stays the client (`has_source` false).
//  - v2 TLVs are skipped; a v2 header longer than kMaxV2Bytes is refused.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace proxy::edge {

struct ProxyHeader {
  size_t length = 0;          // bytes of the header (the connection's data starts after them)
  bool has_source = false;    // false: keep the TCP peer as the client
  sockaddr_storage source{};  // the client, when has_source
  uint8_t version = 0;        // 1 or 2
};

enum class ProxyParse : uint8_t { NeedMore, Done, Error };

constexpr size_t kMaxV1Bytes = 107;   // the spec's longest v1 line, CRLF included
constexpr size_t kMaxV2Bytes = 2048;  // signature + fixed part + addresses + TLVs we accept

// On Error, `*error` (when given) names what was wrong, for the debug log.
ProxyParse parseProxyHeader(const char* data, size_t len, ProxyHeader& out, const char** error = nullptr);

}  // namespace proxy::edge
