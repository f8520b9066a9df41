// What the admin endpoints read: the configuration, every worker's counters, the process-wide
// counters and the operator's per-server state. Owned by main; handed to the admin server.
// Everything reachable from here is safe to read from the admin thread while workers run
// (relaxed atomics, or immutable configuration).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/metrics/process_metrics.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/upstream/server_admin_state.h"

namespace proxy::metrics {

struct ScrapeSources {
  std::shared_ptr<const config::Config> config;
  std::vector<const WorkerMetrics*> workers;
  ProcessMetrics* process = nullptr;
  upstream::ServerAdminStates* admin_states = nullptr;
  std::string version;
  uint64_t start_time_unix = 0;
  // POST /reload: runs the same reload as SIGHUP on the main thread; "" on success, else the
  // error (and the running configuration stays).
  std::function<std::string()> reload;
};

}  // namespace proxy::metrics
