// CookieAffinity: see cookie.h.
#include "proxy/lb/affinity/cookie.h"

#include <cstdio>

#include "common/hash.h"
#include "proxy/lb/key_extractor.h"

namespace proxy::lb {

std::string CookieAffinity::serverId(std::string_view upstream, std::string_view server) {
  uint64_t h = common::hash64(server, common::hash64(upstream, 0x636f6f6b6965ull /* "cookie" */));
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 16);
}

CookieAffinity::CookieAffinity(std::string_view upstream, std::span<const ServerSpec> servers,
                               const config::CookieConfig& cfg)
    : cfg_(cfg) {
  for (const auto& s : servers) ids_.push_back(serverId(upstream, s.name));
}

int CookieAffinity::serverFor(std::string_view cookie_header, bool* present) const {
  bool found = false;
  std::string_view v = findCookie(cookie_header, cfg_.name, found);
  if (present) *present = found;
  if (!found || v.size() != 16) return -1;
  for (size_t i = 0; i < ids_.size(); ++i)
    if (ids_[i] == v) return static_cast<int>(i);
  return -1;
}

void CookieAffinity::appendSetCookie(uint32_t server, bool tls, std::string& out) const {
  out += "Set-Cookie: ";
  out += cfg_.name;
  out += '=';
  out += ids_[server];
  out += "; Path=";
  out += cfg_.path;
  if (cfg_.max_age > 0) out += "; Max-Age=" + std::to_string(cfg_.max_age);
  if (!cfg_.same_site.empty()) out += "; SameSite=" + cfg_.same_site;
  bool secure = cfg_.secure == config::CookieConfig::Secure::On ||
                (cfg_.secure == config::CookieConfig::Secure::Auto && tls) || cfg_.same_site == "None";
  if (secure) out += "; Secure";
  out += "; HttpOnly\r\n";
}

int CookieLayer::pin(const http::MessageHead& head, uint64_t, AffinityRequest& req) const {
  bool has = false;
  std::string_view cookies = head.find("cookie", &has);
  if (!has) return -1;
  bool present = false;
  int server = req.cookie_server = cookie_.serverFor(cookies, &present);
  if (present && server < 0) req.unknown_pin = true;  // removed, or forged
  return server;
}

void CookieLayer::atResponseHead(AffinityRequest& req, unsigned, uint32_t server, bool tls, std::string& lines) const {
  if (req.cookie_server != static_cast<int>(server)) cookie_.appendSetCookie(server, tls, lines);
}

}  // namespace proxy::lb
