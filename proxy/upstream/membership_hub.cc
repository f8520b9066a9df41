// MembershipHub: see membership_hub.h.
#include "proxy/upstream/membership_hub.h"

#include <algorithm>

namespace proxy::upstream {

lb::MembershipPtr MembershipHub::load(size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  return index < slots_.size() ? slots_[index] : nullptr;
}

void MembershipHub::publish(std::vector<lb::MembershipPtr> snapshots) {
  std::lock_guard<std::mutex> lock(mu_);
  slots_ = std::move(snapshots);
  for (uv_async_t* a : subscribers_) uv_async_send(a);  // only fails on a non-async handle
}

void MembershipHub::setConsumer(uv_async_t* manager_async) {
  std::lock_guard<std::mutex> lock(mu_);
  consumer_ = manager_async;
  if (consumer_ && !failures_.empty()) uv_async_send(consumer_);
}

std::vector<PassiveFailure> MembershipHub::takeFailures() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PassiveFailure> out;
  out.swap(failures_);
  return out;
}

void MembershipHub::subscribe(uv_async_t* worker_async) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.push_back(worker_async);
}

void MembershipHub::unsubscribe(uv_async_t* worker_async) {
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), worker_async), subscribers_.end());
}

void MembershipHub::reportPassiveFailure(std::string_view upstream, std::string_view server, const char* what) {
  std::lock_guard<std::mutex> lock(mu_);
  if (failures_.size() >= 65536) return;  // the manager is gone or stuck: drop rather than grow
  failures_.push_back({std::string(upstream), std::string(server), what});
  if (consumer_) uv_async_send(consumer_);
}

}  // namespace proxy::upstream
