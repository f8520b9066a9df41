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
#include <thread>
#include <vector>

#include "common/intrusive_list.h"
#include "proxy/config/config.h"
#include "proxy/route/router.h"
#include "proxy/server/loop_context.h"
#include "proxy/server/session.h"
#include "proxy/upstream/upstream_runtime.h"

namespace proxy::server {

class Worker {
 public:
  // `health` (issue #5, may be null): the process-wide health hub this worker follows.
  Worker(unsigned id, std::shared_ptr<const config::Config> cfg, std::atomic<uint64_t>& connections,
         health::HealthHub* health = nullptr);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds this worker's listeners (SO_REUSEPORT). Returns false with a message on failure.
  bool bind(std::string& error);
  void start();          // runs the loop on a new thread
  void requestStop();    // thread-safe: begin graceful shutdown
  void join();

  LoopContext& ctx() { return ctx_; }
  const route::Router& router() const { return *router_; }
  upstream::UpstreamRuntime& upstream(size_t i) { return *upstreams_[i]; }
  void addSession(Session* s) { sessions_.pushBack(s); }
  void removeSession(Session* s);

 private:
  struct Listener {
    uv_tcp_t tcp;
    Worker* worker;
    const config::ListenerConfig* cfg;
  };
  static void onConnectionCb(uv_stream_t* server, int status);
  static void onStopAsyncCb(uv_async_t* a);
  static void onShutdownTimerCb(uv_timer_t* t);
  static void onHealthAsyncCb(uv_async_t* a);  // health (issue #5): new snapshots published
  void beginShutdown();
  void finishIfDone();

  unsigned id_;
  std::shared_ptr<const config::Config> config_;
  uv_loop_t loop_;
  LoopContext ctx_;
  std::unique_ptr<char[]> read_buffer_;
  std::unique_ptr<route::Router> router_;
  std::vector<std::unique_ptr<upstream::UpstreamRuntime>> upstreams_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  common::IntrusiveList<Session> sessions_;
  uv_async_t stop_async_;
  uv_timer_t shutdown_timer_;
  uv_async_t health_async_;        // health (issue #5)
  bool health_subscribed_ = false;
  bool shutting_down_ = false;
  std::thread thread_;
};

}  // namespace proxy::server
