// The one place that decides which server an attempt goes to (h2o's socketpool, Envoy's
// chooseHost(LoadBalancerContext*)): affinity pins, then the tried set, then membership (health,
// drain, admin state), then the strategy.
//
//   1. Pins: the servers the affinity layers named for this request (sid, cookie; in `affinity:`
//      order). The first pin not yet tried whose server still takes pinned sessions wins — a
//      draining server keeps its sessions; an unhealthy or disabled one does not.
//   2. Otherwise the strategy picks among servers that are neither tried nor closed to new
//      sessions (Membership::no_new), with the request's hash key.
//
// Worked example: servers {a, b, c}, b draining, c unhealthy. A request pinned to b goes to b
// (hit). A request pinned to c is repinned: the strategy picks among {a} (b takes no new
// sessions, c is down). A retry after a failed attempt on a adds a to `tried` and finds nothing:
// -1, answered 502/504 by the caller. Every server unhealthy: -1 at once, answered 503.
//
// Pure: no I/O, no clock, no allocation while the upstream has at most 64 servers.
#pragma once

#include <cstdint>
#include <span>

#include "proxy/lb/affinity/policy.h"
#include "proxy/lb/membership.h"
#include "proxy/lb/strategy.h"

namespace proxy::lb {

enum class PinOutcome : uint8_t {
  None,      // no layer named a server
  Hit,       // the named server took the request
  Repinned,  // a layer named a server that could not take it; the strategy chose another
  Unknown,   // the request carried a sid or cookie that names no current server
};

struct Choice {
  int server = -1;  // -1: no server is eligible
  PinOutcome pin = PinOutcome::None;
};

struct PickInputs {
  const AffinityRequest* affinity = nullptr;  // null: no affinity
  const ServerMask* tried = nullptr;          // servers already attempted for this request
  const Membership* membership = nullptr;     // null: every server healthy and enabled
  std::span<const uint32_t> active;           // live connections per server (least_conn, bounded loads)
};

// `scratch` holds the merged exclusion mask (tried ∪ no_new) when one is needed.
Choice choose(const PickInputs& in, const Selector& selector, PickState& state, ServerMask& scratch);

}  // namespace proxy::lb
