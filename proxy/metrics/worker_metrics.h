// Everything the workers count. Per-upstream and per-server cells are keyed by identity
// (upstream name, server name) in the process-wide SeriesRegistry, with one slot per worker, so
// a reload that reorders, adds or removes servers keeps every kept server's series, a new server
// starts at zero and a removed one's series leave /metrics. The data path never looks anything
// up: each worker's upstream runtime holds direct pointers to its own slots, taken when the
// runtime is built (see upstream_runtime.h), and an increment is a plain single-writer add
// (counters.h). The scraper (exposition.h) sums the slots of all workers.
//
// Each upstream also has a "none" server series for answers the proxy gave itself after routing
// (502 after failed connects, 503, 504...). Requests answered before routing (400, 404, 408,
// 431...) count in WorkerMetrics::unrouted_responses.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
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

struct alignas(64) ServerMetrics {
  std::array<Counter, kStatusSlots> responses;  // tether_requests_total{code}
  Gauge active;           // upstream connections attached to an exchange or a tunnel
  Gauge tunnels_active;   // tether_tunnels_active
};

// TLS handshakes with an upstream's servers (upstreams.NAME.tls), by result.
enum class UpstreamTlsResult : uint8_t { Full, Resumed, Failed };
inline constexpr size_t kUpstreamTlsResults = 3;
inline constexpr const char* kUpstreamTlsResultNames[kUpstreamTlsResults] = {"full", "resumed", "failed"};

struct alignas(64) UpstreamMetrics {
  DurationHistogram request_duration;  // request head parsed -> response complete (or 101)
  DurationHistogram connect_duration;  // new upstream connection: connect() -> connected
  Counter retries;
  Counter tunnels_total;
  std::array<Counter, kAffinityResults> affinity;
  std::array<Counter, kUpstreamTlsResults> tls_handshakes;
  void affinityResult(AffinityResult r) { affinity[static_cast<size_t>(r)].add(); }
  void tlsHandshake(UpstreamTlsResult r) { tls_handshakes[static_cast<size_t>(r)].add(); }
};

// One series' cells, one slot per worker.
template <typename Cells>
struct PerWorker {
  explicit PerWorker(unsigned workers) : slots(new Cells[workers]), count(workers) {}
  std::unique_ptr<Cells[]> slots;
  unsigned count;
  Cells& at(unsigned worker) { return slots[worker]; }
  template <typename F>
  uint64_t sum(F get) const {
    uint64_t n = 0;
    for (unsigned w = 0; w < count; ++w) n += static_cast<uint64_t>(get(slots[w]));
    return n;
  }
};
using ServerSeries = PerWorker<ServerMetrics>;
using UpstreamSeries = PerWorker<UpstreamMetrics>;

class SeriesRegistry {
 public:
  explicit SeriesRegistry(unsigned workers) : workers_(workers) {}

  // Main thread, before the workers switch to `cfg`: drops the series of upstreams and servers
  // `cfg` no longer has (cells still used by older generations stay alive until released).
  void sync(const config::Config& cfg);
  // Any thread; creates the series on first use. Server "none" is the upstream's own answers.
  std::shared_ptr<UpstreamSeries> upstream(const std::string& name);
  std::shared_ptr<ServerSeries> server(const std::string& upstream, const std::string& server);
  static constexpr const char* kNone = "none";

 private:
  unsigned workers_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<UpstreamSeries>> upstreams_;
  std::unordered_map<std::string, std::shared_ptr<ServerSeries>> servers_;  // "upstream\nserver"
};

// What one worker counts outside upstreams.
struct WorkerMetrics {
  explicit WorkerMetrics(const config::Config& cfg);

  std::array<Counter, kStatusSlots> unrouted_responses;
  std::vector<std::unique_ptr<Gauge>> downstream_connections;  // by listener index
  Counter bytes_downstream_rx;  // read from clients (requests, tunnel client->server)
  Counter bytes_upstream_rx;    // read from upstream servers (responses, tunnel server->client)
  Counter access_log_dropped;   // access log lines dropped because the disk fell behind
  // TLS handshakes completed, [resumed 0|1][TLSv1.2 0 | TLSv1.3 1], and those that failed
  // (a protocol error or alert before the handshake finished).
  std::array<std::array<Counter, 2>, 2> tls_handshakes;
  Counter tls_handshake_failures;
  Counter tls_client_cert_failures;  // of those, on the client's certificate (mTLS)
  // Request heads received, by client protocol: [0] HTTP/1.x, [1] HTTP/2 streams.
  std::array<Counter, 2> downstream_requests;
  Gauge h2_connections;     // open HTTP/2 client connections
  Gauge h2_streams;         // open HTTP/2 streams
  Counter h2_flood_closes;  // connections closed with ENHANCE_YOUR_CALM (floods, rapid reset)
};

}  // namespace proxy::metrics
