// AffinityPolicy: see policy.h.
#include "proxy/lb/affinity/policy.h"

#include <map>

#include "common/hash.h"
#include "proxy/lb/affinity/sid.h"
#include "proxy/lb/key_extractor.h"

namespace proxy::lb {

const AffinityPolicy& AffinityPolicy::forUpstream(const config::UpstreamConfig& cfg) {
  thread_local std::map<const config::UpstreamConfig*, std::unique_ptr<AffinityPolicy>> cache;
  auto& slot = cache[&cfg];
  if (!slot) {
    std::vector<ServerSpec> specs;
    for (const auto& s : cfg.servers) specs.push_back({s.name, s.weight, s.backup});
    slot = std::make_unique<AffinityPolicy>(cfg, specs);
  }
  return *slot;
}

AffinityPolicy::AffinityPolicy(const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers) : cfg_(cfg) {
  if (cfg.strategy == "ip_hash") {
    hashed_ = true;
    sources_.push_back({config::KeySource::Kind::RemoteAddr, {}});
  } else if (cfg.strategy == "consistent_hash") {
    hashed_ = true;
    sources_ = cfg.hash_key;
    if (sources_.empty()) sources_.push_back({config::KeySource::Kind::RemoteAddr, {}});
  }
  for (config::AffinityLayer l : cfg.affinity) {
    if (l == config::AffinityLayer::Sid) sid_ = true;
    if (l == config::AffinityLayer::Cookie) cookie_.emplace(cfg.name, servers, cfg.cookie);
  }
  upstream_id_ = common::hash64(cfg.name, 0x736964ull /* "sid" */);
}

void AffinityPolicy::prepare(const http::MessageHead& head, std::string_view client_ip, uint64_t now_ms,
                             AffinityRequest& req) const {
  req.reset();
  if (hashed_)
    req.has_key = extractKey(sources_, head, client_ip, cfg_.ipv4_prefix, cfg_.ipv6_prefix, req.key);
  size_t n = 0;
  for (config::AffinityLayer l : cfg_.affinity) {
    int server = -1;
    if (l == config::AffinityLayer::Sid) {
      bool has_eio = false, has_sid = false;
      findQuery(head.url(), "EIO", has_eio);
      std::string_view sid = findQuery(head.url(), "sid", has_sid);
      if (has_sid && !sid.empty()) {
        req.sid_key = SidTable::keyOf(upstream_id_, sid);
        server = SidTable::global().find(req.sid_key, now_ms);
      } else if (has_eio) {
        req.learn_sid = true;
      }
    } else if (cookie_) {
      bool has = false;
      std::string_view cookies = head.find("cookie", &has);
      if (has) server = req.cookie_server = cookie_->serverFor(cookies);
    }
    if (server >= 0 && n < 2) req.pins[n++] = server;
  }
}

int AffinityPolicy::pinned(const AffinityRequest& req, const PickContext& ctx) {
  for (int pin : req.pins)
    if (pin >= 0 && !isExcluded(ctx, static_cast<size_t>(pin))) return pin;
  return -1;
}

int AffinityPolicy::pick(const AffinityRequest& req, PickContext& ctx, const Selector& selector, PickState& state) const {
  int pin = pinned(req, ctx);
  if (pin >= 0) return pin;
  fillKey(req, ctx);
  return selector.pick(ctx, state);
}

void AffinityPolicy::responseStatus(AffinityRequest& req, unsigned status) const {
  req.capturing = req.learn_sid && status == 200;
  if (status == 400 && req.sid_key) SidTable::global().forget(req.sid_key);
}

void AffinityPolicy::captureSid(AffinityRequest& req, std::string_view chunk, uint32_t server, uint64_t now_ms) const {
  if (!req.capturing) return;
  OpenPacket p;
  bool ok = req.capture.empty() && parseOpenPacket(chunk, p);  // common case: one read, no copy
  if (!ok) {  // the packet spans reads: gather up to 512 bytes
    req.capture.append(chunk.substr(0, 512 - std::min<size_t>(512, req.capture.size())));
    ok = parseOpenPacket(req.capture, p);
    if (!ok && req.capture.size() >= 512) req.capturing = false;  // not an open packet
  }
  if (!ok) return;
  uint64_t ttl = p.ping_interval_ms + p.ping_timeout_ms;
  ttl = ttl ? 2 * ttl : static_cast<uint64_t>(cfg_.sid_ttl.count());
  SidTable::global().learn(SidTable::keyOf(upstream_id_, p.sid), server, ttl, now_ms);
  req.capturing = false;
}

}  // namespace proxy::lb
