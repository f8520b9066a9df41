// One upstream as one worker loop sees it: its servers, the current selector, the worker's pick
// state and the keep-alive pool of idle connections.
//
// The selector is an immutable shared object (lb/strategy.h) that can be swapped at any time;
// everything else here belongs to one loop and is touched without locks. Idle connections are
// kept most-recently-used first, up to `keepalive` per upstream; the oldest is closed beyond that.
// `active` counts connections attached to a downstream exchange or tunnel, per server — what
// least_conn and bounded loads read.
#pragma once

#include <memory>
#include <vector>

#include "common/intrusive_list.h"
#include "proxy/config/config.h"
#include "proxy/health/server_states.h"
#include "proxy/lb/affinity/policy.h"
#include "proxy/lb/strategy.h"
#include "proxy/server/loop_context.h"
#include "proxy/upstream/upstream_conn.h"

namespace proxy::upstream {

class UpstreamRuntime {
 public:
  // `index`: this upstream's position in its config's upstreams.
  UpstreamRuntime(server::LoopContext& ctx, const config::UpstreamConfig& cfg, uint32_t index);
  ~UpstreamRuntime();
  UpstreamRuntime(const UpstreamRuntime&) = delete;
  UpstreamRuntime& operator=(const UpstreamRuntime&) = delete;

  const config::UpstreamConfig& config() const { return cfg_; }
  size_t serverCount() const { return cfg_.servers.size(); }

  // Picks a server for a request (-1: none eligible).
  int pick(lb::PickContext& ctx);

  // An idle connection to `server`, or nullptr. The caller attaches it and counts it active.
  UpstreamConn* takeIdle(uint32_t server);
  // A new connection to `server`, connecting; nullptr if it could not start.
  UpstreamConn* connectNew(uint32_t server, UpstreamOwner* owner);
  // The exchange on `conn` is over: keep it idle if it is reusable, else close it.
  void release(UpstreamConn* conn, bool reusable);
  // Called by a connection that closed itself (idle EOF, timeout) or was closed while busy.
  void forgetIdle(UpstreamConn* conn);
  void closeIdle();

  void addActive(uint32_t server) { ++active_[server]; }
  void removeActive(uint32_t server) {
    if (active_[server] > 0) --active_[server];
  }
  const std::vector<uint32_t>& active() const { return active_; }

  void setSelector(lb::SelectorPtr s) { selector_ = std::move(s); }
  // Key extraction and the affinity layers in front of the strategy, built with the selector.
  const lb::AffinityPolicy& affinity() const { return *affinity_; }

  // health (issue #5). The current health snapshot, swapped in by the worker when the checker
  // publishes (health_hub.h); pick() excludes its down and draining servers. Null: all up.
  // With slow_start, a snapshot may also change weights: the selector is then rebuilt.
  void setHealth(health::ServerStatesPtr s);
  // Whether passive failures are reported to the health hub (its layout matches this config's).
  void enableHealthReports(bool on) { health_enabled_ = on; }
  const health::ServerStates* health() const { return health_.get(); }
  // Real traffic to `server` failed (`what`: a static string): feeds passive detection.
  void noteFailure(uint32_t server, const char* what);

 private:
  server::LoopContext& ctx_;
  const config::UpstreamConfig& cfg_;
  lb::SelectorPtr selector_;
  std::unique_ptr<lb::AffinityPolicy> affinity_;
  lb::PickState pick_state_;
  std::vector<uint32_t> active_;
  std::vector<common::IntrusiveList<UpstreamConn>> idle_;  // per server, MRU at front
  size_t idle_count_ = 0;
  // health (issue #5)
  health::ServerStatesPtr health_;
  lb::ServerMask pick_excluded_;   // scratch: the request's tried set plus unavailable servers
  uint32_t index_ = 0;             // this upstream's position in config.upstreams
  bool health_enabled_ = false;
  std::vector<uint8_t> weight_step_;  // slow_start steps the selector was built with (empty: none)
};

}  // namespace proxy::upstream
