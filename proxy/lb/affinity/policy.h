// An upstream's affinity policy: key extraction + the affinity layers (sid, cookie) that sit in
// front of its strategy (ARCHITECTURE.md lessons 3 and 4). Built once per upstream and immutable,
// like a Selector; the per-request state lives in AffinityRequest, owned by the session.
//
// Per request:
//   prepare()      at the request head: the hash key (if the strategy hashes), the servers the
//                  layers name, in layer order ("pins"), and whether this is an Engine.IO
//                  handshake whose response should teach us a sid.
//   (lb/pick.h)    chooses: first usable pin, else the strategy with the key.
//   wantsCookie()  at the response head: the cookie layer is on and the request's cookie did not
//                  already name the server that answers -> add Set-Cookie.
//   captureSid()   on response body bytes of a handshake: learn sid -> server.
//   sealOpenPacket() with sid tokens on (sid_token.h), instead of captureSid: the session holds
//                  the handshake's response until the open packet is complete, then sends the
//                  packet with the sid sealed for the client.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "proxy/config/config.h"
#include "proxy/http/message_head.h"
#include "proxy/lb/affinity/cookie.h"
#include "proxy/lb/affinity/sid.h"
#include "proxy/lb/affinity/sid_token.h"
#include "proxy/lb/strategy.h"

namespace proxy::lb {

struct AffinityRequest {
  uint64_t key = 0;
  bool has_key = false;
  int pins[2] = {-1, -1};   // servers named by the layers, in `affinity:` order
  int cookie_server = -1;   // server the request's cookie named
  bool unknown_pin = false; // a sid or cookie was sent that names no current server
  bool learn_sid = false;   // Engine.IO polling handshake
  uint64_t sid_key = 0;     // SidTable key of the request's ?sid= (0: none)
  bool capturing = false;   // learn_sid and the response is a 200: watching its body
  bool sealing = false;     // capturing, and the sid goes to the client as a token
  std::string capture;      // first body bytes when the open packet spans reads (sealing: all held bytes)
  std::string upstream_url; // the URL to forward when it differs from the client's (sid token removed)

  void reset() {
    has_key = unknown_pin = learn_sid = capturing = sealing = false;
    sid_key = 0;
    pins[0] = pins[1] = cookie_server = -1;
    capture.clear();
    upstream_url.clear();
  }
};

class AffinityPolicy {
 public:
  AffinityPolicy(const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers);

  void prepare(const http::MessageHead& head, std::string_view client_ip, uint64_t now_ms, AffinityRequest& req) const;

  bool wantsCookie(const AffinityRequest& req, uint32_t server) const {
    return cookie_ && req.cookie_server != static_cast<int>(server);
  }
  // `tls`: the request came over TLS (secure: auto then adds Secure).
  void appendSetCookie(uint32_t server, bool tls, std::string& out) const { cookie_->appendSetCookie(server, tls, out); }

  // At the response head: a handshake's 200 starts sid capture; a 400 to a request carrying a
  // sid ("Session ID unknown") drops the entry.
  void responseStatus(AffinityRequest& req, unsigned status) const;
  // Feeds response body bytes; learns the sid once the open packet is complete.
  void captureSid(AffinityRequest& req, std::string_view chunk, uint32_t server, uint64_t now_ms) const;
  // Sealing: appends `chunk` to the held bytes. Once the open packet is complete, or the bytes
  // cannot be one (`final`: the body ended; or 512 bytes without a sid), learns the sid, writes
  // the bytes to send in `out` (the packet with its sid sealed, or the held bytes unchanged) and
  // returns true; until then returns false and `out` is untouched.
  bool sealOpenPacket(AffinityRequest& req, std::string_view chunk, bool final, uint32_t server, uint64_t now_ms,
                      std::string& out) const;

  bool hasSid() const { return sid_; }
  bool hasLayers() const { return !cfg_.affinity.empty(); }
  // The identity a sid entry stores for a server: a hash of its name, so a pin survives reloads
  // that reorder, add or remove other servers (an index would not).
  static uint64_t serverId(std::string_view server_name);
  const CookieAffinity* cookie() const { return cookie_ ? &*cookie_ : nullptr; }

 private:
  config::UpstreamConfig cfg_;  // a copy: policies may outlive a reloaded config
  bool hashed_ = false;  // the strategy reads a key
  std::vector<config::KeySource> sources_;
  bool sid_ = false;
  uint64_t upstream_id_ = 0;
  bool tokens_ = false;  // sid tokens (`sid_token: true`)
  SidTokenKey token_key_{};
  std::vector<std::pair<uint64_t, uint32_t>> server_ids_;  // (serverId, index), sorted by id
  std::vector<uint64_t> ids_by_index_;
  std::optional<CookieAffinity> cookie_;

  int indexOf(uint64_t server_id) const;
  int sidPin(const http::MessageHead& head, std::string_view sid, uint64_t now_ms, AffinityRequest& req) const;
  void learn(const OpenPacket& p, uint32_t server, uint64_t now_ms) const;
};

}  // namespace proxy::lb
