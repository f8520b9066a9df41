// MembershipManager: see membership_manager.h.
#include "proxy/upstream/membership_manager.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>

#include "common/log.h"
#include "common/uv_util.h"
#include "proxy/health/health_state.h"
#include "proxy/health/probe.h"

namespace proxy::upstream {

// One server's state, by identity. Positions (u, s) are where it sits in the current
// configuration; they change when a reload reorders the servers.
struct MembershipManager::Record {
  MembershipManager* mgr = nullptr;
  std::string upstream, server;
  uint32_t u = 0, s = 0;
  health::ServerHealth engine;
  lb::AdminState admin = lb::AdminState::Enabled;
  config::ServerConfig::AdminState configured = config::ServerConfig::AdminState::Up;
  uint64_t up_since = 0;  // slow_start: when the server came back (0: not ramping)
  uint64_t checks_ok = 0, checks_failed = 0;
  uv_timer_t timer;
  bool timer_open = false;
  health::Probe* probe = nullptr;  // in flight
  bool due = false;                // the next probe came due while one was in flight

  bool healthy() const { return engine.up() && configured != config::ServerConfig::AdminState::Down; }
};

namespace {

std::string identity(const std::string& upstream, const std::string& server) { return upstream + '\n' + server; }

lb::AdminState adminFromConfig(config::ServerConfig::AdminState s) {
  return s == config::ServerConfig::AdminState::Drain ? lb::AdminState::Drain : lb::AdminState::Enabled;
}

health::HealthParams paramsOf(const config::UpstreamConfig& uc) {
  health::HealthParams hp;
  hp.active = uc.health_check.enabled;
  hp.rise = std::max<uint32_t>(uc.health_check.rise, 1);
  hp.fall = std::max<uint32_t>(uc.health_check.fall, 1);
  hp.initial_up = uc.health_check.initial_up;
  hp.max_fails = uc.max_fails;
  hp.fail_timeout_ms = static_cast<uint64_t>(uc.fail_timeout.count());
  return hp;
}

}  // namespace

MembershipManager::MembershipManager(uv_loop_t* loop, MembershipHub& hub)
    : loop_(loop), hub_(hub), rng_(static_cast<unsigned>(uv_hrtime() ^ static_cast<uint64_t>(getpid()))) {}

MembershipManager::~MembershipManager() {
  // stop() has closed the handles; records whose timer never opened are freed here.
  for (auto& [key, r] : records_)
    if (r->timer_open) (void)r.release();  // freed by its timer's close callback
}

void MembershipManager::apply(std::shared_ptr<const config::Config> cfg) {
  uint64_t now = uv_now(loop_);
  std::unordered_map<std::string, std::unique_ptr<Record>> kept;
  std::vector<std::vector<Record*>> layout;
  for (uint32_t u = 0; u < cfg->upstreams.size(); ++u) {
    const config::UpstreamConfig& uc = cfg->upstreams[u];
    health::HealthParams hp = paramsOf(uc);
    layout.emplace_back();
    for (uint32_t s = 0; s < uc.servers.size(); ++s) {
      const config::ServerConfig& sc = uc.servers[s];
      std::string key = identity(uc.name, sc.name);
      std::unique_ptr<Record> r;
      if (auto it = records_.find(key); it != records_.end()) {
        r = std::move(it->second);
        records_.erase(it);
        if (!(r->engine.params() == hp)) r->engine.reconfigure(hp, now);
        if (r->configured != sc.state) {  // the file changed this server's state: it wins
          r->admin = adminFromConfig(sc.state);
          r->configured = sc.state;
        }
      } else {
        r = std::make_unique<Record>();
        r->mgr = this;
        r->upstream = uc.name;
        r->server = sc.name;
        r->engine = health::ServerHealth(hp);
        r->admin = adminFromConfig(sc.state);
        r->configured = sc.state;
      }
      r->u = u;
      r->s = s;
      layout.back().push_back(r.get());
      kept.emplace(std::move(key), std::move(r));
    }
  }
  // Servers no longer configured: probes stop, state is forgotten.
  for (auto& [key, r] : records_) {
    common::logInfo("server_removed", {{"upstream", r->upstream}, {"server", r->server}});
    stopProbing(*r);
    if (r->timer_open) {
      Record* raw = r.release();
      common::closeHandle(&raw->timer, [](uv_handle_t* h) { delete static_cast<Record*>(h->data); });
    }
  }
  records_ = std::move(kept);
  layout_ = std::move(layout);
  cfg_ = std::move(cfg);
  all_down_.assign(layout_.size(), 0);
  // Probes restart with the (possibly changed) health_check settings.
  if (started_ && !stopped_) {
    for (auto& [key, r] : records_) {
      stopProbing(*r);
      schedule(*r, true);
    }
    logChecks();
  }
  publish();
}

void MembershipManager::logChecks() const {
  for (const auto& uc : cfg_->upstreams)
    if (uc.health_check.enabled)
      common::logInfo("health_check_started", {{"upstream", uc.name}, {"type", uc.health_check.type == config::HealthCheckConfig::Type::Http ? "http" : "tcp"},
                                               {"interval_ms", static_cast<long long>(uc.health_check.interval.count())}, {"servers", uc.servers.size()}});
}

int MembershipManager::start() {
  assert(cfg_ && "apply() a configuration first");
  int rc = uv_timer_init(loop_, &tick_);
  if (rc < 0) return rc;
  tick_.data = this;
  rc = uv_async_init(loop_, &failures_, &MembershipManager::onFailuresCb);
  if (rc < 0) {
    common::closeHandle(&tick_);
    return rc;
  }
  failures_.data = this;
  started_ = true;  // from here on stop() has handles to close
  // Passive mark-downs expire and slow-start ramps advance on this tick.
  rc = uv_timer_start(&tick_, &MembershipManager::onTickCb, 200, 200);
  if (rc < 0) return rc;
  hub_.setConsumer(&failures_);
  for (auto& [key, r] : records_) schedule(*r, true);
  logChecks();
  return 0;
}

void MembershipManager::stop() {
  if (stopped_ || !started_) return;
  stopped_ = true;
  hub_.setConsumer(nullptr);
  for (auto& [key, r] : records_) {
    stopProbing(*r);
    if (r->timer_open) {
      Record* raw = r.release();
      common::closeHandle(&raw->timer, [](uv_handle_t* h) { delete static_cast<Record*>(h->data); });
    }
  }
  records_.clear();
  layout_.clear();
  common::closeHandle(&tick_);
  common::closeHandle(&failures_);
}

ServerView MembershipManager::server(size_t upstream, size_t server) const {
  ServerView v;
  if (upstream >= layout_.size() || server >= layout_[upstream].size()) return v;
  const Record& r = *layout_[upstream][server];
  v.healthy = r.healthy();
  v.admin = r.admin;
  v.checks_ok = r.checks_ok;
  v.checks_failed = r.checks_failed;
  return v;
}

void MembershipManager::setAdmin(size_t upstream, size_t server, lb::AdminState state, lb::AdminState& previous) {
  assert(upstream < layout_.size() && server < layout_[upstream].size());
  Record& r = *layout_[upstream][server];
  previous = r.admin;
  if (r.admin == state) return;
  r.admin = state;
  publish();
}

MembershipManager::Record* MembershipManager::find(const std::string& upstream, const std::string& server) {
  auto it = records_.find(identity(upstream, server));
  return it == records_.end() ? nullptr : it->second.get();
}

// ---- probes ---------------------------------------------------------------------------------

void MembershipManager::schedule(Record& r, bool first) {
  const config::HealthCheckConfig& hc = cfg_->upstreams[r.u].health_check;
  if (!hc.enabled) return;
  if (!r.timer_open) {
    int rc = uv_timer_init(loop_, &r.timer);
    if (rc < 0) {
      common::logError("health_timer_failed", {{"upstream", r.upstream}, {"server", r.server}, {"error", common::uvErr(rc)}});
      return;
    }
    r.timer.data = &r;
    r.timer_open = true;
  }
  uint64_t interval = static_cast<uint64_t>(hc.interval.count());
  uint64_t delay;
  if (first) {
    delay = std::uniform_int_distribution<uint64_t>(0, interval)(rng_);
  } else {
    uint64_t spread = interval / 10;
    delay = interval - spread + std::uniform_int_distribution<uint64_t>(0, 2 * spread)(rng_);
  }
  int rc = uv_timer_start(&r.timer, &MembershipManager::onProbeTimerCb, delay, 0);
  if (rc < 0) common::logError("health_timer_failed", {{"upstream", r.upstream}, {"server", r.server}, {"error", common::uvErr(rc)}});
}

void MembershipManager::stopProbing(Record& r) {
  if (r.timer_open) uv_timer_stop(&r.timer);  // never fails on an initialised timer
  r.due = false;
  if (health::Probe* p = r.probe) {
    r.probe = nullptr;
    p->abandon();
  }
}

void MembershipManager::onProbeTimerCb(uv_timer_t* t) {
  auto* r = static_cast<Record*>(t->data);
  MembershipManager* self = r->mgr;
  self->schedule(*r, false);
  if (r->probe) {
    r->due = true;  // the previous probe is still running (timeout > interval)
    return;
  }
  self->startProbe(*r);
}

void MembershipManager::startProbe(Record& r) {
  r.due = false;
  const config::UpstreamConfig& uc = cfg_->upstreams[r.u];
  const config::ServerConfig& sc = uc.servers[r.s];
  const std::string& host = uc.health_check.host.empty() ? sc.address : uc.health_check.host;
  r.probe = health::Probe::start(loop_, sc, uc.health_check, host, uc.tls,
                                 &MembershipManager::onProbeDone, &r);
}

void MembershipManager::onProbeDone(void* owner, bool ok, const std::string& detail) {
  auto* r = static_cast<Record*>(owner);
  MembershipManager* self = r->mgr;
  r->probe = nullptr;
  if (self->stopped_) return;
  ++(ok ? r->checks_ok : r->checks_failed);
  if (!ok) common::logDebug("health_probe_failed", {{"upstream", r->upstream}, {"server", r->server}, {"detail", detail}});
  health::Transition t = r->engine.onProbe(ok, uv_now(self->loop_), detail);
  self->transition(*r, t.changed, t.up, t.reason);
  if (r->due) self->startProbe(*r);
}

// ---- verdicts and publishing -------------------------------------------------------------------

void MembershipManager::transition(Record& r, bool changed, bool up, const std::string& reason) {
  if (!changed) return;
  const config::UpstreamConfig& uc = cfg_->upstreams[r.u];
  // slow_start: a server that came back ramps its weight from 10% to 100% (see publish()).
  r.up_since = up && uc.slow_start.count() > 0 ? std::max<uint64_t>(uv_now(loop_), 1) : 0;
  if (up) common::logInfo("server_up", {{"upstream", r.upstream}, {"server", r.server}, {"reason", reason}});
  else common::logWarn("server_down", {{"upstream", r.upstream}, {"server", r.server}, {"reason", reason}});
  publish();
}

void MembershipManager::publish() {
  uint64_t now = uv_now(loop_);
  std::vector<lb::MembershipPtr> next;
  bool changed = published_.size() != layout_.size();
  for (size_t u = 0; u < layout_.size(); ++u) {
    const config::UpstreamConfig& uc = cfg_->upstreams[u];
    uint64_t slow = static_cast<uint64_t>(uc.slow_start.count());
    std::vector<lb::MemberState> members;
    members.reserve(layout_[u].size());
    for (Record* r : layout_[u]) {
      lb::MemberState m;
      m.healthy = r->healthy();
      m.admin = r->admin;
      if (r->up_since) {  // slow_start: weight in tenths, 1 right after recovery, 10 once it has passed
        uint64_t elapsed = now - r->up_since;
        if (elapsed >= slow) r->up_since = 0;
        else m.weight_step = static_cast<uint8_t>(std::max<uint64_t>(1, elapsed * 10 / slow));
      }
      members.push_back(m);
    }
    const void* layout = &uc;
    const lb::Membership* old = u < published_.size() ? published_[u].get() : nullptr;
    if (old && old->layout == layout && old->members == members) {
      next.push_back(published_[u]);
      continue;
    }
    changed = true;
    next.push_back(lb::makeMembership(++version_, layout, std::move(members)));
    bool all_down = next.back()->all_down;
    if (all_down && !all_down_[u])
      common::logError("upstream_all_down", {{"upstream", uc.name}, {"effect", "answering 503 until a server is back"}});
    else if (!all_down && all_down_[u])
      common::logInfo("upstream_recovered", {{"upstream", uc.name}});
    all_down_[u] = all_down;
  }
  if (!changed) return;
  published_ = next;
  hub_.publish(std::move(next));
}

void MembershipManager::onTickCb(uv_timer_t* t) {
  auto* self = static_cast<MembershipManager*>(t->data);
  uint64_t now = uv_now(self->loop_);
  bool ramping = false;
  for (auto& [key, r] : self->records_) {
    health::Transition tr = r->engine.tick(now);
    self->transition(*r, tr.changed, tr.up, tr.reason);
    if (r->up_since) ramping = true;
  }
  if (ramping) self->publish();  // the ramp moves on (publishes only when a step changed)
}

void MembershipManager::onFailuresCb(uv_async_t* a) {
  auto* self = static_cast<MembershipManager*>(a->data);
  uint64_t now = uv_now(self->loop_);
  for (const PassiveFailure& f : self->hub_.takeFailures()) {
    Record* r = self->find(f.upstream, f.server);
    if (!r) continue;  // reported from an older configuration for a server that is gone
    common::logDebug("passive_failure", {{"upstream", f.upstream}, {"server", f.server}, {"what", f.what}});
    health::Transition tr = r->engine.onPassiveFailure(now, f.what);
    self->transition(*r, tr.changed, tr.up, tr.reason);
  }
}

}  // namespace proxy::upstream
