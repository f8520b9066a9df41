// HealthHub: see health_hub.h.
#include "proxy/health/health_hub.h"

#include <algorithm>

namespace proxy::health {

ServerStatesPtr makeStates(uint64_t generation, std::vector<uint8_t> down, std::vector<uint8_t> draining,
                           std::vector<uint8_t> weight_step) {
  auto s = std::make_shared<ServerStates>();
  s->weight_step = std::move(weight_step);
  s->generation = generation;
  s->down = std::move(down);
  s->draining = std::move(draining);
  s->all_down = true;
  for (size_t i = 0; i < s->down.size(); ++i) {
    if (s->down[i] || s->isDraining(i)) s->unavailable.set(i);
    if (!s->down[i]) s->all_down = false;
  }
  return s;
}

HealthHub::HealthHub(const config::Config& cfg) {
  for (const auto& u : cfg.upstreams) {
    std::vector<uint8_t> down, draining;
    for (const auto& s : u.servers) {
      bool admin_down = s.state == config::ServerConfig::AdminState::Down;
      bool initially_down = u.health_check.enabled && !u.health_check.initial_up;
      down.push_back(admin_down || initially_down);
      draining.push_back(s.state == config::ServerConfig::AdminState::Drain);
    }
    slots_.push_back(makeStates(0, std::move(down), std::move(draining)));
  }
}

ServerStatesPtr HealthHub::load(size_t upstream) const {
  std::lock_guard<std::mutex> lock(mu_);
  return upstream < slots_.size() ? slots_[upstream] : nullptr;
}

void HealthHub::publish(size_t upstream, ServerStatesPtr states) {
  std::lock_guard<std::mutex> lock(mu_);
  if (upstream >= slots_.size()) return;
  slots_[upstream] = std::move(states);
  for (uv_async_t* a : subscribers_) uv_async_send(a);  // only fails on a non-async handle
}

void HealthHub::setConsumer(uv_async_t* checker_async) {
  std::lock_guard<std::mutex> lock(mu_);
  consumer_ = checker_async;
  if (consumer_ && !events_.empty()) uv_async_send(consumer_);
}

void HealthHub::subscribe(uv_async_t* worker_async) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.push_back(worker_async);
}

void HealthHub::unsubscribe(uv_async_t* worker_async) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), worker_async), subscribers_.end());
}

void HealthHub::push(const HealthEvent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (events_.size() >= 65536) return;  // the checker is gone or stuck: drop rather than grow
  events_.push_back(e);
  if (consumer_) uv_async_send(consumer_);
}

void HealthHub::reportPassiveFailure(uint32_t upstream, uint32_t server, const char* what) {
  push({HealthEvent::Kind::PassiveFailure, upstream, server, false, what});
}

void HealthHub::setDrain(uint32_t upstream, uint32_t server, bool on) {
  push({HealthEvent::Kind::SetDrain, upstream, server, on, ""});
}

std::vector<HealthEvent> HealthHub::takeEvents() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<HealthEvent> out;
  out.swap(events_);
  return out;
}

}  // namespace proxy::health
