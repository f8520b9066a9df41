// Per-client connection and request-rate limits: see client_limiter.h.
#include "proxy/edge/client_limiter.h"

#include <openssl/rand.h>

#include <sys/socket.h>

#include <cassert>
#include <cstdlib>
#include <cstring>

#include "common/hash.h"
#include "proxy/config/cidr.h"

namespace proxy::edge {

struct ClientLimiter::Entry {
  uint8_t addr[16];
  uint8_t family;       // 0: free
  uint32_t conns;       // connections counted here (never evicted while > 0)
  double tokens;        // request bucket; refilled lazily from refill_ms
  uint64_t refill_ms;
  uint64_t seen_ms;     // last use, for eviction
};

ClientKey clientKey(std::string_view ip) {
  ClientKey k;
  int family = config::parseIp(ip, k.addr);
  if (family == AF_INET) std::memset(k.addr + 4, 0, sizeof k.addr - 4);  // parseIp leaves the rest of a mapped address
  k.family = static_cast<uint8_t>(family == AF_INET ? 4 : family == AF_INET6 ? 6 : 0);
  return k;
}

ClientLimiter& ClientLimiter::global() {
  static ClientLimiter table;
  return table;
}

ClientLimiter::ClientLimiter(size_t slots) : stripes_(new std::mutex[kStripes]) {
  size_t n = kWays;
  while (n < slots) n <<= 1;
  slots_ = n;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&seed_), sizeof seed_) != 1) seed_ = common::mix64(reinterpret_cast<uintptr_t>(this));
}

ClientLimiter::~ClientLimiter() { std::free(entries_); }

// calloc: the pages of a large zeroed block are only resident once touched.
ClientLimiter::Entry* ClientLimiter::table() {
  std::call_once(allocated_, [this] {
    entries_ = static_cast<Entry*>(std::calloc(slots_, sizeof(Entry)));
    if (!entries_) std::abort();  // 3 MiB at start-up of a limited listener: out of memory is fatal
  });
  return entries_;
}

size_t ClientLimiter::bucketOf(const ClientKey& key) const {
  return (common::hash64(key.addr, sizeof key.addr, seed_ ^ key.family) & (slots_ / kWays - 1)) * kWays;
}

int32_t ClientLimiter::find(const ClientKey& key, uint64_t now_ms, bool take, size_t bucket) {
  Entry* e = table() + bucket;
  int32_t free_way = -1, oldest_idle = -1;
  for (size_t w = 0; w < kWays; ++w) {
    if (e[w].family == key.family && std::memcmp(e[w].addr, key.addr, sizeof key.addr) == 0) {
      if (take) e[w].seen_ms = now_ms;
      return static_cast<int32_t>(bucket + w);
    }
    if (e[w].family == 0) {
      if (free_way < 0) free_way = static_cast<int32_t>(w);
    } else if (e[w].conns == 0 && (oldest_idle < 0 || e[w].seen_ms < e[oldest_idle].seen_ms)) {
      oldest_idle = static_cast<int32_t>(w);
    }
  }
  if (!take) return -1;
  int32_t way = free_way >= 0 ? free_way : oldest_idle;
  if (way < 0) return -1;  // every way holds connections: untracked
  Entry& n = e[way];
  std::memcpy(n.addr, key.addr, sizeof key.addr);
  n.family = key.family;
  n.conns = 0;
  n.tokens = -1;  // full on first use (allowRequest knows the burst)
  n.refill_ms = now_ms;
  n.seen_ms = now_ms;
  return static_cast<int32_t>(bucket + static_cast<size_t>(way));
}

int32_t ClientLimiter::openConnection(const ClientKey& key, uint32_t max, uint64_t now_ms) {
  if (max == 0 || key.family == 0) return kUntracked;
  size_t bucket = bucketOf(key);
  std::lock_guard lock(stripe(bucket));
  int32_t slot = find(key, now_ms, true, bucket);
  if (slot < 0) return kUntracked;
  Entry& e = entries_[slot];
  if (e.conns >= max) return kRejected;
  ++e.conns;
  return slot;
}

void ClientLimiter::closeConnection(int32_t slot) {
  if (slot < 0) return;
  assert(static_cast<size_t>(slot) < slots_);
  size_t bucket = static_cast<size_t>(slot) & ~(kWays - 1);
  std::lock_guard lock(stripe(bucket));
  Entry& e = entries_[slot];
  assert(e.family != 0 && e.conns > 0);
  if (e.conns > 0) --e.conns;
}

bool ClientLimiter::allowRequest(const ClientKey& key, uint32_t rate, uint32_t burst, uint64_t now_ms) {
  if (rate == 0 || key.family == 0) return true;
  if (burst == 0) burst = rate;
  size_t bucket = bucketOf(key);
  std::lock_guard lock(stripe(bucket));
  int32_t slot = find(key, now_ms, true, bucket);
  if (slot < 0) return true;  // untracked (see the header)
  Entry& e = entries_[slot];
  if (e.tokens < 0) {
    e.tokens = burst;
    e.refill_ms = now_ms;
  } else if (now_ms > e.refill_ms) {  // workers' loop clocks differ slightly: never run backwards
    e.tokens += static_cast<double>(now_ms - e.refill_ms) * rate / 1000.0;
    if (e.tokens > burst) e.tokens = burst;
    e.refill_ms = now_ms;
  }
  if (e.tokens < 1) return false;
  e.tokens -= 1;
  return true;
}

uint32_t ClientLimiter::connections(const ClientKey& key) {
  if (key.family == 0) return 0;
  size_t bucket = bucketOf(key);
  std::lock_guard lock(stripe(bucket));
  int32_t slot = find(key, 0, false, bucket);
  return slot < 0 ? 0 : entries_[slot].conns;
}

}  // namespace proxy::edge
