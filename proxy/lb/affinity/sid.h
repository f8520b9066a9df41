// The Engine.IO sid table and open-packet parser behind the sid layer (sid_layer.h): learn which
// server owns a Socket.IO session from the backend's handshake, then pin every later request
// carrying `?sid=` (polling and the websocket upgrade) there — no cookie and no client address
// needed.
//
// The handshake is a polling request with `EIO=` and no `sid=` in its query; its 200 response body
// starts with the open packet, `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],
// "pingInterval":25000,"pingTimeout":20000,...}` (Engine.IO v3 prefixes a length, "97:0{...").
// parseOpenPacket() reads the sid and the ping timings; an entry lives for
// 2 × (pingInterval + pingTimeout) and every request carrying the sid extends it, so it expires
// soon after the session does (or after `sid_ttl` when the packet gives no timings).
//
// Why a shared, locked table: workers are separate loops with SO_REUSEPORT listeners, so the
// polling requests of one session arrive on *different* TCP connections, usually accepted by
// different workers; a per-worker table would miss most of them, and requiring
// workers: 1 would cap the proxy at one core). The table is process-wide, split into 64 shards
// each with its own mutex, keyed by XXH3(sid) seeded per upstream. Only Engine.IO requests touch
// it (one lookup or one insert, a few hundred ns under the lock) and different sessions rarely
// share a shard, so contention stays negligible next to a syscall. Expired entries are swept
// from a shard while it is locked for an insert, a bounded number at a time.
#pragma once

#include <cstdint>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace proxy::lb {

struct OpenPacket {
  std::string_view sid;
  uint64_t ping_interval_ms = 0;
  uint64_t ping_timeout_ms = 0;
};
// Parses the start of a handshake response body; false if no complete sid is in `body`.
bool parseOpenPacket(std::string_view body, OpenPacket& out);

class SidTable {
 public:
  static SidTable& global();

  // Entries are keyed by keyOf(upstream, sid): one hash per request, reused by find and forget.
  static uint64_t keyOf(uint64_t upstream_id, std::string_view sid);
  // `server_id`: the owning server's identity (SidLayer::serverId, never 0), not its
  // position, so entries stay right across reloads that reorder the servers.
  void learn(uint64_t key, uint64_t server_id, uint64_t ttl_ms, uint64_t now_ms);
  // The identity of the server owning the sid (and extends its life), or 0.
  uint64_t find(uint64_t key, uint64_t now_ms);
  // The backend no longer knows the session (it answered 400 to a request carrying the sid).
  void forget(uint64_t key);
  size_t size();

 private:
  struct Entry {
    uint64_t server_id;
    uint64_t ttl_ms;
    uint64_t expires_ms;
  };
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<uint64_t, Entry> map;
    size_t sweep_at = 1024;
  };
  static constexpr size_t kShards = 64;
  Shard shards_[kShards];
};

}  // namespace proxy::lb
