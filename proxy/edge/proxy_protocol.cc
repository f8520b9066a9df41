// PROXY protocol v1/v2 parsing: see proxy_protocol.h.
#include "proxy/edge/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string_view>

namespace proxy::edge {
namespace {

constexpr char kV1Prefix[] = "PROXY ";
constexpr size_t kV1PrefixLen = sizeof(kV1Prefix) - 1;
constexpr unsigned char kV2Sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr size_t kV2Fixed = 16;  // signature, version/command, family/protocol, length

ProxyParse fail(const char** error, const char* why) {
  if (error) *error = why;
  return ProxyParse::Error;
}

bool prefixMatches(const char* data, size_t len, const void* prefix, size_t prefix_len) {
  return std::memcmp(data, prefix, len < prefix_len ? len : prefix_len) == 0;
}

// Splits off the next space-separated field of a v1 line.
std::string_view nextField(std::string_view& rest) {
  size_t sp = rest.find(' ');
  std::string_view f = rest.substr(0, sp);
  rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  return f;
}

bool parsePort(std::string_view s, uint16_t& port) {
  if (s.empty() || s.size() > 5) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

bool parseAddress(std::string_view s, int family, void* out) {
  char text[INET6_ADDRSTRLEN];
  if (s.empty() || s.size() >= sizeof(text)) return false;
  std::memcpy(text, s.data(), s.size());
  text[s.size()] = '\0';
  return inet_pton(family, text, out) == 1;
}

ProxyParse parseV1(const char* data, size_t len, ProxyHeader& out, const char** error) {
  const void* cr = std::memchr(data, '\r', len < kMaxV1Bytes ? len : kMaxV1Bytes);
  if (!cr) return len >= kMaxV1Bytes ? fail(error, "PROXY v1 line too long") : ProxyParse::NeedMore;
  size_t line_len = static_cast<size_t>(static_cast<const char*>(cr) - data);
  if (line_len + 2 > kMaxV1Bytes) return fail(error, "PROXY v1 line too long");
  if (line_len + 1 >= len) return ProxyParse::NeedMore;
  if (data[line_len + 1] != '\n') return fail(error, "PROXY v1 line not ended by CRLF");
  std::string_view rest(data + kV1PrefixLen, line_len - kV1PrefixLen);
  std::string_view proto = nextField(rest);
  out = ProxyHeader{};
  out.version = 1;
  out.length = line_len + 2;
  if (proto == "UNKNOWN") return ProxyParse::Done;  // the rest of the line is ignored (spec)
  int family = proto == "TCP4" ? AF_INET : proto == "TCP6" ? AF_INET6 : 0;
  if (family == 0) return fail(error, "PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN");
  std::string_view src = nextField(rest), dst = nextField(rest), sport = nextField(rest), dport = rest;
  uint16_t sp = 0, dp = 0;
  unsigned char scratch[16];
  if (!parsePort(sport, sp) || !parsePort(dport, dp)) return fail(error, "PROXY v1 port is not a number 0-65535");
  if (!parseAddress(dst, family, scratch)) return fail(error, "PROXY v1 destination is not an address of its family");
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.source);
    if (!parseAddress(src, AF_INET, &sin->sin_addr)) return fail(error, "PROXY v1 source is not an IPv4 address");
    sin->sin_family = AF_INET;
    sin->sin_port = htons(sp);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.source);
    if (!parseAddress(src, AF_INET6, &sin6->sin6_addr)) return fail(error, "PROXY v1 source is not an IPv6 address");
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(sp);
  }
  out.has_source = true;
  return ProxyParse::Done;
}

ProxyParse parseV2(const unsigned char* data, size_t len, ProxyHeader& out, const char** error) {
  if (len < kV2Fixed) return ProxyParse::NeedMore;
  unsigned version = data[12] >> 4, command = data[12] & 0x0F;
  if (version != 2) return fail(error, "PROXY v2 version nibble is not 2");
  if (command > 1) return fail(error, "PROXY v2 command is neither LOCAL nor PROXY");
  size_t body = (static_cast<size_t>(data[14]) << 8) | data[15];
  if (kV2Fixed + body > kMaxV2Bytes) return fail(error, "PROXY v2 header longer than tether accepts");
  if (len < kV2Fixed + body) return ProxyParse::NeedMore;
  unsigned family = data[13] >> 4, transport = data[13] & 0x0F;
  if (transport > 2) return fail(error, "PROXY v2 transport is not STREAM or DGRAM");
  out = ProxyHeader{};
  out.version = 2;
  out.length = kV2Fixed + body;
  if (command == 0) return ProxyParse::Done;  // LOCAL: the balancer's own connection
  const unsigned char* addr = data + kV2Fixed;
  if (family == 1) {  // IPv4: src addr, dst addr, src port, dst port
    if (body < 12) return fail(error, "PROXY v2 IPv4 addresses truncated");
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.source);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, addr, 4);
    std::memcpy(&sin->sin_port, addr + 8, 2);
    out.has_source = true;
  } else if (family == 2) {
    if (body < 36) return fail(error, "PROXY v2 IPv6 addresses truncated");
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.source);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, addr, 16);
    std::memcpy(&sin6->sin6_port, addr + 32, 2);
    out.has_source = true;
  } else if (family > 3) {
    return fail(error, "PROXY v2 address family unknown");
  }
  return ProxyParse::Done;  // AF_UNSPEC / AF_UNIX: no usable source, keep the peer
}

}  // namespace

ProxyParse parseProxyHeader(const char* data, size_t len, ProxyHeader& out, const char** error) {
  if (len == 0) return ProxyParse::NeedMore;
  if (prefixMatches(data, len, kV2Sig, sizeof(kV2Sig))) {
    if (len < sizeof(kV2Sig)) return ProxyParse::NeedMore;
    return parseV2(reinterpret_cast<const unsigned char*>(data), len, out, error);
  }
  if (prefixMatches(data, len, kV1Prefix, kV1PrefixLen)) {
    if (len <= kV1PrefixLen) return ProxyParse::NeedMore;
    return parseV1(data, len, out, error);
  }
  return fail(error, "no PROXY protocol header");
}

}  // namespace proxy::edge
