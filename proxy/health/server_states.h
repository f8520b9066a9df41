// The health view of one upstream that workers pick with: an immutable snapshot, rebuilt by the
// health checker on every change and swapped into each worker (health_hub.h).
//
// Picks exclude `unavailable` (down or draining servers) by merging it with the request's tried
// set into PickContext::excluded (mergeExcluded). Server indices stay those of the config, so
// pools, active counts, tried sets and affinity cookies keep their meaning across changes, and
// every strategy — including backup handling ("backups only when every primary is excluded") —
// works unchanged.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/lb/strategy.h"

namespace proxy::health {

struct ServerStates {
  uint64_t generation = 0;
  std::vector<uint8_t> down;      // per server: failed health (active or passive), or state: down
  // per server: draining (`state: drain` or the admin API). No NEW sessions go there, but a client
  // already pinned to it (cookie/sid affinity, on the lb branch) should keep it until it finishes:
  // an affinity layer checks `down` — not `unavailable` — for the pinned server.
  std::vector<uint8_t> draining;
  lb::ServerMask unavailable;     // down | draining: never picked for a new session
  // slow_start: per server weight in tenths (1..10) while some server ramps up after recovering;
  // empty when none does. Workers rebuild their selector when this changes (weights x step).
  std::vector<uint8_t> weight_step;
  bool all_down = false;          // every server (backups included) down: panic, answer 503

  bool isDown(size_t i) const { return i < down.size() && down[i]; }
  bool isDraining(size_t i) const { return i < draining.size() && draining[i]; }
};
using ServerStatesPtr = std::shared_ptr<const ServerStates>;

// out = tried ∪ states.unavailable over `n` servers (no allocation for n <= 64).
inline void mergeExcluded(const lb::ServerMask* tried, const ServerStates* states, size_t n, lb::ServerMask& out) {
  out.clear();
  for (size_t i = 0; i < n; ++i)
    if ((tried && tried->test(i)) || (states && states->unavailable.test(i))) out.set(i);
}

}  // namespace proxy::health
