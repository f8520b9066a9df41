// An upstream's affinity policy: key extraction + the affinity layers (sid, cookie) that sit in
// front of its strategy (ARCHITECTURE.md lessons 3 and 4). Built once per upstream and immutable,
// like a Selector; the per-request state lives in AffinityRequest, owned by the session.
//
// Per request:
//   prepare()      at the request head: the hash key (if the strategy hashes), the servers the
//                  layers name, in layer order ("pins"), and whether this is an Engine.IO
//                  handshake whose response should teach us a sid.
//   pick()         first pin not excluded (tried or down); else the strategy with the key.
//   wantsCookie()  at the response head: the cookie layer is on and the request's cookie did not
//                  already name the server that answers -> add Set-Cookie.
//   captureSid()   on response body bytes of a handshake: learn sid -> server.
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
#include "proxy/lb/strategy.h"

namespace proxy::lb {

struct AffinityRequest {
  uint64_t key = 0;
  bool has_key = false;
  int pins[2] = {-1, -1};   // servers named by the layers, in `affinity:` order
  int cookie_server = -1;   // server the request's cookie named
  bool learn_sid = false;   // Engine.IO polling handshake
  uint64_t sid_key = 0;     // SidTable key of the request's ?sid= (0: none)
  bool capturing = false;   // learn_sid and the response is a 200: watching its body
  std::string capture;      // first body bytes when the open packet spans reads

  void reset() {
    has_key = learn_sid = capturing = false;
    sid_key = 0;
    pins[0] = pins[1] = cookie_server = -1;
    capture.clear();
  }
};

class AffinityPolicy {
 public:
  // The calling worker thread's policy for `cfg`, built on first use and kept (immutable) for
  // the thread's life. MERGE NOTE: belongs next to the selector in UpstreamRuntime; this branch
  // may not edit proxy/upstream, so the session looks it up here.
  static const AffinityPolicy& forUpstream(const config::UpstreamConfig& cfg);

  AffinityPolicy(const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers);

  void prepare(const http::MessageHead& head, std::string_view client_ip, uint64_t now_ms, AffinityRequest& req) const;
  int pick(const AffinityRequest& req, PickContext& ctx, const Selector& selector, PickState& state) const;
  // The two halves of pick(), for callers that own the selector elsewhere (the session).
  static int pinned(const AffinityRequest& req, const PickContext& ctx);
  static void fillKey(const AffinityRequest& req, PickContext& ctx) {
    ctx.key = req.key;
    ctx.has_key = req.has_key;
  }

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

  bool hasSid() const { return sid_; }
  const CookieAffinity* cookie() const { return cookie_ ? &*cookie_ : nullptr; }

 private:
  config::UpstreamConfig cfg_;  // a copy: policies may outlive a reloaded config
  bool hashed_ = false;  // the strategy reads a key
  std::vector<config::KeySource> sources_;
  bool sid_ = false;
  uint64_t upstream_id_ = 0;
  std::optional<CookieAffinity> cookie_;
};

}  // namespace proxy::lb
