// The health threshold engine of one server: pure state, no I/O, no clock of its own.
//
// Two detectors feed one verdict:
//  - active checks (HAProxy's rise/fall): `fall` consecutive failed probes take a server down,
//    `rise` consecutive successful ones bring it back. A single success resets the failure run
//    and vice versa, so a flapping server does not change state on every probe.
//  - passive detection (nginx's max_fails/fail_timeout): `max_fails` failures of real traffic
//    (connect error, timeout, reset, 502) within `fail_timeout` take the server down. Without
//    active checks it stays down for `fail_timeout`, then is tried again (nginx). With active
//    checks the passive mark-down also resets the active state to down, so the server returns
//    only after `rise` good probes — a dead process is not offered traffic again on a timer.
//
// Worked example, rise 2, fall 3, initially up:  probe: ok x x ok x x x ok ok
//                                                 up:   1  1 1 1  1 1 0 0  1   (down at the 3rd
// consecutive failure, up again at the 2nd consecutive success).
//
// Every call takes `now_ms` (a monotonic clock) and returns a Transition: `changed` is true
// exactly once per change of `up()`, with a human-readable reason for the log line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace proxy::health {

struct HealthParams {
  bool operator==(const HealthParams&) const = default;
  bool active = false;          // an active check runs for this server
  uint32_t rise = 2;
  uint32_t fall = 3;
  bool initial_up = true;       // only meaningful with active checks
  uint32_t max_fails = 3;       // 0: passive detection off
  uint64_t fail_timeout_ms = 10'000;
};

struct Transition {
  bool changed = false;
  bool up = true;               // the state after the event
  std::string reason;           // why it changed (empty when !changed)
};

class ServerHealth {
 public:
  explicit ServerHealth(const HealthParams& p = {});

  // One active probe finished. `detail` says what happened ("status 500", "timeout",
  // "ECONNREFUSED"), used in the reason.
  Transition onProbe(bool ok, uint64_t now_ms, const std::string& detail);
  // Real traffic to the server failed (`what`: "connect_failed", "response_timeout"...).
  Transition onPassiveFailure(uint64_t now_ms, const std::string& what);
  // Time passed: ends a passive mark-down whose fail_timeout is over (no active checks only).
  Transition tick(uint64_t now_ms);

  // A reload changed the parameters: the verdict so far is kept (a server that was down stays
  // down until probes, or without active checks fail_timeout, bring it back).
  void reconfigure(const HealthParams& p, uint64_t now_ms);
  const HealthParams& params() const { return p_; }

  bool up() const { return active_up_ && !passive_down_; }
  bool passiveDown() const { return passive_down_; }
  uint32_t consecutiveFailures() const { return fails_in_row_; }
  uint32_t consecutiveSuccesses() const { return oks_in_row_; }

 private:
  Transition settle(bool was_up, std::string reason);

  HealthParams p_;
  bool active_up_;
  bool passive_down_ = false;
  uint64_t passive_until_ms_ = 0;
  uint32_t fails_in_row_ = 0;
  uint32_t oks_in_row_ = 0;
  std::vector<uint64_t> recent_fails_;  // passive failure times inside the window, oldest first
};

}  // namespace proxy::health
