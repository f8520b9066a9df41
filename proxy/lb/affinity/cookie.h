// Cookie affinity layer (HAProxy "cookie ... insert", nginx sticky cookie): a request whose
// cookie names a healthy server goes there; otherwise the strategy behind picks and the response
// sets the cookie.
//
// The cookie value is an opaque id: 16 hex digits of XXH3(upstream name, server name). It never
// reveals an address, it is the same after a restart and on every tether instance with the same
// config (any instance can honour a cookie another one set), and it survives server reordering.
// A value that names no current server (removed, or forged) is ignored and re-set.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/lb/affinity/layer.h"
#include "proxy/lb/strategy.h"

namespace proxy::lb {

class CookieAffinity {
 public:
  CookieAffinity(std::string_view upstream, std::span<const ServerSpec> servers, const config::CookieConfig& cfg);

  // The server named by the request's Cookie header value (all Cookie pairs), or -1.
  // `present` (optional) tells whether the cookie was there at all.
  int serverFor(std::string_view cookie_header, bool* present = nullptr) const;
  // Appends one "Set-Cookie: ...\r\n" line pinning the client to `server`.
  void appendSetCookie(uint32_t server, bool tls, std::string& out) const;
  std::string_view id(uint32_t server) const { return ids_[server]; }
  const config::CookieConfig& config() const { return cfg_; }

  static std::string serverId(std::string_view upstream, std::string_view server);

 private:
  config::CookieConfig cfg_;
  std::vector<std::string> ids_;
};

// The layer: pins from the Cookie header; sets the cookie when the answering server is not the
// one the request's cookie named.
class CookieLayer final : public Layer {
 public:
  CookieLayer(const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers) : cookie_(cfg.name, servers, cfg.cookie) {}
  int pin(const http::MessageHead& head, uint64_t now_ms, AffinityRequest& req) const override;
  void atResponseHead(AffinityRequest& req, unsigned status, uint32_t server, bool tls, std::string& lines) const override;
  const CookieAffinity& cookie() const { return cookie_; }

 private:
  CookieAffinity cookie_;
};

}  // namespace proxy::lb
