// renderPrometheus: see exposition.h.
#include "proxy/admin/exposition.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sstream>

namespace proxy::admin {

using namespace metrics;
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const prometheus::Histogram::BucketBoundaries& boundaries() {
  static const prometheus::Histogram::BucketBoundaries b(kDurationBounds.begin(), kDurationBounds.end());
  return b;
}

// Sums one histogram over a series' worker slots into a prometheus-cpp Histogram.
template <typename Get>
void fillHistogram(prometheus::Histogram& h, const UpstreamSeries& series, Get get) {
  std::vector<double> buckets(DurationHistogram::kBuckets, 0.0);
  uint64_t sum_ns = 0;
  for (unsigned w = 0; w < series.count; ++w) {
    const DurationHistogram& d = get(series.slots[w]);
    for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += static_cast<double>(d.bucket(i));
    sum_ns += d.sumNs();
  }
  h.ObserveMultiple(buckets, static_cast<double>(sum_ns) / 1e9);
}

}  // namespace

std::string renderPrometheus(const ScrapeSources& src) {
  const config::Config& cfg = src.members->config();
  prometheus::Registry reg;

  auto& requests = BuildCounter().Name("tether_requests_total")
                       .Help("Responses sent to clients, by upstream, server and status code (server=\"none\": answered by the proxy)")
                       .Register(reg);
  auto& duration = BuildHistogram().Name("tether_request_duration_seconds")
                       .Help("Time from the request head being parsed to the response being complete (or upgraded), by upstream")
                       .Register(reg);
  auto& connect = BuildHistogram().Name("tether_upstream_connect_duration_seconds")
                      .Help("Time to establish a new upstream connection, by upstream")
                      .Register(reg);
  auto& downstream = BuildGauge().Name("tether_downstream_connections")
                         .Help("Open client connections, by listener")
                         .Register(reg);
  auto& upstream_active = BuildGauge().Name("tether_upstream_active_connections")
                              .Help("Upstream connections attached to an exchange or tunnel, by upstream and server")
                              .Register(reg);
  auto& tunnels_active = BuildGauge().Name("tether_tunnels_active")
                             .Help("Open upgraded (WebSocket) tunnels, by upstream and server")
                             .Register(reg);
  auto& tunnels_total = BuildCounter().Name("tether_tunnels_total")
                            .Help("Upgraded (WebSocket) tunnels opened, by upstream")
                            .Register(reg);
  auto& bytes = BuildCounter().Name("tether_bytes_total")
                    .Help("Bytes read by the proxy, by direction (downstream_rx: from clients, upstream_rx: from servers)")
                    .Register(reg);
  auto& server_up = BuildGauge().Name("tether_server_up")
                        .Help("1 when the server is healthy (active checks, passive detection, state: down), else 0")
                        .Register(reg);
  auto& admin_state = BuildGauge().Name("tether_server_admin_state")
                          .Help("1 for the server's current operator state (enabled, drain, disabled)")
                          .Register(reg);
  auto& health = BuildCounter().Name("tether_health_checks_total")
                     .Help("Health check probes, by upstream, server and result (success, failure)")
                     .Register(reg);
  auto& retries = BuildCounter().Name("tether_retries_total")
                      .Help("Requests sent again to another (or a fresh) connection after a failure, by upstream")
                      .Register(reg);
  auto& affinity = BuildCounter().Name("tether_affinity_total")
                       .Help("Affinity (cookie, sid) lookups, by upstream and result (hit, miss, repinned)")
                       .Register(reg);
  auto& reloads = BuildCounter().Name("tether_config_reloads_total")
                      .Help("Configuration reloads, by result (success, failure)")
                      .Register(reg);
  auto& generation = BuildGauge().Name("tether_config_generation")
                         .Help("Generation of the running configuration (1 at start, +1 per successful reload)")
                         .Register(reg);
  auto& build = BuildGauge().Name("tether_build_info").Help("Always 1; the version is a label").Register(reg);
  auto& workers = BuildGauge().Name("tether_workers").Help("Worker threads").Register(reg);
  auto& log_dropped = BuildCounter().Name("tether_access_log_dropped_total")
                          .Help("Access log lines dropped because the disk fell behind")
                          .Register(reg);
  prometheus::Family<prometheus::Counter>* upstream_tls = nullptr;  // only with an upstream that has tls:
  for (const auto& u : cfg.upstreams)
    if (u.tls.enabled && !upstream_tls)
      upstream_tls = &BuildCounter().Name("tether_upstream_tls_handshakes_total")
                          .Help("TLS handshakes with upstream servers (upstreams with tls:), by upstream and result (full, resumed, failed)")
                          .Register(reg);
  auto& members = BuildGauge().Name("tether_upstream_members")
                      .Help("Servers the upstream has now (configured, or resolved by DNS), by upstream")
                      .Register(reg);
  auto& discovery = BuildCounter().Name("tether_discovery_updates_total")
                        .Help("DNS lookups of resolve: true names, by result (changed: the members changed, unchanged, failed: last members kept)")
                        .Register(reg);
  auto& start_time = BuildGauge().Name("tether_start_time_seconds").Help("Start time of the process since the Unix epoch").Register(reg);
  if (src.certs && !src.certs->empty()) {
    auto& not_after = BuildGauge().Name("tether_tls_cert_not_after_seconds")
                          .Help("When the certificate stops being valid (notAfter), seconds since the Unix epoch, by listener and certificate file")
                          .Register(reg);
    for (const auto& c : *src.certs) not_after.Add({{"listener", c.listener}, {"cert", c.cert}}).Set(static_cast<double>(c.not_after));
  }

  for (size_t ui = 0; ui < cfg.upstreams.size(); ++ui) {
    const config::UpstreamConfig& u = cfg.upstreams[ui];
    members.Add({{"upstream", u.name}}).Set(static_cast<double>(u.servers.size()));
    auto addResponses = [&](const ServerSeries& series, const std::string& server) {
      for (size_t code = 0; code < kStatusSlots; ++code) {
        uint64_t n = series.sum([code](const ServerMetrics& m) { return m.responses[code].value(); });
        if (n) requests.Add({{"upstream", u.name}, {"server", server}, {"code", std::to_string(code + kMinStatus)}}).Increment(static_cast<double>(n));
      }
    };
    for (size_t s = 0; s < u.servers.size(); ++s) {
      const std::string& server = u.servers[s].name;
      auto series = src.series->server(u.name, server);
      addResponses(*series, server);
      int64_t active = 0, tunnels = 0;
      for (unsigned w = 0; w < series->count; ++w) {
        active += series->slots[w].active.value();
        tunnels += series->slots[w].tunnels_active.value();
      }
      prometheus::Labels l{{"upstream", u.name}, {"server", server}};
      upstream_active.Add(l).Set(static_cast<double>(active));
      tunnels_active.Add(l).Set(static_cast<double>(tunnels));
      upstream::ServerView view = src.members->server(ui, s);
      server_up.Add(l).Set(view.healthy ? 1 : 0);
      for (auto candidate : {lb::AdminState::Enabled, lb::AdminState::Drain, lb::AdminState::Disabled})
        admin_state.Add({{"upstream", u.name}, {"server", server}, {"state", lb::adminStateName(candidate)}}).Set(candidate == view.admin ? 1 : 0);
      if (u.health_check.enabled) {
        health.Add({{"upstream", u.name}, {"server", server}, {"result", "success"}}).Increment(static_cast<double>(view.checks_ok));
        health.Add({{"upstream", u.name}, {"server", server}, {"result", "failure"}}).Increment(static_cast<double>(view.checks_failed));
      }
    }
    addResponses(*src.series->server(u.name, metrics::SeriesRegistry::kNone), metrics::SeriesRegistry::kNone);
    auto up = src.series->upstream(u.name);
    fillHistogram(duration.Add({{"upstream", u.name}}, boundaries()), *up,
                  [](const UpstreamMetrics& m) -> const DurationHistogram& { return m.request_duration; });
    fillHistogram(connect.Add({{"upstream", u.name}}, boundaries()), *up,
                  [](const UpstreamMetrics& m) -> const DurationHistogram& { return m.connect_duration; });
    retries.Add({{"upstream", u.name}}).Increment(static_cast<double>(up->sum([](const UpstreamMetrics& m) { return m.retries.value(); })));
    tunnels_total.Add({{"upstream", u.name}}).Increment(static_cast<double>(up->sum([](const UpstreamMetrics& m) { return m.tunnels_total.value(); })));
    for (size_t a = 0; a < kAffinityResults; ++a)
      affinity.Add({{"upstream", u.name}, {"result", kAffinityResultNames[a]}})
          .Increment(static_cast<double>(up->sum([a](const UpstreamMetrics& m) { return m.affinity[a].value(); })));
    if (upstream_tls && u.tls.enabled)
      for (size_t r = 0; r < kUpstreamTlsResults; ++r)
        upstream_tls->Add({{"upstream", u.name}, {"result", kUpstreamTlsResultNames[r]}})
            .Increment(static_cast<double>(up->sum([r](const UpstreamMetrics& m) { return m.tls_handshakes[r].value(); })));
  }
  for (size_t code = 0; code < kStatusSlots; ++code) {
    uint64_t n = 0;
    for (const WorkerMetrics* w : src.workers) n += w->unrouted_responses[code].value();
    if (n) requests.Add({{"upstream", "none"}, {"server", "none"}, {"code", std::to_string(code + kMinStatus)}}).Increment(static_cast<double>(n));
  }
  for (size_t li = 0; li < cfg.listeners.size(); ++li) {
    int64_t n = 0;
    for (const WorkerMetrics* w : src.workers)
      if (li < w->downstream_connections.size()) n += w->downstream_connections[li]->value();
    downstream.Add({{"listener", cfg.listeners[li].name}}).Set(static_cast<double>(n));
  }
  if (src.certs && !src.certs->empty()) {  // TLS listeners: handshakes
    auto& handshakes = BuildCounter().Name("tether_tls_handshakes_total")
                           .Help("TLS handshakes with clients, by result (full, resumed, failed) and protocol version (failed: none)")
                           .Register(reg);
    uint64_t failed = 0;
    for (int resumed : {0, 1})
      for (int v : {0, 1}) {
        uint64_t n = 0;
        for (const WorkerMetrics* w : src.workers) n += w->tls_handshakes[resumed][v].value();
        handshakes.Add({{"result", resumed ? "resumed" : "full"}, {"version", v ? "TLSv1.3" : "TLSv1.2"}}).Increment(static_cast<double>(n));
      }
    uint64_t cert_failed = 0;
    for (const WorkerMetrics* w : src.workers) {
      failed += w->tls_handshake_failures.value();
      cert_failed += w->tls_client_cert_failures.value();
    }
    handshakes.Add({{"result", "failed"}, {"version", "none"}}).Increment(static_cast<double>(failed - cert_failed));
    handshakes.Add({{"result", "client_cert_failed"}, {"version", "none"}}).Increment(static_cast<double>(cert_failed));
  }
  {  // request heads by client protocol
    auto& by_protocol = BuildCounter().Name("tether_downstream_requests_total")
                            .Help("Requests received from clients, by protocol (HTTP/1.1 covers 1.0; HTTP/2 counts streams)")
                            .Register(reg);
    for (size_t p : {0, 1}) {
      uint64_t n = 0;
      for (const WorkerMetrics* w : src.workers) n += w->downstream_requests[p].value();
      by_protocol.Add({{"protocol", p ? "HTTP/2" : "HTTP/1.1"}}).Increment(static_cast<double>(n));
    }
  }
  bool any_h2 = false;
  for (const auto& l : cfg.listeners) any_h2 = any_h2 || l.http2.enabled;
  if (any_h2) {  // listeners with http2: connections, streams, flood closes
    int64_t conns = 0, streams = 0;
    uint64_t floods = 0;
    for (const WorkerMetrics* w : src.workers) {
      conns += w->h2_connections.value();
      streams += w->h2_streams.value();
      floods += w->h2_flood_closes.value();
    }
    BuildGauge().Name("tether_h2_connections_active").Help("Open HTTP/2 client connections").Register(reg).Add({}).Set(static_cast<double>(conns));
    BuildGauge().Name("tether_h2_streams_active").Help("Open HTTP/2 streams").Register(reg).Add({}).Set(static_cast<double>(streams));
    BuildCounter().Name("tether_h2_flood_closes_total")
        .Help("HTTP/2 connections closed with GOAWAY(ENHANCE_YOUR_CALM): rapid reset, control frame floods, header list bombs")
        .Register(reg).Add({}).Increment(static_cast<double>(floods));
  }
  uint64_t down_rx = 0, up_rx = 0, dropped = 0;
  for (const WorkerMetrics* w : src.workers) {
    down_rx += w->bytes_downstream_rx.value();
    up_rx += w->bytes_upstream_rx.value();
    dropped += w->access_log_dropped.value();
  }
  log_dropped.Add({}).Increment(static_cast<double>(dropped));
  bytes.Add({{"direction", "downstream_rx"}}).Increment(static_cast<double>(down_rx));
  bytes.Add({{"direction", "upstream_rx"}}).Increment(static_cast<double>(up_rx));
  for (bool ok : {true, false})
    reloads.Add({{"result", ok ? "success" : "failure"}}).Increment(static_cast<double>(src.process ? src.process->reloads(ok) : 0));
  generation.Add({}).Set(static_cast<double>(src.process ? src.process->generation() : 1));
  build.Add({{"version", src.version}}).Set(1);
  if (src.discovery && src.discovery->watching()) {
    using D = upstream::Discovery;
    discovery.Add({{"result", "changed"}}).Increment(static_cast<double>(src.discovery->updates(D::Changed)));
    discovery.Add({{"result", "unchanged"}}).Increment(static_cast<double>(src.discovery->updates(D::Unchanged)));
    discovery.Add({{"result", "failed"}}).Increment(static_cast<double>(src.discovery->updates(D::Failed)));
  }
  workers.Add({}).Set(static_cast<double>(src.workers.size()));
  start_time.Add({}).Set(static_cast<double>(src.start_time_unix));

  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, reg.Collect());
  return out.str();
}

}  // namespace proxy::admin
