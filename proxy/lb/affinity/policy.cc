// AffinityPolicy: see policy.h.
#include "proxy/lb/affinity/policy.h"

#include "proxy/lb/key_extractor.h"
#include "proxy/lb/registry.h"

namespace proxy::lb {

AffinityPolicy::AffinityPolicy(const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers)
    : ipv4_prefix_(cfg.ipv4_prefix), ipv6_prefix_(cfg.ipv6_prefix) {
  const Strategy* strategy = findStrategy(cfg.strategy);
  KeyUse key = strategy ? strategy->key : KeyUse::None;
  if (key == KeyUse::Address) {
    hashed_ = true;
    sources_.push_back({config::KeySource::Kind::RemoteAddr, {}});
  } else if (key == KeyUse::HashKey) {
    hashed_ = true;
    sources_ = cfg.hash_key;
    if (sources_.empty()) sources_.push_back({config::KeySource::Kind::RemoteAddr, {}});
  }
  for (config::AffinityLayer kind : cfg.affinity) {
    layers_.push_back(makeLayer(kind, cfg, servers));
    if (kind == config::AffinityLayer::Sid) sid_ = static_cast<const SidLayer*>(layers_.back().get());
  }
}

void AffinityPolicy::prepare(const http::MessageHead& head, std::string_view client_ip, uint64_t now_ms,
                             AffinityRequest& req) const {
  req.reset();
  if (hashed_) req.has_key = extractKey(sources_, head, client_ip, ipv4_prefix_, ipv6_prefix_, req.key);
  size_t n = 0;
  for (const LayerPtr& layer : layers_) {
    int server = layer->pin(head, now_ms, req);
    if (server >= 0 && n < 2) req.pins[n++] = server;
  }
}

void AffinityPolicy::responseHead(AffinityRequest& req, unsigned status, uint32_t server, bool tls, std::string& head) const {
  if (layers_.empty() || head.size() < 2) return;
  head.resize(head.size() - 2);  // before the blank line that ends the head
  for (const LayerPtr& layer : layers_) layer->atResponseHead(req, status, server, tls, head);
  head += "\r\n";
}

}  // namespace proxy::lb
