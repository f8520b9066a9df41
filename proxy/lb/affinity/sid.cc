// SidTable and the open-packet parser: see sid.h.
#include "proxy/lb/affinity/sid.h"

#include <charconv>

#include "common/hash.h"

namespace proxy::lb {
namespace {

// The unsigned integer after `"name":` in `s`, or 0.
uint64_t jsonNumber(std::string_view s, std::string_view quoted_name) {
  size_t p = s.find(quoted_name);
  if (p == std::string_view::npos) return 0;
  p += quoted_name.size();
  while (p < s.size() && (s[p] == ' ' || s[p] == ':')) ++p;
  uint64_t v = 0;
  std::from_chars(s.data() + p, s.data() + s.size(), v);
  return v;
}

}  // namespace

bool parseOpenPacket(std::string_view body, OpenPacket& out) {
  // Engine.IO v4: `0{...`; v3: `<len>:0{...`. Accept either within the first bytes.
  size_t open = body.find("0{");
  if (open == std::string_view::npos || open > 12) return false;
  std::string_view json = body.substr(open + 1);
  constexpr std::string_view kSid = "\"sid\":\"";
  size_t p = json.find(kSid);
  if (p == std::string_view::npos) return false;
  p += kSid.size();
  size_t end = json.find('"', p);
  if (end == std::string_view::npos || end == p || end - p > 128) return false;
  out.sid = json.substr(p, end - p);
  out.ping_interval_ms = jsonNumber(json, "\"pingInterval\"");
  out.ping_timeout_ms = jsonNumber(json, "\"pingTimeout\"");
  return true;
}

SidTable& SidTable::global() {
  static SidTable table;
  return table;
}

uint64_t SidTable::keyOf(uint64_t upstream_id, std::string_view sid) { return common::hash64(sid, upstream_id); }

void SidTable::learn(uint64_t key, uint64_t server_id, uint64_t ttl_ms, uint64_t now_ms) {
  Shard& sh = shards_[key % kShards];
  std::lock_guard<std::mutex> lock(sh.mu);
  if (sh.map.size() >= sh.sweep_at) {
    for (auto it = sh.map.begin(); it != sh.map.end();) it = it->second.expires_ms <= now_ms ? sh.map.erase(it) : ++it;
    sh.sweep_at = std::max<size_t>(1024, sh.map.size() * 2);
  }
  sh.map[key] = Entry{server_id, ttl_ms, now_ms + ttl_ms};
}

uint64_t SidTable::find(uint64_t key, uint64_t now_ms) {
  Shard& sh = shards_[key % kShards];
  std::lock_guard<std::mutex> lock(sh.mu);
  auto it = sh.map.find(key);
  if (it == sh.map.end()) return 0;
  if (it->second.expires_ms <= now_ms) {
    sh.map.erase(it);
    return 0;
  }
  it->second.expires_ms = now_ms + it->second.ttl_ms;
  return it->second.server_id;
}

void SidTable::forget(uint64_t key) {
  Shard& sh = shards_[key % kShards];
  std::lock_guard<std::mutex> lock(sh.mu);
  sh.map.erase(key);
}

size_t SidTable::size() {
  size_t n = 0;
  for (auto& sh : shards_) {
    std::lock_guard<std::mutex> lock(sh.mu);
    n += sh.map.size();
  }
  return n;
}

}  // namespace proxy::lb
