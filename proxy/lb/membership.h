// An upstream's servers as every pick sees them: one immutable snapshot per upstream that folds
// health (active checks, passive detection, `state: down`), drain and the operator's admin state
// into the two sets a pick needs.
//
// The membership manager (proxy/upstream/membership_manager.h) owns the per-server state, keyed
// by server identity, and builds a new snapshot whenever any of it changes (a probe flips a
// verdict, a passive failure, an admin request, slow-start ramping, a reload or a discovery
// update). The snapshot is aligned with the server order of the configuration it was built for
// (`layout`); workers swap it into the runtime of that configuration and never mutate it, so picks
// read plain memory with no lock (Pingora's build-and-swap, Envoy's host health flags read by LB,
// admin and stats alike). Metrics, `/status` and the status page read the manager's current
// snapshot too, so they cannot disagree with what the picker does.
//
//   no_new     servers a NEW session must not get: unhealthy, draining, or admin drain/disable
//   no_pinned  servers even a pinned session must leave: unhealthy or admin disable
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/lb/strategy.h"

namespace proxy::lb {

enum class AdminState : uint8_t { Enabled = 0, Drain = 1, Disabled = 2 };

inline const char* adminStateName(AdminState s) {
  switch (s) {
    case AdminState::Enabled: return "enabled";
    case AdminState::Drain: return "drain";
    case AdminState::Disabled: return "disabled";
  }
  return "enabled";
}

struct MemberState {
  bool healthy = true;          // health checks and passive detection; false for `state: down`
  AdminState admin = AdminState::Enabled;
  uint8_t weight_step = 10;     // slow_start: weight in tenths while ramping back up (1..10)
  bool operator==(const MemberState&) const = default;
};

struct Membership {
  uint64_t version = 0;
  const void* layout = nullptr;  // the config::UpstreamConfig these members are aligned with
  std::vector<MemberState> members;
  ServerMask no_new;
  ServerMask no_pinned;
  bool ramping = false;          // some weight_step < 10: selectors are built with stepped weights
  bool all_down = false;         // no server is healthy: every request of the upstream gets 503

  size_t size() const { return members.size(); }
  bool acceptsNew(size_t i) const { return i < members.size() && !no_new.test(i); }
  bool acceptsPinned(size_t i) const { return i < members.size() && !no_pinned.test(i); }
};
using MembershipPtr = std::shared_ptr<const Membership>;

// Builds a snapshot from per-server states (fills the masks and flags).
MembershipPtr makeMembership(uint64_t version, const void* layout, std::vector<MemberState> members);

}  // namespace proxy::lb
