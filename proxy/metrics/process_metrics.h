// Process-wide metrics written outside the data path, from any thread: configuration reloads
// (tether_config_reloads_total, 0 until hot reload lands), health checks
// (tether_health_checks_total, 0 until health checks land) and the configuration generation
// shown by /status. Rare events, so plain fetch_add (counters.h, ProcessCounter).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/metrics/counters.h"

namespace proxy::metrics {

class ProcessMetrics {
 public:
  explicit ProcessMetrics(const config::Config& cfg) {
    for (const auto& u : cfg.upstreams) {
      health_.emplace_back();
      for (size_t s = 0; s < u.servers.size(); ++s) health_.back().push_back(std::make_unique<HealthCounters>());
    }
  }

  // Hook for the reload engineer: one call per reload attempt.
  void configReload(bool ok) {
    (ok ? reload_success_ : reload_failure_).add();
    if (ok) generation_.fetch_add(1, std::memory_order_relaxed);
  }
  // Hook for the health engineer: one call per finished probe.
  void healthCheck(size_t upstream, size_t server, bool ok) {
    auto& h = *health_[upstream][server];
    (ok ? h.success : h.failure).add();
  }

  uint64_t reloads(bool ok) const { return (ok ? reload_success_ : reload_failure_).value(); }
  uint64_t healthChecks(size_t upstream, size_t server, bool ok) const {
    const auto& h = *health_[upstream][server];
    return (ok ? h.success : h.failure).value();
  }
  uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }

 private:
  struct HealthCounters {
    ProcessCounter success, failure;
  };
  ProcessCounter reload_success_, reload_failure_;
  std::vector<std::vector<std::unique_ptr<HealthCounters>>> health_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace proxy::metrics
