// The system under test of `tether-bench affinity --e2e`: N backends and one tether in front of
// them, all on 127.0.0.1, with tether's config written per strategy into the run's temp dir.
//
// Backends are tether-chat instances (`--id NAME`, so X-Served-By names them) or, with a
// backend command, `/bin/sh -c "exec CMD"` with {port} and {name} replaced. Servers are named
// srv-0, srv-1, ... as in the simulation. Membership changes (the churn) are a new config and
// SIGHUP; a reload counts as done when tether's admin /metrics shows the next
// tether_config_generation. Every step returns "" or what went wrong (with the log's tail).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "bench/affinity/processes.h"
#include "bench/affinity/strategy_spec.h"

namespace bench::affinity {

struct StackOptions {
  std::string tether_bin;
  std::string chat_bin;
  std::string backend_cmd;  // "" = tether-chat
  int workers = 2;
  double balance_factor = 1.25;
};

class Stack {
 public:
  Stack(ProcessSet& procs, StackOptions options) : procs_(procs), options_(std::move(options)) {}

  // On 127.0.0.1 and a free port, or on `host`:`port` when port > 0.
  std::string startBackend(const std::string& name, const std::string& host = "127.0.0.1", int port = 0);
  // SIGKILLs the backend (a crash, as the churn's removed server sees it).
  std::string killBackend(const std::string& name);
  // Starts tether for `spec` in front of `members` (backend names, in order).
  std::string startTether(const StrategySpec& spec, const std::vector<std::string>& members);
  // Starts tether on the user's config file as it is; `port` is its first listener's.
  std::string startTetherFile(const std::string& path, int port);
  // Rewrites the config with `members` and reloads (SIGHUP), waiting for the new generation.
  std::string reload(const std::vector<std::string>& members);
  std::string stopTether();
  void stopBackends();
  int port() const { return port_; }
  pid_t tetherPid() const { return tether_pid_; }

 private:
  std::string writeConfig(const std::vector<std::string>& members);
  int generation();

  ProcessSet& procs_;
  StackOptions options_;
  std::map<std::string, std::pair<pid_t, int>> backends_;  // name -> pid, port
  StrategySpec spec_;
  pid_t tether_pid_ = -1;
  int port_ = 0, admin_port_ = 0, generation_ = 0, starts_ = 0;
  std::string config_path_, log_name_;
};

}  // namespace bench::affinity
