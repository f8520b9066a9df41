// Run-time administrative state of every server, set through the admin API
// (POST /upstreams/{u}/servers/{addr}/enable|drain|disable) and read by every worker's picks.
//
// SHARED STRUCTURE — coordination note for the health and affinity branches:
//   * This is the operator's intent only. Health (up/down, owned by proxy/health) is a separate
//     state; a server receives new sessions when it is healthy AND acceptsNew() here.
//   * enabled  : normal.
//   * drain    : no NEW sessions (the picker skips it), but requests that affinity (cookie/sid)
//                pins to it still go there, and open connections and tunnels are left alone.
//                Affinity code should call acceptsPinned(), pickers acceptsNew().
//   * disabled : no traffic at all, pinned or not (affinity re-pins elsewhere); open connections
//                and tunnels are still left to finish.
//
// One relaxed atomic byte per server plus, per upstream, the number of servers not enabled: the
// data path pays one relaxed load per request when every server is enabled (the usual case).
// Writers (the admin thread) are serialised by a mutex; readers never lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/lb/strategy.h"

namespace proxy::upstream {

enum class AdminState : uint8_t { Enabled = 0, Drain = 1, Disabled = 2 };

inline const char* adminStateName(AdminState s) {
  switch (s) {
    case AdminState::Enabled: return "enabled";
    case AdminState::Drain: return "drain";
    case AdminState::Disabled: return "disabled";
  }
  return "enabled";
}

class ServerAdminStates {
 public:
  explicit ServerAdminStates(const config::Config& cfg) : not_enabled_(cfg.upstreams.size()) {
    for (const auto& u : cfg.upstreams) {
      states_.push_back(std::make_unique<std::atomic<uint8_t>[]>(u.servers.size()));
      sizes_.push_back(u.servers.size());
      for (size_t s = 0; s < u.servers.size(); ++s) states_.back()[s].store(0, std::memory_order_relaxed);
    }
    for (auto& n : not_enabled_) n.store(0, std::memory_order_relaxed);
  }

  AdminState get(size_t upstream, size_t server) const {
    return static_cast<AdminState>(states_[upstream][server].load(std::memory_order_relaxed));
  }
  bool acceptsNew(size_t upstream, size_t server) const { return get(upstream, server) == AdminState::Enabled; }
  bool acceptsPinned(size_t upstream, size_t server) const { return get(upstream, server) != AdminState::Disabled; }

  // Any thread (the admin API).
  void set(size_t upstream, size_t server, AdminState state) {
    std::lock_guard<std::mutex> lock(mutex_);
    AdminState old = get(upstream, server);
    if (old == state) return;
    states_[upstream][server].store(static_cast<uint8_t>(state), std::memory_order_relaxed);
    int delta = (state != AdminState::Enabled) - (old != AdminState::Enabled);
    not_enabled_[upstream].fetch_add(static_cast<uint32_t>(delta), std::memory_order_relaxed);
  }

  // Data path: adds every server of `upstream` that takes no new session to `mask`.
  void excludeNew(size_t upstream, lb::ServerMask& mask) const {
    if (not_enabled_[upstream].load(std::memory_order_relaxed) == 0) return;
    for (size_t s = 0; s < sizes_[upstream]; ++s)
      if (!acceptsNew(upstream, s)) mask.set(s);
  }

 private:
  std::vector<std::unique_ptr<std::atomic<uint8_t>[]>> states_;
  std::vector<size_t> sizes_;
  std::vector<std::atomic<uint32_t>> not_enabled_;
  std::mutex mutex_;
};

}  // namespace proxy::upstream
