// Session, metrics and access log: the bodies of the metricsXxx() hooks that session.cc and
// session_exchange.cc call at fixed points of an exchange (see the list in session.h).
//
// Everything here increments this worker's cells: its WorkerMetrics and, through the exchange's
// upstream runtime, its slots of the upstream's and servers' series (single-writer cells, no
// lock; see metrics/worker_metrics.h and counters.h). Durations use uv_hrtime(): uv_now() has millisecond resolution, and a
// proxied request on loopback takes a fraction of that. The access log, when on, costs a copy of
// the URL, User-Agent and Referer per request; when off, nothing but one null check.
#include <llhttp.h>

#include "proxy/metrics/access_log.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/server/generation.h"
#include "proxy/server/session.h"
#include "proxy/server/worker.h"

namespace proxy::server {

void Session::metricsAccepted() {
  auto& gauges = worker_.ctx().metrics->downstream_connections;
  if (listener_ < gauges.size()) gauges[listener_]->add(1);  // listeners added by a reload: not counted
}

// Called before the generation is released (session.cc), so the tunnel's cells are still alive.
void Session::metricsClosed() {
  metrics::WorkerMetrics& m = *worker_.ctx().metrics;
  if (listener_ < m.downstream_connections.size()) m.downstream_connections[listener_]->add(-1);
  if (tunnel_gauge_) {  // set only when metricsUpgraded counted it
    tunnel_gauge_->add(-1);
    tunnel_gauge_ = nullptr;
  }
}

void Session::metricsRequestHead(http::MessageHead& head) {
  request_start_ns_ = uv_hrtime();
  response_body_bytes_ = 0;
  worker_.ctx().metrics->downstream_requests[0].add();
  if (!worker_.ctx().access_log) return;
  log_method_ = llhttp_method_name(static_cast<llhttp_method_t>(head.method));
  log_url_.assign(head.url());
  log_user_agent_.assign(head.find("user-agent"));
  log_referer_.assign(head.find("referer"));
}

void Session::metricsAttached(uint32_t server, bool connecting) {
  runtime_->serverMetrics(server).active.add(1);
  if (connecting) connect_start_ns_ = uv_hrtime();
}

void Session::metricsReleased(uint32_t server) { runtime_->serverMetrics(server).active.add(-1); }

void Session::metricsConnected() { runtime_->metrics().connect_duration.observeNs(uv_hrtime() - connect_start_ns_); }

void Session::metricsRetry() { runtime_->metrics().retries.add(); }

// hit: a layer named a server and it took the request; repinned: it named one that could not;
// miss: the request carried a sid or cookie that names no current server. Requests that carry
// none (new sessions) are not counted.
void Session::metricsAffinity(lb::PinOutcome pin) {
  switch (pin) {
    case lb::PinOutcome::None: return;
    case lb::PinOutcome::Hit: return runtime_->metrics().affinityResult(metrics::AffinityResult::Hit);
    case lb::PinOutcome::Repinned: return runtime_->metrics().affinityResult(metrics::AffinityResult::Repinned);
    case lb::PinOutcome::Unknown: return runtime_->metrics().affinityResult(metrics::AffinityResult::Miss);
  }
}

void Session::metricsResponseHead(int status) {
  response_server_ = up_ ? up_->server() : 0;
  runtime_->serverMetrics(response_server_).responses[metrics::statusSlot(status)].add();
  log_status_ = status;
}

void Session::metricsResponseDone() {
  runtime_->metrics().request_duration.observeNs(uv_hrtime() - request_start_ns_);
  if (worker_.ctx().access_log) writeAccessLog(log_status_, response_server_);
}

void Session::metricsLocalResponse(int status) {
  metrics::WorkerMetrics& m = *worker_.ctx().metrics;
  if (!runtime_) {  // answered before routing (400, 404, 408, 431...)
    m.unrouted_responses[metrics::statusSlot(status)].add();
    if (worker_.ctx().access_log) writeAccessLog(status, UINT32_MAX);
    return;
  }
  runtime_->noneMetrics().responses[metrics::statusSlot(status)].add();
  runtime_->metrics().request_duration.observeNs(uv_hrtime() - request_start_ns_);
  if (worker_.ctx().access_log) writeAccessLog(status, static_cast<uint32_t>(runtime_->serverCount()));
}

void Session::metricsUpgraded() {
  tunnel_gauge_ = &runtime_->serverMetrics(response_server_).tunnels_active;
  tunnel_gauge_->add(1);
  runtime_->metrics().tunnels_total.add();
  runtime_->metrics().request_duration.observeNs(uv_hrtime() - request_start_ns_);
  if (worker_.ctx().access_log) writeAccessLog(101, response_server_);
}

// server_slot: a configured server, the upstream's "none" slot, or UINT32_MAX (not routed).
void Session::writeAccessLog(int status, uint32_t server_slot) {
  const config::Config& cfg = gen_ ? *gen_->config : *worker_.ctx().config;
  metrics::AccessEntry e;
  e.client_ip = logClient();
  e.request_id = request_id_;
  bool routed = server_slot != UINT32_MAX;
  e.method = log_method_;  // "-" / empty when the head could not be parsed (400, 408, 431)
  e.url = log_url_.empty() ? std::string_view("-") : std::string_view(log_url_);
  e.upstream_url = log_upstream_url_;
  e.user_agent = log_user_agent_;
  e.referer = log_referer_;
  e.http_minor = client_http10_ ? 0 : 1;
  e.status = status;
  e.bytes = response_body_bytes_;
  e.duration_ns = request_start_ns_ ? uv_hrtime() - request_start_ns_ : 0;
  if (routed) {
    const config::UpstreamConfig& u = cfg.upstreams[std::min<size_t>(metrics_upstream_, cfg.upstreams.size() - 1)];
    e.upstream = u.name;
    e.server = server_slot < u.servers.size() ? std::string_view(u.servers[server_slot].name) : std::string_view("-");
  } else {
    e.upstream = "-";
    e.server = "-";
  }
  worker_.ctx().access_log->append(e);
  // Forget this request's fields: a later unparsable request must not inherit them.
  log_method_ = "-";
  log_url_.clear();
  log_upstream_url_.clear();
  log_user_agent_.clear();
  log_referer_.clear();
}

}  // namespace proxy::server
