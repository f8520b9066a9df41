// WorkerMetrics and SeriesRegistry: see worker_metrics.h.
#include "proxy/metrics/worker_metrics.h"

#include <unordered_set>

namespace proxy::metrics {

WorkerMetrics::WorkerMetrics(const config::Config& cfg) {
  for (size_t i = 0; i < cfg.listeners.size(); ++i) downstream_connections.push_back(std::make_unique<Gauge>());
}

void SeriesRegistry::sync(const config::Config& cfg) {
  std::unordered_set<std::string> ups, servers;
  for (const auto& u : cfg.upstreams) {
    ups.insert(u.name);
    servers.insert(u.name + '\n' + kNone);
    for (const auto& s : u.servers) servers.insert(u.name + '\n' + s.name);
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(upstreams_, [&](const auto& e) { return !ups.count(e.first); });
  std::erase_if(servers_, [&](const auto& e) { return !servers.count(e.first); });
}

std::shared_ptr<UpstreamSeries> SeriesRegistry::upstream(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = upstreams_[name];
  if (!slot) slot = std::make_shared<UpstreamSeries>(workers_);
  return slot;
}

std::shared_ptr<ServerSeries> SeriesRegistry::server(const std::string& upstream, const std::string& server) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = servers_[upstream + '\n' + server];
  if (!slot) slot = std::make_shared<ServerSeries>(workers_);
  return slot;
}

}  // namespace proxy::metrics
