// CIDR blocks and IP literals: see cidr.h.
#include "proxy/config/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace proxy::config {
namespace {

bool prefixMatch(const uint8_t* a, const uint8_t* b, uint32_t bits) {
  uint32_t full = bits / 8;
  if (std::memcmp(a, b, full) != 0) return false;
  uint32_t rest = bits % 8;
  if (!rest) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

}  // namespace

int parseIp(std::string_view text, uint8_t out[16]) {
  char buf[64];
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (text.empty() || text.size() >= sizeof(buf)) return 0;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  if (inet_pton(AF_INET, buf, out) == 1) return AF_INET;
  if (inet_pton(AF_INET6, buf, out) != 1) return 0;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out, kMapped, 12) == 0) {  // ::ffff:a.b.c.d (dual-stack listener) is IPv4
    std::memmove(out, out + 12, 4);
    return AF_INET;
  }
  return AF_INET6;
}

bool parseCidr(std::string_view text, Cidr& out) {
  size_t slash = text.find('/');
  std::string_view ip = text.substr(0, slash);
  out = Cidr{};
  out.family = parseIp(ip, out.addr);
  if (!out.family) return false;
  uint32_t max = out.family == AF_INET ? 32 : 128;
  out.prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), out.prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || p.empty() || out.prefix > max) return false;
  }
  return true;
}

bool cidrContains(std::span<const Cidr> list, std::string_view ip) {
  uint8_t a[16];
  int fam = parseIp(ip, a);
  if (!fam) return false;
  for (const auto& c : list)
    if (c.family == fam && prefixMatch(a, c.addr, c.prefix)) return true;
  return false;
}

}  // namespace proxy::config
