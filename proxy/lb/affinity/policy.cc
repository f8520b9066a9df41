// AffinityPolicy: see policy.h.
#include "proxy/lb/affinity/policy.h"

#include <algorithm>
#include <cassert>

#include "common/hash.h"
#include "proxy/lb/affinity/sid.h"
#include "proxy/lb/key_extractor.h"
#include "proxy/lb/registry.h"

namespace proxy::lb {

AffinityPolicy::AffinityPolicy(const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers) : cfg_(cfg) {
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
  for (config::AffinityLayer l : cfg.affinity) {
    if (l == config::AffinityLayer::Sid) sid_ = true;
    if (l == config::AffinityLayer::Sid && cfg.sid_token) {
      tokens_ = true;
      token_key_ = sidTokenKey(cfg.name, cfg.sid_secret);
    }
    if (l == config::AffinityLayer::Cookie) cookie_.emplace(cfg.name, servers, cfg.cookie);
  }
  upstream_id_ = common::hash64(cfg.name, 0x736964ull /* "sid" */);
  for (uint32_t i = 0; i < servers.size(); ++i) {
    ids_by_index_.push_back(serverId(servers[i].name));
    server_ids_.emplace_back(ids_by_index_.back(), i);
  }
  std::sort(server_ids_.begin(), server_ids_.end());
}

uint64_t AffinityPolicy::serverId(std::string_view server_name) {
  uint64_t id = common::hash64(server_name, 0x7365727665ull /* "serve" */);
  return id ? id : 1;  // 0 means "none" in the sid table
}

int AffinityPolicy::indexOf(uint64_t server_id) const {
  auto it = std::lower_bound(server_ids_.begin(), server_ids_.end(), std::make_pair(server_id, uint32_t{0}));
  return it != server_ids_.end() && it->first == server_id ? static_cast<int>(it->second) : -1;
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
        server = sidPin(head, sid, now_ms, req);
        if (server < 0) req.unknown_pin = true;  // expired, forged, or its server is gone
      } else if (has_eio) {
        req.learn_sid = true;
      }
    } else if (cookie_) {
      bool has = false;
      std::string_view cookies = head.find("cookie", &has);
      if (has) {
        bool present = false;
        server = req.cookie_server = cookie_->serverFor(cookies, &present);
        if (present && server < 0) req.unknown_pin = true;
      }
    }
    if (server >= 0 && n < 2) req.pins[n++] = server;
  }
}

// The server the request's sid names: from the table, else (sid tokens) from the token. A valid
// token is removed from the URL forwarded, and teaches the table, so the session's later
// requests take the table path.
int AffinityPolicy::sidPin(const http::MessageHead& head, std::string_view sid, uint64_t now_ms, AffinityRequest& req) const {
  std::string_view backend_sid = sid;
  uint64_t token_id = 0;
  SidSeal seal = tokens_ ? openSid(token_key_, sid, backend_sid, token_id) : SidSeal::None;
  if (seal == SidSeal::Valid) {
    std::string_view url = head.url();
    size_t at = static_cast<size_t>(sid.data() - url.data());
    req.upstream_url.assign(url.substr(0, at)).append(backend_sid).append(url.substr(at + sid.size()));
  }
  req.sid_key = SidTable::keyOf(upstream_id_, backend_sid);
  uint64_t id = SidTable::global().find(req.sid_key, now_ms);
  if (id) return indexOf(id);
  if (seal != SidSeal::Valid) return -1;
  int server = indexOf(token_id);
  if (server >= 0) SidTable::global().learn(req.sid_key, token_id, static_cast<uint64_t>(cfg_.sid_ttl.count()), now_ms);
  return server;
}

void AffinityPolicy::responseStatus(AffinityRequest& req, unsigned status) const {
  req.capturing = req.learn_sid && status == 200;
  req.sealing = req.capturing && tokens_;
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
  learn(p, server, now_ms);
  req.capturing = false;
}

void AffinityPolicy::learn(const OpenPacket& p, uint32_t server, uint64_t now_ms) const {
  uint64_t ttl = p.ping_interval_ms + p.ping_timeout_ms;
  ttl = ttl ? 2 * ttl : static_cast<uint64_t>(cfg_.sid_ttl.count());
  if (server < ids_by_index_.size()) SidTable::global().learn(SidTable::keyOf(upstream_id_, p.sid), ids_by_index_[server], ttl, now_ms);
}

bool AffinityPolicy::sealOpenPacket(AffinityRequest& req, std::string_view chunk, bool final, uint32_t server,
                                    uint64_t now_ms, std::string& out) const {
  assert(req.sealing);
  req.capture.append(chunk);
  OpenPacket p;
  bool ok = parseOpenPacket(std::string_view(req.capture).substr(0, 512), p);
  if (!ok && !final && req.capture.size() < 512) return false;  // the packet may still be arriving
  req.sealing = req.capturing = false;
  out.clear();
  if (!ok || server >= ids_by_index_.size()) {  // not an open packet: send what was held, unchanged
    out.swap(req.capture);
    return true;
  }
  learn(p, server, now_ms);
  size_t at = static_cast<size_t>(p.sid.data() - req.capture.data());
  out.reserve(req.capture.size() + kSidTokenSuffix);
  out.append(req.capture, 0, at);
  sealSid(token_key_, p.sid, ids_by_index_[server], out);
  out.append(req.capture, at + p.sid.size());
  return true;
}

}  // namespace proxy::lb
