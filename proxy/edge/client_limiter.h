// Per-client limits (`limits.per_client`): concurrent connections and a request-rate token bucket
// per client address, shared by all workers, in a table of fixed size.
//
// Why fixed: an attacker can invent addresses faster than any map could be pruned (a /64 of IPv6
// is 2^64 of them), so state is a set-associative table of kSlots entries (kWays per bucket,
// ~3 MiB, allocated on first use and only then resident). A new address takes a free way of its
// bucket, else the least recently seen way that holds no connection; its predecessor's token
// bucket is forgotten, which can only ever be generous. A way that holds connections is never
// evicted, so the slot a connection was counted in is the one it is released from. When all ways
// of a bucket hold connections, the new address is admitted untracked (limits.max_connections
// still applies): the table fails open, never closed, so one busy bucket cannot lock out a
// stranger. Buckets are chosen by XXH3 of the address with a per-process random seed, so nobody
// can aim addresses at one bucket.
//
// Workers are separate loops, and one client's connections land on different workers
// (SO_REUSEPORT), so the table is process-wide: 256 mutex stripes, held for a few dozen
// instructions per call. Sessions call it once per connection and, with a rate set, once per
// request; with the limits off nobody calls it.
//
// Addresses are 16 bytes plus a family (parseIp's form: IPv4-mapped IPv6 is IPv4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

namespace proxy::edge {

struct ClientKey {
  uint8_t addr[16] = {};
  uint8_t family = 0;  // 0: no address (never limited)
};

// Parses an IP literal (the session's client address text); family 0 if it is none.
ClientKey clientKey(std::string_view ip);

class ClientLimiter {
 public:
  static constexpr size_t kWays = 8;
  static constexpr size_t kDefaultSlots = 65536;
  static constexpr int32_t kUntracked = -1;  // admitted, not counted (limits off or bucket full)
  static constexpr int32_t kRejected = -2;

  // The process's table, which every worker's sessions use.
  static ClientLimiter& global();

  explicit ClientLimiter(size_t slots = kDefaultSlots);  // rounded up to a power of two
  ~ClientLimiter();
  ClientLimiter(const ClientLimiter&) = delete;
  ClientLimiter& operator=(const ClientLimiter&) = delete;

  // A new connection from `key`: counted (returns its slot), kUntracked, or kRejected when the
  // client already holds `max` connections. `max` 0: no connection limit (kUntracked).
  int32_t openConnection(const ClientKey& key, uint32_t max, uint64_t now_ms);
  // Releases a slot returned by openConnection (ignores kUntracked / kRejected).
  void closeConnection(int32_t slot);
  // Takes a token from the client's bucket (`rate` per second, at most `burst` saved up); false
  // when it is empty. rate 0: always true.
  bool allowRequest(const ClientKey& key, uint32_t rate, uint32_t burst, uint64_t now_ms);

  // Connections counted for `key` now (tests, and the admin view of a client).
  uint32_t connections(const ClientKey& key);
  size_t slots() const { return slots_; }

 private:
  struct Entry;
  // The way holding `key` (taking one for it if `take`); -1 if none.
  int32_t find(const ClientKey& key, uint64_t now_ms, bool take, size_t bucket);
  size_t bucketOf(const ClientKey& key) const;
  std::mutex& stripe(size_t bucket) { return stripes_[bucket % kStripes]; }
  Entry* table();

  static constexpr size_t kStripes = 256;
  size_t slots_;
  uint64_t seed_;
  std::once_flag allocated_;
  Entry* entries_ = nullptr;
  std::unique_ptr<std::mutex[]> stripes_;
};

}  // namespace proxy::edge
