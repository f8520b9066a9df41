// Key extraction: see key_extractor.h.
#include "proxy/lb/key_extractor.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "common/hash.h"
#include "proxy/config/cidr.h"

namespace proxy::lb {

using config::cidrContains;
using config::parseIp;
namespace {

constexpr uint64_t kKeySeed = 0x7465746865726b79ull;  // "tetherky": keys never collide with ring points

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

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
