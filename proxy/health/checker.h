// Active health checks and the process-wide health verdict.
//
// One HealthChecker per process runs on one libuv loop (tether puts it on the main thread's loop,
// next to the signal handlers), so each server is probed once per interval whatever the number
// of workers. It owns one threshold engine (health_state.h) per server, fed by:
//   - its own probes: `tcp` (connect succeeds) or `http` (GET path with the Host header; the
//     status line must fall in expect_status), each bounded by `timeout`;
//   - passive failures reported by workers through the hub (health_hub.h);
//   - drain requests (admin API, via the hub).
// Whenever a server's verdict changes it logs one line with the reason and publishes a new
// immutable ServerStates snapshot for that upstream, which the hub hands to every worker.
//
// Probes are spread: the first probe of each server starts at a random point of the first
// interval and every later one is scheduled interval ±10% after the previous start, so N servers
// (or N tethers) do not probe in lock step. A probe still running when the next is due makes the
// next one wait for it.
#pragma once

#include <uv.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/health/health_hub.h"
#include "proxy/health/health_state.h"

namespace proxy::health {

class HealthChecker {
 public:
  HealthChecker(uv_loop_t* loop, std::shared_ptr<const config::Config> cfg, HealthHub& hub);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Starts probes, the passive-expiry tick and the hub consumer. Returns 0 or a libuv error.
  int start();
  // Closes every handle (in-flight probes are abandoned); the loop then runs out of work.
  void stop();

  // Is `probe_status` a success for this check? (exposed for the unit tests)
  static bool statusExpected(const config::HealthCheckConfig& hc, int status);

 private:
  struct Probe;
  struct Attempt;
  struct UpstreamHealth {
    std::vector<ServerHealth> engines;
    std::vector<uint8_t> admin_down;
    std::vector<uint8_t> draining;
    std::vector<uint64_t> up_since;  // slow_start: when the server came back (0: not ramping)
    ServerStatesPtr published;
  };

  static void onProbeTimerCb(uv_timer_t* t);
  static void onTickCb(uv_timer_t* t);
  static void onEventsCb(uv_async_t* a);
  void startProbe(Probe& p);
  void onProbeResult(Probe& p, bool ok, const std::string& detail);
  void apply(uint32_t upstream, uint32_t server, const Transition& t);
  void publishIfChanged(uint32_t upstream);
  uint64_t jittered(uint64_t interval_ms, bool first);

  uv_loop_t* loop_;
  std::shared_ptr<const config::Config> cfg_;
  HealthHub& hub_;
  std::vector<UpstreamHealth> upstreams_;
  std::vector<std::unique_ptr<Probe>> probes_;
  uv_timer_t tick_;
  uv_async_t events_;
  std::minstd_rand rng_;
  uint64_t generation_ = 0;
  bool started_ = false;
  bool events_open_ = false;
  bool stopped_ = false;
};

}  // namespace proxy::health
