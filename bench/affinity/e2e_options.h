// `tether-bench affinity --e2e` command line -> E2eOptions. Pure (no I/O), so every rule is
// unit-tested: unknown flags and strategies, missing or bad values are errors (exit 2).
#pragma once

#include "bench/common/out_dir.h"

#include <string>
#include <vector>

#include "bench/affinity/e2e_stats.h"
#include "bench/affinity/strategy_spec.h"

namespace bench::affinity {

struct E2eOptions {
  E2eParams params;                  // servers, clients, nat_groups, wave, cookies, churn points
  std::vector<StrategySpec> strategies;
  // Instead of --strategies: the user's tether configs (one row each, named by the path as
  // given), or a tether already running (one row, named by the URL); both without churn.
  std::vector<std::string> configs;
  std::string target_url;
  int target_pid = 0;                // --target-pid: the running tether, for its CPU time
  double balance_factor = 1.25;
  std::string backend_cmd;           // "" = tether-chat
  std::string tether_bin, chat_bin;  // "" = next to tether-bench (build tree or install dir)
  int workers = 2;                   // tether's
  double session_timeout_s = 10;
  std::string out_dir = defaultOutDir();
  bool plot = true;
  bool help = false;
};

// args: everything after "affinity" (including --e2e). Returns "" or the error message.
std::string parseE2eOptions(const std::vector<std::string>& args, E2eOptions& out);

extern const char* const kE2eUsage;

}  // namespace bench::affinity
