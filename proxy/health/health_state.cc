// ServerHealth: see health_state.h.
#include "proxy/health/health_state.h"

#include <algorithm>

namespace proxy::health {

ServerHealth::ServerHealth(const HealthParams& p) : p_(p), active_up_(!p.active || p.initial_up) {
  p_.rise = std::max<uint32_t>(p_.rise, 1);
  p_.fall = std::max<uint32_t>(p_.fall, 1);
}

void ServerHealth::reconfigure(const HealthParams& p, uint64_t now_ms) {
  bool was_up = up();
  *this = ServerHealth(p);
  active_up_ = true;  // `initial` is for new servers only
  if (was_up) return;
  if (p_.active) {
    active_up_ = false;
  } else {
    passive_down_ = true;
    passive_until_ms_ = now_ms + p_.fail_timeout_ms;
  }
}

Transition ServerHealth::settle(bool was_up, std::string reason) {
  Transition t;
  t.up = up();
  t.changed = t.up != was_up;
  if (t.changed) t.reason = std::move(reason);
  return t;
}

Transition ServerHealth::onProbe(bool ok, uint64_t now_ms, const std::string& detail) {
  bool was_up = up();
  std::string reason;
  if (ok) {
    fails_in_row_ = 0;
    ++oks_in_row_;
    if (!active_up_ && oks_in_row_ >= p_.rise) {
      active_up_ = true;
      // A server proven healthy by `rise` probes is no longer held down by passive failures.
      passive_down_ = false;
      recent_fails_.clear();
      reason = std::to_string(oks_in_row_) + " consecutive successful checks (rise " + std::to_string(p_.rise) + ")";
    }
  } else {
    oks_in_row_ = 0;
    ++fails_in_row_;
    if (active_up_ && fails_in_row_ >= p_.fall) {
      active_up_ = false;
      reason = std::to_string(fails_in_row_) + " consecutive failed checks (fall " + std::to_string(p_.fall) + "), last: " + detail;
    }
  }
  (void)now_ms;
  return settle(was_up, std::move(reason));
}

Transition ServerHealth::onPassiveFailure(uint64_t now_ms, const std::string& what) {
  if (p_.max_fails == 0) return {false, up(), {}};
  bool was_up = up();
  // Keep only the failures inside the window, then add this one.
  uint64_t horizon = now_ms >= p_.fail_timeout_ms ? now_ms - p_.fail_timeout_ms : 0;
  recent_fails_.erase(recent_fails_.begin(),
                      std::find_if(recent_fails_.begin(), recent_fails_.end(), [&](uint64_t t) { return t > horizon; }));
  recent_fails_.push_back(now_ms);
  std::string reason;
  if (!passive_down_ && recent_fails_.size() >= p_.max_fails) {
    passive_down_ = true;
    passive_until_ms_ = now_ms + p_.fail_timeout_ms;
    recent_fails_.clear();
    if (p_.active) {  // come back through `rise` good probes, not on a timer
      active_up_ = false;
      oks_in_row_ = 0;
      passive_down_ = false;
    }
    reason = std::to_string(p_.max_fails) + " failures of live traffic within " + std::to_string(p_.fail_timeout_ms) +
             "ms (max_fails), last: " + what;
  }
  return settle(was_up, std::move(reason));
}

Transition ServerHealth::tick(uint64_t now_ms) {
  bool was_up = up();
  if (passive_down_ && now_ms >= passive_until_ms_) {
    passive_down_ = false;
    return settle(was_up, "fail_timeout " + std::to_string(p_.fail_timeout_ms) + "ms over: trying the server again");
  }
  return {false, was_up, {}};
}

}  // namespace proxy::health
