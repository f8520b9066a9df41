// HealthChecker: see checker.h.
#include "proxy/health/checker.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/log.h"
#include "common/uv_util.h"

namespace proxy::health {

// One server's probe schedule.
struct HealthChecker::Probe {
  HealthChecker* checker;
  uint32_t upstream;
  uint32_t server;
  uv_timer_t timer;
  Attempt* attempt = nullptr;  // the probe in flight, if any
  bool due = false;            // the next probe came due while one was still in flight
  bool timer_open = false;
};

// One probe in flight: a connection, a timeout, and for http a request and the status line.
// Frees itself once both handles are closed; pending requests are cancelled by the close first.
struct HealthChecker::Attempt {
  Probe* probe;                // null once abandoned (stop)
  const config::HealthCheckConfig* hc;
  uv_tcp_t tcp;
  uv_timer_t timeout;
  uv_connect_t connect_req;
  uv_write_t write_req;
  std::string request;
  std::string response;
  char buf[512];
  int open_handles = 0;
  bool timer_open = false;
  bool done = false;

  static void onCloseCb(uv_handle_t* h) {
    auto* a = static_cast<Attempt*>(h->data);
    if (--a->open_handles == 0) delete a;
  }

  // Reports once, then closes.
  void finish(bool ok, const std::string& detail) {
    if (done) return;
    done = true;
    if (probe) {
      Probe* p = probe;
      probe = nullptr;
      p->attempt = nullptr;
      p->checker->onProbeResult(*p, ok, detail);
    }
    common::closeHandle(&tcp, &Attempt::onCloseCb);
    if (timer_open) common::closeHandle(&timeout, &Attempt::onCloseCb);
  }

  static void onTimeoutCb(uv_timer_t* t) { static_cast<Attempt*>(t->data)->finish(false, "timeout"); }

  static void onConnectCb(uv_connect_t* req, int status) {
    auto* a = static_cast<Attempt*>(req->data);
    if (a->done) return;
    if (status < 0) return a->finish(false, std::string("connect ") + common::uvErr(status));
    if (a->hc->type == config::HealthCheckConfig::Type::Tcp) return a->finish(true, "connected");
    uv_buf_t b = uv_buf_init(a->request.data(), static_cast<unsigned>(a->request.size()));
    int rc = uv_write(&a->write_req, reinterpret_cast<uv_stream_t*>(&a->tcp), &b, 1, &Attempt::onWriteCb);
    if (rc == 0) rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&a->tcp), &Attempt::onAllocCb, &Attempt::onReadCb);
    if (rc < 0) a->finish(false, std::string("send ") + common::uvErr(rc));
  }

  static void onWriteCb(uv_write_t* req, int status) {
    auto* a = static_cast<Attempt*>(req->data);
    if (status < 0 && !a->done) a->finish(false, std::string("send ") + common::uvErr(status));
  }

  static void onAllocCb(uv_handle_t* h, size_t, uv_buf_t* out) {
    auto* a = static_cast<Attempt*>(h->data);
    *out = uv_buf_init(a->buf, sizeof(a->buf));
  }

  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
    auto* a = static_cast<Attempt*>(s->data);
    if (a->done) return;
    if (nread < 0) return a->finish(false, nread == UV_EOF ? "closed before the status line" : std::string("read ") + common::uvErr(static_cast<int>(nread)));
    a->response.append(a->buf, static_cast<size_t>(nread));
    size_t eol = a->response.find("\r\n");
    if (eol == std::string::npos) {
      if (a->response.size() > 1024) a->finish(false, "no status line");
      return;
    }
    // "HTTP/1.1 200 OK"
    int status = -1;
    if (a->response.rfind("HTTP/1.", 0) == 0 && eol >= 12 && a->response[8] == ' ') {
      status = 0;
      for (size_t i = 9; i < 12; ++i) {
        char c = a->response[i];
        if (c < '0' || c > '9') status = -1000;
        status = status * 10 + (c - '0');
      }
    }
    if (status < 100 || status > 599) return a->finish(false, "malformed status line");
    bool ok = HealthChecker::statusExpected(*a->hc, status);
    a->finish(ok, "status " + std::to_string(status));
  }
};

HealthChecker::HealthChecker(uv_loop_t* loop, std::shared_ptr<const config::Config> cfg, HealthHub& hub)
    : loop_(loop), cfg_(std::move(cfg)), hub_(hub), rng_(static_cast<unsigned>(uv_hrtime() ^ static_cast<uint64_t>(getpid()))) {
  for (uint32_t u = 0; u < cfg_->upstreams.size(); ++u) {
    const auto& uc = cfg_->upstreams[u];
    HealthParams hp;
    hp.active = uc.health_check.enabled;
    hp.rise = uc.health_check.rise;
    hp.fall = uc.health_check.fall;
    hp.initial_up = uc.health_check.initial_up;
    hp.max_fails = uc.max_fails;
    hp.fail_timeout_ms = static_cast<uint64_t>(uc.fail_timeout.count());
    UpstreamHealth uh;
    for (uint32_t s = 0; s < uc.servers.size(); ++s) {
      uh.engines.emplace_back(hp);
      uh.admin_down.push_back(uc.servers[s].state == config::ServerConfig::AdminState::Down);
      uh.draining.push_back(uc.servers[s].state == config::ServerConfig::AdminState::Drain);
      uh.up_since.push_back(0);
      if (uc.health_check.enabled) probes_.push_back(std::make_unique<Probe>(Probe{this, u, s, {}, nullptr, false, false}));
    }
    uh.published = hub_.load(u);
    upstreams_.push_back(std::move(uh));
  }
}

HealthChecker::~HealthChecker() = default;

bool HealthChecker::statusExpected(const config::HealthCheckConfig& hc, int status) {
  for (const auto& r : hc.expect_status)
    if (status >= r.lo && status <= r.hi) return true;
  return false;
}

uint64_t HealthChecker::jittered(uint64_t interval_ms, bool first) {
  if (first) return std::uniform_int_distribution<uint64_t>(0, interval_ms)(rng_);
  uint64_t spread = interval_ms / 10;
  return interval_ms - spread + std::uniform_int_distribution<uint64_t>(0, 2 * spread)(rng_);
}

int HealthChecker::start() {
  int rc = uv_timer_init(loop_, &tick_);
  if (rc < 0) return rc;
  tick_.data = this;
  started_ = true;  // from here on stop() has handles to close
  rc = uv_async_init(loop_, &events_, &HealthChecker::onEventsCb);
  if (rc < 0) return rc;
  events_.data = this;
  events_open_ = true;
  // Passive mark-downs expire on this tick (only without active checks; see health_state.h).
  rc = uv_timer_start(&tick_, &HealthChecker::onTickCb, 200, 200);
  if (rc < 0) return rc;
  hub_.setConsumer(&events_);
  for (auto& p : probes_) {
    rc = uv_timer_init(loop_, &p->timer);
    if (rc < 0) return rc;
    p->timer_open = true;
    p->timer.data = p.get();
    const auto& hc = cfg_->upstreams[p->upstream].health_check;
    rc = uv_timer_start(&p->timer, &HealthChecker::onProbeTimerCb, jittered(static_cast<uint64_t>(hc.interval.count()), true), 0);
    if (rc < 0) return rc;
  }
  for (uint32_t u = 0; u < upstreams_.size(); ++u) {
    const auto& uc = cfg_->upstreams[u];
    if (uc.health_check.enabled)
      common::logInfo("health_check_started", {{"upstream", uc.name}, {"type", uc.health_check.type == config::HealthCheckConfig::Type::Http ? "http" : "tcp"},
                                               {"interval_ms", static_cast<long long>(uc.health_check.interval.count())}, {"servers", uc.servers.size()}});
  }
  return 0;
}

void HealthChecker::stop() {
  if (stopped_ || !started_) return;
  stopped_ = true;
  hub_.setConsumer(nullptr);
  for (auto& p : probes_) {
    if (p->attempt) {
      Attempt* a = p->attempt;
      a->probe = nullptr;  // abandoned: closes without reporting
      p->attempt = nullptr;
      a->finish(false, "stopping");
    }
    if (p->timer_open) common::closeHandle(&p->timer);
  }
  common::closeHandle(&tick_);
  if (events_open_) common::closeHandle(&events_);
}

void HealthChecker::onProbeTimerCb(uv_timer_t* t) {
  auto* p = static_cast<Probe*>(t->data);
  HealthChecker* self = p->checker;
  const auto& hc = self->cfg_->upstreams[p->upstream].health_check;
  int rc = uv_timer_start(&p->timer, &HealthChecker::onProbeTimerCb, self->jittered(static_cast<uint64_t>(hc.interval.count()), false), 0);
  if (rc < 0) common::logError("health_timer_failed", {{"error", common::uvErr(rc)}});
  if (p->attempt) {
    p->due = true;  // the previous probe is still running (timeout > interval)
    return;
  }
  self->startProbe(*p);
}

void HealthChecker::startProbe(Probe& p) {
  p.due = false;
  const auto& uc = cfg_->upstreams[p.upstream];
  const auto& sc = uc.servers[p.server];
  const auto& hc = uc.health_check;
  auto* a = new Attempt();
  a->probe = &p;
  a->hc = &hc;
  a->tcp.data = a->timeout.data = a->connect_req.data = a->write_req.data = a;
  if (hc.type == config::HealthCheckConfig::Type::Http) {
    a->request = "GET " + hc.path + " HTTP/1.1\r\nHost: " + (hc.host.empty() ? sc.address : hc.host) +
                 "\r\nUser-Agent: tether-health\r\nConnection: close\r\n\r\n";
  }
  int rc = uv_tcp_init(loop_, &a->tcp);
  if (rc < 0) {
    delete a;
    return onProbeResult(p, false, std::string("socket ") + common::uvErr(rc));
  }
  ++a->open_handles;
  rc = uv_timer_init(loop_, &a->timeout);
  if (rc < 0) {
    p.attempt = a;
    a->finish(false, std::string("timer ") + common::uvErr(rc));
    return;
  }
  ++a->open_handles;
  a->timer_open = true;
  p.attempt = a;
  rc = uv_timer_start(&a->timeout, &Attempt::onTimeoutCb, static_cast<uint64_t>(hc.timeout.count()), 0);
  if (rc == 0) rc = uv_tcp_connect(&a->connect_req, &a->tcp, reinterpret_cast<const sockaddr*>(&sc.sockaddr), &Attempt::onConnectCb);
  if (rc < 0) a->finish(false, std::string("connect ") + common::uvErr(rc));
}

void HealthChecker::onProbeResult(Probe& p, bool ok, const std::string& detail) {
  if (stopped_) return;
  auto& engine = upstreams_[p.upstream].engines[p.server];
  apply(p.upstream, p.server, engine.onProbe(ok, uv_now(loop_), detail));
  if (!ok) common::logDebug("health_probe_failed", {{"upstream", cfg_->upstreams[p.upstream].name}, {"server", cfg_->upstreams[p.upstream].servers[p.server].name}, {"detail", detail}});
  if (p.due) startProbe(p);
}

void HealthChecker::apply(uint32_t upstream, uint32_t server, const Transition& t) {
  if (!t.changed) return;
  const auto& uc = cfg_->upstreams[upstream];
  // slow_start: a server that came back ramps its weight from 10% to 100% (see publishIfChanged).
  if (t.up && uc.slow_start.count() > 0) upstreams_[upstream].up_since[server] = std::max<uint64_t>(uv_now(loop_), 1);
  if (!t.up) upstreams_[upstream].up_since[server] = 0;
  if (t.up) common::logInfo("server_up", {{"upstream", uc.name}, {"server", uc.servers[server].name}, {"reason", t.reason}});
  else common::logWarn("server_down", {{"upstream", uc.name}, {"server", uc.servers[server].name}, {"reason", t.reason}});
  publishIfChanged(upstream);
}

void HealthChecker::publishIfChanged(uint32_t upstream) {
  UpstreamHealth& uh = upstreams_[upstream];
  std::vector<uint8_t> down(uh.engines.size());
  for (size_t i = 0; i < down.size(); ++i) down[i] = uh.admin_down[i] || !uh.engines[i].up();
  // slow_start: weight in tenths, 1 right after recovery, 10 once slow_start has passed.
  std::vector<uint8_t> steps(down.size(), 10);
  bool ramping = false;
  uint64_t slow = static_cast<uint64_t>(cfg_->upstreams[upstream].slow_start.count());
  uint64_t now = uv_now(loop_);
  for (size_t i = 0; i < steps.size(); ++i) {
    if (!uh.up_since[i]) continue;
    uint64_t elapsed = now - uh.up_since[i];
    if (elapsed >= slow) {
      uh.up_since[i] = 0;
      continue;
    }
    steps[i] = static_cast<uint8_t>(std::max<uint64_t>(1, elapsed * 10 / slow));
    ramping = true;
  }
  if (!ramping) steps.clear();
  if (uh.published && uh.published->down == down && uh.published->draining == uh.draining && uh.published->weight_step == steps) return;
  bool was_all_down = uh.published && uh.published->all_down;
  uh.published = makeStates(++generation_, std::move(down), uh.draining, std::move(steps));
  if (uh.published->all_down && !was_all_down)
    common::logError("upstream_all_down", {{"upstream", cfg_->upstreams[upstream].name}, {"effect", "answering 503 until a server is back"}});
  else if (!uh.published->all_down && was_all_down)
    common::logInfo("upstream_recovered", {{"upstream", cfg_->upstreams[upstream].name}});
  hub_.publish(upstream, uh.published);
}

void HealthChecker::onTickCb(uv_timer_t* t) {
  auto* self = static_cast<HealthChecker*>(t->data);
  uint64_t now = uv_now(self->loop_);
  for (uint32_t u = 0; u < self->upstreams_.size(); ++u) {
    for (uint32_t s = 0; s < self->upstreams_[u].engines.size(); ++s) self->apply(u, s, self->upstreams_[u].engines[s].tick(now));
    if (self->upstreams_[u].published && !self->upstreams_[u].published->weight_step.empty()) self->publishIfChanged(u);  // ramp on
  }
}

void HealthChecker::onEventsCb(uv_async_t* a) {
  auto* self = static_cast<HealthChecker*>(a->data);
  uint64_t now = uv_now(self->loop_);
  for (const HealthEvent& e : self->hub_.takeEvents()) {
    if (e.upstream >= self->upstreams_.size() || e.server >= self->upstreams_[e.upstream].engines.size()) continue;
    const auto& uc = self->cfg_->upstreams[e.upstream];
    if (e.kind == HealthEvent::Kind::PassiveFailure) {
      common::logDebug("passive_failure", {{"upstream", uc.name}, {"server", uc.servers[e.server].name}, {"what", e.what}});
      self->apply(e.upstream, e.server, self->upstreams_[e.upstream].engines[e.server].onPassiveFailure(now, e.what));
    } else {
      auto& d = self->upstreams_[e.upstream].draining[e.server];
      if (static_cast<bool>(d) == e.on) continue;
      d = e.on;
      common::logInfo(e.on ? "server_draining" : "server_undrained", {{"upstream", uc.name}, {"server", uc.servers[e.server].name}, {"reason", "admin request"}});
      self->publishIfChanged(e.upstream);
    }
  }
}

}  // namespace proxy::health
