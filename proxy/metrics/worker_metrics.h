// Everything one worker counts, laid out by upstream and server index so the data path never
// looks anything up by name: an increment is an indexed add (see counters.h for the memory
// model). The scraper (exposition.h) sums all workers' WorkerMetrics into Prometheus families.
//
// Server slots: each upstream has one slot per configured server plus a last "none" slot for
// answers the proxy gave itself after routing (502 after failed connects, 503, 504...). Requests
// answered before routing (400, 404, 408, 431...) count in `unrouted_responses`.
//
// Hooks for features on other branches — call these, do not add parallel counters:
//   affinity (proxy/lb):   metrics.affinity(upstream, AffinityResult::Hit|Miss|Repinned)
//   health   (proxy/health): ProcessMetrics::healthCheck(upstream, server, ok)   (process_metrics.h)
//   reload:                 ProcessMetrics::configReload(ok)
#pragma once

#include <memory>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/metrics/counters.h"

namespace proxy::metrics {

enum class AffinityResult : uint8_t { Hit, Miss, Repinned };
inline constexpr size_t kAffinityResults = 3;
inline constexpr const char* kAffinityResultNames[kAffinityResults] = {"hit", "miss", "repinned"};

// Status codes 100..599, by code - 100.
inline constexpr int kMinStatus = 100;
inline constexpr size_t kStatusSlots = 500;
inline size_t statusSlot(int status) {
  return status >= kMinStatus && status < kMinStatus + static_cast<int>(kStatusSlots) ? static_cast<size_t>(status - kMinStatus)
                                                                                      : kStatusSlots - 1;
}

struct ServerMetrics {
  std::array<Counter, kStatusSlots> responses;  // tether_requests_total{code}
  Gauge active;           // upstream connections attached to an exchange or a tunnel
  Gauge tunnels_active;   // tether_tunnels_active
};

struct UpstreamMetrics {
  explicit UpstreamMetrics(size_t server_count) : servers(server_count + 1) {}
  std::vector<ServerMetrics> servers;  // configured servers, then the "none" slot
  DurationHistogram request_duration;  // request head parsed -> response complete (or 101)
  DurationHistogram connect_duration;  // new upstream connection: connect() -> connected
  Counter retries;
  Counter tunnels_total;
  std::array<Counter, kAffinityResults> affinity;
};

struct WorkerMetrics {
  explicit WorkerMetrics(const config::Config& cfg);

  void affinity(size_t upstream, AffinityResult r) { upstreams[upstream]->affinity[static_cast<size_t>(r)].add(); }

  std::vector<std::unique_ptr<UpstreamMetrics>> upstreams;  // by config index
  std::array<Counter, kStatusSlots> unrouted_responses;
  std::vector<std::unique_ptr<Gauge>> downstream_connections;  // by listener index
  Counter bytes_downstream_rx;  // read from clients (requests, tunnel client->server)
  Counter bytes_upstream_rx;    // read from upstream servers (responses, tunnel server->client)
  Counter access_log_dropped;   // access log lines dropped because the disk fell behind
};

}  // namespace proxy::metrics
