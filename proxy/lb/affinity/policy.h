// An upstream's affinity policy: key extraction + the affinity layers (layer.h: sid, cookie) that
// sit in front of its strategy (ARCHITECTURE.md lessons 3 and 4). Built once per upstream and
// configuration generation and immutable, like a Selector; the per-request state lives in
// AffinityRequest, owned by the session.
//
// Per request:
//   prepare()        at the request head: the hash key (if the strategy reads one) and the
//                    servers the layers name, in layer order ("pins").
//   (lb/pick.h)      chooses: first usable pin, else the strategy with the key.
//   responseHead()   at the response head: each layer may add header lines (Set-Cookie) and
//                    start watching the body (the sid layer, on a handshake's 200).
//   sid()            the sid layer's body hooks (captureSid, sealOpenPacket), or null.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/http/message_head.h"
#include "proxy/lb/affinity/layer.h"
#include "proxy/lb/affinity/sid_layer.h"
#include "proxy/lb/strategy.h"

namespace proxy::lb {

class AffinityPolicy {
 public:
  AffinityPolicy(const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers);

  void prepare(const http::MessageHead& head, std::string_view client_ip, uint64_t now_ms, AffinityRequest& req) const;
  // `head` is a complete response head ending in the blank line; lines the layers add go before
  // it. `tls`: the request came over TLS (a cookie with secure: auto then gets Secure).
  void responseHead(AffinityRequest& req, unsigned status, uint32_t server, bool tls, std::string& head) const;

  const SidLayer* sid() const { return sid_; }
  bool hasLayers() const { return !layers_.empty(); }

 private:
  bool hashed_ = false;  // the strategy reads a key
  std::vector<config::KeySource> sources_;
  uint32_t ipv4_prefix_ = 32, ipv6_prefix_ = 128;
  std::vector<LayerPtr> layers_;      // in `affinity:` order
  const SidLayer* sid_ = nullptr;     // one of layers_, when listed
};

}  // namespace proxy::lb
