// SidLayer: see sid_layer.h.
#include "proxy/lb/affinity/sid_layer.h"

#include <algorithm>
#include <cassert>

#include "common/hash.h"
#include "proxy/lb/key_extractor.h"

namespace proxy::lb {

SidLayer::SidLayer(const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers)
    : upstream_id_(common::hash64(cfg.name, 0x736964ull /* "sid" */)),
      sid_ttl_ms_(static_cast<uint64_t>(cfg.sid_ttl.count())),
      tokens_(cfg.sid_token) {
  if (tokens_) token_key_ = sidTokenKey(cfg.name, cfg.sid_secret);
  for (uint32_t i = 0; i < servers.size(); ++i) {
    ids_by_index_.push_back(serverId(servers[i].name));
    server_ids_.emplace_back(ids_by_index_.back(), i);
  }
  std::sort(server_ids_.begin(), server_ids_.end());
}

int SidLayer::pin(const http::MessageHead& head, uint64_t now_ms, AffinityRequest& req) const {
  bool has_eio = false, has_sid = false;
  findQuery(head.url(), "EIO", has_eio);
  std::string_view sid = findQuery(head.url(), "sid", has_sid);
  if (has_sid && !sid.empty()) {
    int server = sidPin(head, sid, now_ms, req);
    if (server < 0) req.unknown_pin = true;  // expired, forged, or its server is gone
    return server;
  }
  if (has_eio) req.learn_sid = true;  // a handshake: its response teaches the sid
  return -1;
}

void SidLayer::atResponseHead(AffinityRequest& req, unsigned status, uint32_t, bool, std::string&) const {
  req.capturing = req.learn_sid && status == 200;
  req.sealing = req.capturing && tokens_;
  if (status == 400 && req.sid_key) SidTable::global().forget(req.sid_key);  // "Session ID unknown"
}

uint64_t SidLayer::serverId(std::string_view server_name) {
  uint64_t id = common::hash64(server_name, 0x7365727665ull /* "serve" */);
  return id ? id : 1;  // 0 means "none" in the sid table
}

int SidLayer::indexOf(uint64_t server_id) const {
  auto it = std::lower_bound(server_ids_.begin(), server_ids_.end(), std::make_pair(server_id, uint32_t{0}));
  return it != server_ids_.end() && it->first == server_id ? static_cast<int>(it->second) : -1;
}

// The server the request's sid names: from the table, else (sid tokens) from the token. A valid
// token is removed from the URL forwarded, and teaches the table, so the session's later
// requests take the table path.
int SidLayer::sidPin(const http::MessageHead& head, std::string_view sid, uint64_t now_ms, AffinityRequest& req) const {
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
  if (server >= 0) SidTable::global().learn(req.sid_key, token_id, sid_ttl_ms_, now_ms);
  return server;
}

void SidLayer::captureSid(AffinityRequest& req, std::string_view chunk, uint32_t server, uint64_t now_ms) const {
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

void SidLayer::learn(const OpenPacket& p, uint32_t server, uint64_t now_ms) const {
  uint64_t ttl = p.ping_interval_ms + p.ping_timeout_ms;
  ttl = ttl ? 2 * ttl : sid_ttl_ms_;
  if (server < ids_by_index_.size()) SidTable::global().learn(SidTable::keyOf(upstream_id_, p.sid), ids_by_index_[server], ttl, now_ms);
}

bool SidLayer::sealOpenPacket(AffinityRequest& req, std::string_view chunk, bool final, uint32_t server,
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
