// Which servers each upstream has and what state each is in: the process-wide owner of every
// piece of per-server state, keyed by server identity, never by position.
//
// One MembershipManager per process runs on the main loop, next to the signal handlers and the
// admin listener. A server's identity is (upstream name, server name); the name defaults to the
// address. For each identity it keeps:
//   - the health verdict: a threshold engine (health/health_state.h) fed by this manager's own
//     active probes (health/probe.h) and by passive failures that workers report through the hub;
//   - the operator's admin state (enabled, drain, disabled) from `state:` and the admin API;
//   - slow-start ramping and the probe counters shown by /metrics and /status.
//
// apply(config) adopts a configuration (at start and on every reload): a server whose identity
// stays keeps all of that (verdict, admin state, counters), even if the servers were reordered;
// a new one starts per `health_check.initial` and `state:`; a removed one is forgotten and its
// probes stop. A changed `health_check` takes effect (probes restart with the new settings), and
// a changed `state:` in the file overrides what the admin API had set.
//
// Whenever anything a pick depends on changes, the manager builds one immutable lb::Membership
// per upstream, aligned with the configuration's server order, and publishes them through the
// hub; workers swap them in. The operator view (metrics, /status, the status page) reads the same
// snapshots, so it reports exactly what the picker does.
//
// Probes are spread: the first probe of each server starts at a random point of the first
// interval and every later one is scheduled interval ±10% after the previous start. A probe still
// running when the next is due makes the next one wait for it.
#pragma once

#include <uv.h>

#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/lb/membership.h"
#include "proxy/upstream/membership_hub.h"

namespace proxy::upstream {

struct ServerView {
  bool healthy = true;
  lb::AdminState admin = lb::AdminState::Enabled;
  uint64_t checks_ok = 0;
  uint64_t checks_failed = 0;
};

class MembershipManager {
 public:
  MembershipManager(uv_loop_t* loop, MembershipHub& hub);
  ~MembershipManager();
  MembershipManager(const MembershipManager&) = delete;
  MembershipManager& operator=(const MembershipManager&) = delete;

  // Adopts `cfg` (start-up or reload; see above) and publishes its snapshots. Main loop only.
  void apply(std::shared_ptr<const config::Config> cfg);
  // Starts probes, the tick and the passive-failure consumer. Returns 0 or a libuv error.
  int start();
  // Closes every handle (probes in flight are abandoned); the loop then runs out of work.
  void stop();

  // The operator view, aligned with the current configuration. Main loop only.
  const config::Config& config() const { return *cfg_; }
  std::shared_ptr<const config::Config> configPtr() const { return cfg_; }
  lb::MembershipPtr membership(size_t upstream) const { return upstream < published_.size() ? published_[upstream] : nullptr; }
  ServerView server(size_t upstream, size_t server) const;
  // The admin API: sets a server's admin state; `previous` gets the old one.
  void setAdmin(size_t upstream, size_t server, lb::AdminState state, lb::AdminState& previous);

 private:
  struct Record;

  static void onProbeTimerCb(uv_timer_t* t);
  static void onProbeDone(void* owner, bool ok, const std::string& detail);
  static void onTickCb(uv_timer_t* t);
  static void onFailuresCb(uv_async_t* a);
  void schedule(Record& r, bool first);
  void startProbe(Record& r);
  void stopProbing(Record& r);
  void transition(Record& r, bool changed, bool up, const std::string& reason);
  void publish();
  void logChecks() const;  // one line per upstream with active checks
  Record* find(const std::string& upstream, const std::string& server);

  uv_loop_t* loop_;
  MembershipHub& hub_;
  std::shared_ptr<const config::Config> cfg_;
  std::unordered_map<std::string, std::unique_ptr<Record>> records_;  // by identity
  std::vector<std::vector<Record*>> layout_;                          // the configuration's order
  std::vector<lb::MembershipPtr> published_;
  std::vector<uint8_t> all_down_;  // per upstream, as last logged
  uv_timer_t tick_;
  uv_async_t failures_;
  std::minstd_rand rng_;
  uint64_t version_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace proxy::upstream
