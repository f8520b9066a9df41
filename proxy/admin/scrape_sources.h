// What the admin endpoints read: the membership manager (the running configuration and every
// server's state, the same snapshots the workers pick with), every worker's counters, the
// identity-keyed metric series and the process-wide counters. Owned by main; handed to the admin
// server. Everything reachable from here is read on the main loop, where the manager lives, or
// is safe to read while workers run (relaxed atomics).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "proxy/metrics/process_metrics.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/tls/cert_expiry.h"
#include "proxy/upstream/discovery.h"
#include "proxy/upstream/membership_manager.h"

namespace proxy::admin {

struct ScrapeSources {
  upstream::MembershipManager* members = nullptr;
  std::vector<const metrics::WorkerMetrics*> workers;
  metrics::SeriesRegistry* series = nullptr;
  metrics::ProcessMetrics* process = nullptr;
  const upstream::Discovery* discovery = nullptr;  // null: no DNS discovery
  const std::vector<tls::CertExpiry>* certs = nullptr;  // the running TLS listeners' certificates
  std::string version;
  uint64_t start_time_unix = 0;
  // POST /reload: runs the same reload as SIGHUP on the main thread; "" on success, else the
  // error (and the running configuration stays).
  std::function<std::string()> reload;
};

}  // namespace proxy::admin
