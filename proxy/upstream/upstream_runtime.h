// One upstream as one worker loop sees it: its servers, the membership snapshot and selector
// picks use, the worker's pick state, the keep-alive pool of idle connections, and this worker's
// metric cells for the upstream and each server.
//
// The membership snapshot and the selector are immutable shared objects (lb/membership.h,
// lb/strategy.h) swapped in when the membership manager publishes; everything else belongs to
// one loop and is touched without locks. Idle connections are kept most-recently-used first, up to
// `keepalive` per upstream; the oldest is closed beyond that. `active` counts connections attached
// to a downstream exchange or tunnel, per server — what least_conn and bounded loads read.
//
// With `tls:`, the runtime also keeps per server the TLS session of the last connection that got
// one, so the next new connection resumes it instead of a full handshake.
//
// Server indices are positions in this runtime's configuration. Everything that must outlive a
// configuration (health, admin state, sid pins, metric series) is keyed by server identity
// elsewhere and resolved to these indices when the runtime is built.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <vector>

#include "common/intrusive_list.h"
#include "proxy/config/config.h"
#include "proxy/lb/affinity/policy.h"
#include "proxy/lb/membership.h"
#include "proxy/lb/pick.h"
#include "proxy/lb/strategy.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/loop/loop_context.h"
#include "proxy/upstream/upstream_conn.h"

namespace proxy::upstream {

class UpstreamRuntime {
 public:
  // `index`: this upstream's position in its config's upstreams.
  UpstreamRuntime(loop::LoopContext& ctx, const config::UpstreamConfig& cfg, uint32_t index);
  ~UpstreamRuntime();
  UpstreamRuntime(const UpstreamRuntime&) = delete;
  UpstreamRuntime& operator=(const UpstreamRuntime&) = delete;

  const config::UpstreamConfig& config() const { return cfg_; }
  size_t serverCount() const { return cfg_.servers.size(); }

  // Chooses a server for one attempt of a request (lb/pick.h): pins, tried set, membership,
  // strategy. Choice::server is -1 when none is eligible.
  lb::Choice choose(const lb::AffinityRequest* affinity, const lb::ServerMask& tried);
  // Whether every server is unhealthy (the upstream answers 503).
  bool allDown() const { return membership_ && membership_->all_down; }

  // An idle connection to `server`, or nullptr. The caller attaches it and counts it active.
  UpstreamConn* takeIdle(uint32_t server);
  // A new connection to `server`, connecting; nullptr if it could not start.
  UpstreamConn* connectNew(uint32_t server, UpstreamOwner* owner);
  // The exchange on `conn` is over: keep it idle if it is reusable, else close it.
  void release(UpstreamConn* conn, bool reusable);
  // Called by a connection that closed itself (idle EOF, timeout) or was closed while busy.
  void forgetIdle(UpstreamConn* conn);
  void closeIdle();

  // TLS upstreams: the session a new connection to `server` resumes (nullptr: none yet; the
  // runtime keeps its reference), and a newer one to keep instead (takes the reference).
  SSL_SESSION* tlsSession(uint32_t server) const { return server < tls_sessions_.size() ? tls_sessions_[server] : nullptr; }
  void keepTlsSession(uint32_t server, SSL_SESSION* session);

  void addActive(uint32_t server) { ++active_[server]; }
  void removeActive(uint32_t server) {
    if (active_[server] > 0) --active_[server];
  }
  const std::vector<uint32_t>& active() const { return active_; }

  // Key extraction and the affinity layers in front of the strategy, built with the selector.
  const lb::AffinityPolicy& affinity() const { return *affinity_; }

  // A snapshot published by the membership manager. Ignored unless it was built for this
  // runtime's configuration; with slow_start ramping it also rebuilds the selector.
  void setMembership(lb::MembershipPtr m);
  const lb::Membership* membership() const { return membership_.get(); }
  // Real traffic to `server` failed (`what`: a static string): feeds passive detection.
  void noteFailure(uint32_t server, const char* what);

  // This worker's metric cells (worker_metrics.h): the upstream's, a server's, and "none".
  metrics::UpstreamMetrics& metrics() { return *metrics_; }
  metrics::ServerMetrics& serverMetrics(uint32_t server) { return *server_metrics_[server]; }
  metrics::ServerMetrics& noneMetrics() { return *none_metrics_; }

 private:
  void buildSelector();

  loop::LoopContext& ctx_;
  const config::UpstreamConfig& cfg_;
  lb::SelectorPtr selector_;
  std::unique_ptr<lb::AffinityPolicy> affinity_;
  lb::MembershipPtr membership_;
  lb::PickState pick_state_;
  lb::ServerMask scratch_;  // the tried set merged with servers closed to new sessions
  std::vector<uint32_t> active_;
  std::vector<common::IntrusiveList<UpstreamConn>> idle_;  // per server, MRU at front
  size_t idle_count_ = 0;
  std::vector<SSL_SESSION*> tls_sessions_;  // per server (TLS upstreams only; owned references)
  [[maybe_unused]] uint32_t index_ = 0;
  std::vector<uint8_t> weight_step_;  // slow_start steps the selector was built with (empty: none)
  // Metric series, kept alive while this runtime (and its generation) lives.
  std::shared_ptr<metrics::UpstreamSeries> upstream_series_;
  std::vector<std::shared_ptr<metrics::ServerSeries>> server_series_;
  std::shared_ptr<metrics::ServerSeries> none_series_;
  metrics::UpstreamMetrics* metrics_ = nullptr;
  std::vector<metrics::ServerMetrics*> server_metrics_;
  metrics::ServerMetrics* none_metrics_ = nullptr;
};

}  // namespace proxy::upstream
