// Process-wide metrics written outside the data path: configuration reloads
// (tether_config_reloads_total) and the configuration generation shown by /status. Rare events,
// so plain fetch_add (counters.h, ProcessCounter).
#pragma once

#include <atomic>

#include "proxy/metrics/counters.h"

namespace proxy::metrics {

class ProcessMetrics {
 public:
  // One call per reload attempt.
  void configReload(bool ok) {
    (ok ? reload_success_ : reload_failure_).add();
    if (ok) generation_.fetch_add(1, std::memory_order_relaxed);
  }

  uint64_t reloads(bool ok) const { return (ok ? reload_success_ : reload_failure_).value(); }
  uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }

 private:
  ProcessCounter reload_success_, reload_failure_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace proxy::metrics
