// UpstreamRuntime: see upstream_runtime.h.
#include "proxy/upstream/upstream_runtime.h"

#include <cassert>

#include "common/log.h"
#include "common/uv_util.h"
#include "proxy/upstream/membership_hub.h"
#include "proxy/lb/registry.h"

namespace proxy::upstream {

UpstreamRuntime::UpstreamRuntime(loop::LoopContext& ctx, const config::UpstreamConfig& cfg, uint32_t index)
    : ctx_(ctx), cfg_(cfg), active_(cfg.servers.size(), 0), idle_(cfg.servers.size()), index_(index) {
  std::vector<lb::ServerSpec> specs;
  for (const auto& s : cfg.servers) specs.push_back({s.name, s.weight, s.backup});
  affinity_ = std::make_unique<lb::AffinityPolicy>(cfg, specs);
  buildSelector();
  // This worker's metric slots, found by identity once per runtime (never on the data path).
  metrics::SeriesRegistry& series = *ctx.series;
  upstream_series_ = series.upstream(cfg.name);
  metrics_ = &upstream_series_->at(ctx.worker_id);
  for (const auto& s : cfg.servers) {
    server_series_.push_back(series.server(cfg.name, s.name));
    server_metrics_.push_back(&server_series_.back()->at(ctx.worker_id));
  }
  none_series_ = series.server(cfg.name, metrics::SeriesRegistry::kNone);
  none_metrics_ = &none_series_->at(ctx.worker_id);
  // The membership snapshot of this configuration, if the manager has published it already.
  if (ctx.hub) setMembership(ctx.hub->load(index));
}

// slow_start: the selector is built with weights x step/10 (x10 for the others, so even weight-1
// servers ramp); picks in flight keep the old one. At most ~10 rebuilds per ramp.
void UpstreamRuntime::buildSelector() {
  std::vector<lb::ServerSpec> specs;
  for (size_t i = 0; i < cfg_.servers.size(); ++i) {
    uint32_t w = cfg_.servers[i].weight;
    if (i < weight_step_.size()) w *= weight_step_[i];
    specs.push_back({cfg_.servers[i].name, w, cfg_.servers[i].backup});
  }
  selector_ = lb::findStrategy(cfg_.strategy)->build(specs, cfg_);  // the loader has validated the name
}

void UpstreamRuntime::setMembership(lb::MembershipPtr m) {
  if (!m || m->layout != &cfg_ || m->size() != cfg_.servers.size()) return;  // built for another configuration
  membership_ = std::move(m);
  std::vector<uint8_t> steps;
  if (membership_->ramping)
    for (const auto& member : membership_->members) steps.push_back(member.weight_step);
  if (steps == weight_step_) return;
  weight_step_ = std::move(steps);
  buildSelector();
}

void UpstreamRuntime::noteFailure(uint32_t server, const char* what) {
  if (ctx_.hub && cfg_.max_fails > 0) ctx_.hub->reportPassiveFailure(cfg_.name, cfg_.servers[server].name, what);
}

UpstreamRuntime::~UpstreamRuntime() {
  closeIdle();
  for (SSL_SESSION* s : tls_sessions_)
    if (s) SSL_SESSION_free(s);
}

void UpstreamRuntime::keepTlsSession(uint32_t server, SSL_SESSION* session) {
  assert(server < cfg_.servers.size());
  if (tls_sessions_.empty()) tls_sessions_.assign(cfg_.servers.size(), nullptr);
  if (tls_sessions_[server]) SSL_SESSION_free(tls_sessions_[server]);
  tls_sessions_[server] = session;
}

lb::Choice UpstreamRuntime::choose(const lb::AffinityRequest* affinity, const lb::ServerMask& tried) {
  lb::PickInputs in;
  in.affinity = affinity;
  in.tried = &tried;
  in.membership = membership_.get();
  in.active = active_;
  return lb::choose(in, *selector_, pick_state_, scratch_);
}

UpstreamConn* UpstreamRuntime::takeIdle(uint32_t server) {
  UpstreamConn* c = idle_[server].popFront();
  if (c) {
    --idle_count_;
    c->leaveIdle();
  }
  return c;
}

UpstreamConn* UpstreamRuntime::connectNew(uint32_t server, UpstreamOwner* owner) {
  auto* c = new UpstreamConn(ctx_, *this, server);
  const sockaddr* addr = reinterpret_cast<const sockaddr*>(&cfg_.servers[server].sockaddr);
  int rc = c->connect(addr, owner);
  if (rc < 0) {
    common::logWarn("upstream_connect_failed", {{"upstream", cfg_.name}, {"server", cfg_.servers[server].name}, {"error", common::uvErr(rc)}});
    return nullptr;  // the connection closes and frees itself
  }
  return c;
}

void UpstreamRuntime::release(UpstreamConn* conn, bool reusable) {
  conn->detach();
  if (!reusable || cfg_.keepalive == 0 || ctx_.draining) {
    conn->close();
    return;
  }
  if (idle_count_ >= cfg_.keepalive) {
    // Evict the least recently used idle connection of the server with the most idle ones.
    size_t victim = conn->server();
    for (size_t i = 0; i < idle_.size(); ++i)
      if (idle_[i].size() > idle_[victim].size()) victim = i;
    if (UpstreamConn* old = idle_[victim].back()) {
      idle_[victim].remove(old);
      --idle_count_;
      old->close();
    }
  }
  idle_[conn->server()].pushFront(conn);
  ++idle_count_;
  conn->enterIdle();
}

void UpstreamRuntime::forgetIdle(UpstreamConn* conn) {
  if (!conn->linked()) return;
  idle_[conn->server()].remove(conn);
  --idle_count_;
}

void UpstreamRuntime::closeIdle() {
  for (auto& list : idle_)
    while (UpstreamConn* c = list.popFront()) {
      --idle_count_;
      c->close();
    }
}

}  // namespace proxy::upstream
