// UpstreamRuntime: see upstream_runtime.h.
#include "proxy/upstream/upstream_runtime.h"

#include "common/log.h"
#include "common/uv_util.h"
#include "proxy/health/health_hub.h"
#include "proxy/lb/registry.h"

namespace proxy::upstream {

UpstreamRuntime::UpstreamRuntime(server::LoopContext& ctx, const config::UpstreamConfig& cfg, uint32_t index)
    : ctx_(ctx), cfg_(cfg), active_(cfg.servers.size(), 0), idle_(cfg.servers.size()), index_(index) {
  std::vector<lb::ServerSpec> specs;
  for (const auto& s : cfg.servers) specs.push_back({s.name, s.weight, s.backup});
  const lb::Strategy* strategy = lb::findStrategy(cfg.strategy);
  selector_ = strategy->build(specs, cfg);  // the loader has validated the name
  affinity_ = std::make_unique<lb::AffinityPolicy>(cfg, specs);
  // Health snapshots arrive through the worker (Worker::applyHealth), which also decides whether
  // this runtime's layout matches the health hub's.
}

void UpstreamRuntime::setHealth(health::ServerStatesPtr s) {
  health_ = std::move(s);
  static const std::vector<uint8_t> kNoRamp;
  const std::vector<uint8_t>& steps = health_ ? health_->weight_step : kNoRamp;
  if (steps == weight_step_) return;
  // slow_start: build a new immutable selector with weights x step/10 (x10 for the others, so
  // even weight-1 servers ramp); picks in flight keep the old one. At most ~10 rebuilds per ramp.
  weight_step_ = steps;
  std::vector<lb::ServerSpec> specs;
  for (size_t i = 0; i < cfg_.servers.size(); ++i) {
    uint32_t w = cfg_.servers[i].weight;
    if (i < steps.size()) w *= steps[i];
    specs.push_back({cfg_.servers[i].name, w, cfg_.servers[i].backup});
  }
  selector_ = lb::findStrategy(cfg_.strategy)->build(specs, cfg_);
}

void UpstreamRuntime::noteFailure(uint32_t server, const char* what) {
  if (ctx_.health && health_enabled_) ctx_.health->reportPassiveFailure(index_, server, what);
}

UpstreamRuntime::~UpstreamRuntime() { closeIdle(); }

int UpstreamRuntime::pick(lb::PickContext& pc) {
  pc.active = active_;
  if (!health_ || health_->unavailable.empty()) return selector_->pick(pc, pick_state_);  // all up: no merge
  // health (issue #5): down and draining servers join the excluded mask (no selector rebuild:
  // indices stay stable and every strategy's backup handling applies).
  const lb::ServerMask* tried = pc.excluded;
  health::mergeExcluded(tried, health_.get(), serverCount(), pick_excluded_);
  pc.excluded = &pick_excluded_;
  int server = selector_->pick(pc, pick_state_);
  pc.excluded = tried;
  return server;
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
