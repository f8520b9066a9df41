// What `tether-bench affinity --e2e` measures per strategy, and how it is printed: the table on
// stdout (the simulation's column names first, then what only a real run has), the CSV (the
// measurement beside the simulation's prediction for the same parameters) and the gnuplot
// script. Pure: no I/O.
//
// Definitions (the simulation's, applied to real sessions):
//   max/mean, stddev   handshakes per server (X-Served-By) of sessions started while every server
//                      was up (before the first churn event); stddev divided by the mean
//   broken%            of the sessions that started and ended with no churn event in between:
//                      % with an answer from another server, or a 400 "Session ID unknown"
//   remap-rm%, -add%   of the clients whose first session after the removal (the addition) got a
//                      handshake: % whose server differs from their previous session's
//   max/mean+          handshakes per server of sessions started after the addition
//   churn-broken       sessions in flight at a churn event that broke or failed
//   failed             sessions that failed otherwise (timeouts, 5xx, connection errors)
//   hs / up p50 p99    handshake and upgrade latency, ms
//   cpu-us/session     tether's CPU time (utime + stime, /proc/PID/stat) over the run / sessions
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/affinity/affinity_sim.h"
#include "bench/common/histogram.h"

namespace bench::affinity {

// max/mean and stddev/mean of `counts` (one entry per server, zeros included); {0, 0} if empty.
struct Spread {
  double max_over_mean = 0, stddev_over_mean = 0;
};
Spread spreadOf(const std::vector<uint64_t>& counts);

struct E2eResult {
  std::string name;
  size_t sessions = 0;         // run
  size_t healthy_sessions = 0, healthy_broken = 0, healthy_broken_polling = 0;
  std::map<std::string, uint64_t> placed_healthy, placed_after_add;  // server -> handshakes
  std::vector<std::string> servers_healthy, servers_after_add;      // the fleet in each period
  size_t remap_rm_clients = 0, remap_rm_moved = 0, remap_add_clients = 0, remap_add_moved = 0;
  size_t churn_in_flight = 0, churn_broken = 0;
  size_t broken = 0, failed = 0, upgraded = 0;
  std::map<std::string, size_t> errors;  // error text -> count (for the summary)
  Histogram handshake_us, upgrade_us;
  double cpu_seconds = -1;     // tether's; < 0 when not known
  double wall_seconds = 0;

  double brokenPct() const;
  double remapRemovePct() const;
  double remapAddPct() const;
  Spread spreadHealthy() const;
  Spread spreadAfterAdd() const;
  double cpuMicrosPerSession() const;  // < 0 when not known
};

struct E2eParams {
  size_t servers = 3, clients = 2000, nat_groups = 0, wave = 64;
  bool cookies = true, churn = true;
  size_t remove_at = 0, add_at = 0;
  std::string fleet;  // the servers, as the table's title names them ("" = "N servers")
};

std::string formatE2eTable(const E2eParams& p, const std::vector<E2eResult>& results);
// One row per result; the sim_* columns from `predicted` (same order; an entry with an empty
// name, or a missing one, leaves them empty).
std::string toE2eCsv(const std::vector<E2eResult>& results, const std::vector<StrategyResult>& predicted);
// Measured beside predicted: broken %, max/mean, remap on remove / add.
std::string e2eGnuplotScript(const std::string& csv, const std::string& png, const std::string& title);

}  // namespace bench::affinity
