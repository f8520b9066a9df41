// parseLoopbackTarget: see target.h.
#include "bench/common/target.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>

namespace bench {

std::string parseLoopbackTarget(const std::string& url, Target& out) {
  size_t sep = url.find("://");
  if (sep == std::string::npos) return "expected scheme://host:port/path";
  out.scheme = url.substr(0, sep);
  if (out.scheme != "ws" && out.scheme != "http") return "only ws:// and http:// (loopback, no TLS)";
  std::string rest = url.substr(sep + 3);
  size_t slash = rest.find('/');
  std::string authority = slash == std::string::npos ? rest : rest.substr(0, slash);
  out.path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host, port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return "unterminated [ipv6]";
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else {
    size_t colon = authority.rfind(':');
    host = colon == std::string::npos ? authority : authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (port.empty()) return "a port is required";
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (*end || p <= 0 || p > 65535) return "bad port '" + port + "'";
  out.host = authority;
  std::memset(&out.addr, 0, sizeof(out.addr));
  if (host == "localhost") host = "127.0.0.1";
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127) return "refusing non-loopback target " + host;
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(p));
    return "";
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr)) return "refusing non-loopback target " + host;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(p));
    return "";
  }
  return "host must be a loopback IP literal or localhost (no DNS): " + host;
}

}  // namespace bench
