// A worker: one thread, one libuv loop, its own SO_REUSEPORT listeners, upstream pools and
// sessions. Workers share nothing on the data path; the main thread talks to them only through
// uv_async (stop now, drain).
//
// Shutdown (SIGTERM/SIGINT): listeners close, idle client connections close, busy ones finish
// their exchange and close (responses carry Connection: close); after timeouts.shutdown whatever
// is left is closed. The loop then runs out of handles and the thread ends.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/intrusive_list.h"
#include "proxy/config/config.h"
#include "proxy/metrics/access_log.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/route/router.h"
#include "proxy/server/generation.h"
#include "proxy/loop/loop_context.h"
#include "proxy/server/session.h"
#include "proxy/upstream/upstream_runtime.h"

namespace proxy::tls {
class TlsContext;
}

namespace proxy::server {

class Worker {
 public:
  // `tls` has one entry per configured listener (null for plain ones), shared by all workers;
  // `series` holds the per-upstream and per-server metric cells (this worker writes slot `id`);
  // `hub` (may be null) brings the membership manager's snapshots.
  Worker(unsigned id, std::shared_ptr<const config::Config> cfg, std::atomic<uint64_t>& connections,
         metrics::SeriesRegistry& series, std::vector<std::shared_ptr<const tls::TlsContext>> tls = {},
         upstream::MembershipHub* hub = nullptr);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds this worker's listeners (SO_REUSEPORT). Returns false with a message on failure.
  bool bind(std::string& error);
  void start();          // runs the loop on a new thread
  void requestStop();    // thread-safe: begin graceful shutdown
  // Thread-safe: switch to `cfg` (already validated) at the worker's next loop turn.
  void requestReload(std::shared_ptr<const config::Config> cfg, std::vector<std::shared_ptr<const tls::TlsContext>> tls);
  void join();

  LoopContext& ctx() { return ctx_; }
  // The current generation, referenced until release(): for an exchange or a tunnel.
  Generation* acquire() {
    ++current_->refs;
    return current_;
  }
  void release(Generation* g);
  uint64_t generation() const { return current_->number; }
  void addSession(Session* s) { sessions_.pushBack(s); }

  // This worker's counters outside upstreams, read by the admin listener at scrape time.
  const metrics::WorkerMetrics& metrics() const { return *metrics_; }
  void removeSession(Session* s);

 private:
  struct Listener {
    uv_tcp_t tcp;
    Worker* worker;
    const config::ListenerConfig* cfg;
    std::shared_ptr<const tls::TlsContext> tls;  // null on plain listeners
    uint32_t index = 0;  // position in config.listeners, for metrics
  };
  static void onConnectionCb(uv_stream_t* server, int status);
  static void onStopAsyncCb(uv_async_t* a);
  static void onReloadAsyncCb(uv_async_t* a);
  static void onCollectTimerCb(uv_timer_t* t);
  bool bindListener(const config::ListenerConfig& lc, uint32_t index, std::shared_ptr<const tls::TlsContext> tls, std::string& error);
  void applyReload(std::shared_ptr<const config::Config> cfg, std::vector<std::shared_ptr<const tls::TlsContext>> tls);
  static bool sameForH2(const Listener& l, const config::ListenerConfig& next, const tls::TlsContext* next_tls);
  static void onShutdownTimerCb(uv_timer_t* t);
  static void onMembershipAsyncCb(uv_async_t* a);  // new membership snapshots published
  void applyMembership(Generation& g);
  void beginShutdown();
  void finishIfDone();

  unsigned id_;
  uv_loop_t loop_;
  LoopContext ctx_;
  loop::TurnEnd turn_end_;
  std::unique_ptr<char[]> read_buffer_;
  std::unique_ptr<char[]> tls_buffer_;
  std::vector<std::shared_ptr<const tls::TlsContext>> tls_;
  std::vector<std::unique_ptr<Generation>> generations_;  // current one last
  Generation* current_ = nullptr;
  std::unique_ptr<metrics::WorkerMetrics> metrics_;
  std::unique_ptr<metrics::AccessLog> access_log_;   // null when off
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Listener>> closed_listeners_;  // kept until the loop ends
  uv_async_t reload_async_;
  uv_timer_t collect_timer_;
  std::mutex reload_mutex_;
  std::shared_ptr<const config::Config> pending_config_;
  std::vector<std::shared_ptr<const tls::TlsContext>> pending_tls_;
  common::IntrusiveList<Session> sessions_;
  uv_async_t stop_async_;
  uv_timer_t shutdown_timer_;
  uv_async_t membership_async_;
  bool hub_subscribed_ = false;
  bool shutting_down_ = false;
  std::thread thread_;
};

}  // namespace proxy::server
