// Key extraction: see key_extractor.h.
#include "proxy/lb/key_extractor.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "common/hash.h"

namespace proxy::lb {
namespace {

constexpr uint64_t kKeySeed = 0x7465746865726b79ull;  // "tetherky": keys never collide with ring points

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

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

bool parseCidr(std::string_view text, config::Cidr& out) {
  size_t slash = text.find('/');
  std::string_view ip = text.substr(0, slash);
  out = config::Cidr{};
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

bool cidrContains(std::span<const config::Cidr> list, std::string_view ip) {
  uint8_t a[16];
  int fam = parseIp(ip, a);
  if (!fam) return false;
  for (const auto& c : list)
    if (c.family == fam && prefixMatch(a, c.addr, c.prefix)) return true;
  return false;
}

const std::vector<config::Cidr>* trustedProxiesFor(const config::Config& cfg, const sockaddr_storage& local) {
  for (const auto& l : cfg.listeners) {
    if (l.trusted_proxies.empty() || local.ss_family != l.sockaddr.ss_family) continue;
    bool match = false;
    if (local.ss_family == AF_INET) {
      auto* a = reinterpret_cast<const sockaddr_in*>(&local);
      auto* b = reinterpret_cast<const sockaddr_in*>(&l.sockaddr);
      match = a->sin_port == b->sin_port && (b->sin_addr.s_addr == 0 || a->sin_addr.s_addr == b->sin_addr.s_addr);
    } else if (local.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<const sockaddr_in6*>(&local);
      auto* b = reinterpret_cast<const sockaddr_in6*>(&l.sockaddr);
      match = a->sin6_port == b->sin6_port &&
              (IN6_IS_ADDR_UNSPECIFIED(&b->sin6_addr) || std::memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0);
    }
    if (match) return &l.trusted_proxies;
  }
  return nullptr;
}

std::string_view clientAddress(const http::MessageHead& head, std::string_view peer,
                               std::span<const config::Cidr> trusted) {
  if (trusted.empty() || !cidrContains(trusted, peer)) return peer;
  std::string_view result = peer;
  // Scan the X-Forwarded-For entries right to left (last header first): each trusted hop vouches
  // for the entry before it; the first untrusted one is the client.
  for (size_t h = head.headerCount(); h-- > 0;) {
    if (!http::equalsIgnoreCase(head.name(h), "x-forwarded-for")) continue;
    std::string_view v = head.value(h);
    while (!v.empty()) {
      size_t comma = v.rfind(',');
      std::string_view entry = trim(comma == std::string_view::npos ? v : v.substr(comma + 1));
      v = comma == std::string_view::npos ? std::string_view() : v.substr(0, comma);
      if (entry.empty()) continue;
      uint8_t tmp[16];
      if (!parseIp(entry, tmp)) return result;  // garbage: stop at the last believable hop
      if (!cidrContains(trusted, entry)) return entry;
      result = entry;
    }
  }
  return result;  // everything was trusted: the left-most trusted hop
}

std::string_view findCookie(std::string_view header, std::string_view name, bool& found) {
  found = false;
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
    std::string_view v = trim(pair.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    found = true;
    return v;
  }
  return {};
}

std::string_view findQuery(std::string_view url, std::string_view name, bool& found) {
  found = false;
  size_t q = url.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = url.substr(q + 1);
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) rest = rest.substr(0, hash);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    found = true;
    return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return {};
}

std::string_view urlPath(std::string_view url) { return url.substr(0, url.find('?')); }

uint64_t hashAddress(std::string_view ip, uint32_t v4_prefix, uint32_t v6_prefix) {
  uint8_t a[16];
  int fam = parseIp(ip, a);
  if (!fam) return common::hash64(ip, kKeySeed);
  size_t len = fam == AF_INET ? 4 : 16;
  uint32_t bits = fam == AF_INET ? v4_prefix : v6_prefix;
  for (size_t i = 0; i < len; ++i) {
    uint32_t keep = bits > i * 8 ? std::min<uint32_t>(8, bits - static_cast<uint32_t>(i * 8)) : 0;
    a[i] &= static_cast<uint8_t>(keep == 8 ? 0xff : (0xff << (8 - keep)) & 0xff);
  }
  return common::hash64(a, len, kKeySeed + static_cast<uint64_t>(fam));
}

uint64_t hashKeyValue(std::string_view value) { return common::hash64(value, kKeySeed); }

bool extractKey(std::span<const config::KeySource> sources, const http::MessageHead& head, std::string_view client_ip,
                uint32_t v4_prefix, uint32_t v6_prefix, uint64_t& key) {
  using Kind = config::KeySource::Kind;
  for (const auto& src : sources) {
    bool found = false;
    std::string_view v;
    switch (src.kind) {
      case Kind::RemoteAddr:
        key = hashAddress(client_ip, v4_prefix, v6_prefix);
        return true;
      case Kind::Header: v = head.find(src.name, &found); break;
      case Kind::Cookie: {
        bool has = false;
        std::string_view cookies = head.find("cookie", &has);
        if (has) v = findCookie(cookies, src.name, found);
        break;
      }
      case Kind::Query: v = findQuery(head.url(), src.name, found); break;
      case Kind::Path:
        v = urlPath(head.url());
        found = true;
        break;
    }
    if (found && !v.empty()) {
      key = common::hash64(v, kKeySeed);
      return true;
    }
  }
  return false;
}

}  // namespace proxy::lb
