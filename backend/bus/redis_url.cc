// redis:// URL parsing; see redis_url.h.
#include "backend/bus/redis_url.h"

#include <charconv>

namespace backend::bus {
namespace {

bool parseInt(std::string_view s, int lo, int hi, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= lo && out <= hi;
}

}  // namespace

std::string RedisTarget::display() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(db);
}

std::optional<RedisTarget> parseRedisUrl(std::string_view url, std::string& error) {
  constexpr std::string_view scheme = "redis://";
  if (url.substr(0, scheme.size()) != scheme) {
    error = "expected redis://host[:port][/db]";
    return std::nullopt;
  }
  std::string_view rest = url.substr(scheme.size());
  RedisTarget t;
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !parseInt(db, 0, 15, t.db)) {
      error = "database must be 0..15";
      return std::nullopt;
    }
  }
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    size_t colon = userinfo.find(':');
    if (colon != std::string_view::npos) t.password = std::string(userinfo.substr(colon + 1));
    authority = authority.substr(at + 1);
  }
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated [ in IPv6 host";
      return std::nullopt;
    }
    t.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        error = "unexpected text after ]";
        return std::nullopt;
      }
      port = after.substr(1);
      if (port.empty()) port = "x";  // "[::1]:" is an error below
    }
  } else {
    size_t colon = authority.find(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) port = "x";
    }
  }
  if (t.host.empty()) {
    error = "missing host";
    return std::nullopt;
  }
  for (char c : t.host) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '@' || c == '[' || c == ']') {
      error = "invalid character in host";
      return std::nullopt;
    }
  }
  if (!port.empty() && !parseInt(port, 1, 65535, t.port)) {
    error = "port must be 1..65535";
    return std::nullopt;
  }
  return t;
}

}  // namespace backend::bus
