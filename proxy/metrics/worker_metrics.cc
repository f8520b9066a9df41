// WorkerMetrics: see worker_metrics.h.
#include "proxy/metrics/worker_metrics.h"

namespace proxy::metrics {

WorkerMetrics::WorkerMetrics(const config::Config& cfg) {
  for (const auto& u : cfg.upstreams) upstreams.push_back(std::make_unique<UpstreamMetrics>(u.servers.size()));
  for (size_t i = 0; i < cfg.listeners.size(); ++i) downstream_connections.push_back(std::make_unique<Gauge>());
}

}  // namespace proxy::metrics
