// Worker: see worker.h.
#include "proxy/server/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/uv_util.h"
#include "proxy/health/health_hub.h"

namespace proxy::server {
namespace {

// A listening socket with SO_REUSEPORT, so every worker has its own accept queue (the kernel
// spreads connections across workers; no thundering herd, no shared lock).
int openReusePortSocket(const sockaddr_storage& addr, int& fd_out) {
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
    int e = -errno;
    ::close(fd);
    return e;
  }
  if (addr.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  socklen_t len = addr.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) < 0) {
    int e = -errno;
    ::close(fd);
    return e;
  }
  fd_out = fd;
  return 0;
}

}  // namespace

Worker::Worker(unsigned id, std::shared_ptr<const config::Config> cfg, std::atomic<uint64_t>& connections,
               health::HealthHub* health)
    : id_(id), config_(std::move(cfg)), read_buffer_(new char[LoopContext::kReadBufferSize]) {
  int rc = uv_loop_init(&loop_);
  if (rc < 0) {
    common::logError("loop_init_failed", {{"error", common::uvErr(rc)}});
    std::abort();  // start-up only: without a loop there is no worker
  }
  loop_.data = &ctx_;
  ctx_.loop = &loop_;
  ctx_.config = config_.get();
  ctx_.read_buffer = read_buffer_.get();
  ctx_.connections = &connections;
  ctx_.health = health;
  router_ = std::make_unique<route::Router>(*config_);
  for (const auto& u : config_->upstreams) upstreams_.push_back(std::make_unique<upstream::UpstreamRuntime>(ctx_, u));
  uv_async_init(&loop_, &stop_async_, &Worker::onStopAsyncCb);
  stop_async_.data = this;
  uv_timer_init(&loop_, &shutdown_timer_);
  shutdown_timer_.data = this;
  // health (issue #5): the hub wakes this async when the checker publishes new server states.
  rc = uv_async_init(&loop_, &health_async_, &Worker::onHealthAsyncCb);
  if (rc < 0) {
    common::logError("health_async_init_failed", {{"error", common::uvErr(rc)}});
    std::abort();  // start-up only
  }
  health_async_.data = this;
  if (health) {
    health->subscribe(&health_async_);
    health_subscribed_ = true;
  }
}

// health (issue #5): copy the newest snapshot of every upstream into this loop's runtimes. Picks
// then read a plain member; in-flight picks finished with the old snapshot before we got here.
void Worker::onHealthAsyncCb(uv_async_t* a) {
  auto* w = static_cast<Worker*>(a->data);
  if (!w->ctx_.health) return;
  for (size_t i = 0; i < w->upstreams_.size(); ++i) w->upstreams_[i]->setHealth(w->ctx_.health->load(i));
}

Worker::~Worker() {
  join();
  if (ctx_.health) ctx_.health->unsubscribe(&health_async_);  // health (issue #5); idempotent
  upstreams_.clear();
  uv_loop_close(&loop_);
}

bool Worker::bind(std::string& error) {
  for (const auto& lc : config_->listeners) {
    auto l = std::make_unique<Listener>();
    l->worker = this;
    l->cfg = &lc;
    int fd = -1;
    int rc = openReusePortSocket(lc.sockaddr, fd);
    if (rc == 0) {
      uv_tcp_init(&loop_, &l->tcp);
      l->tcp.data = l.get();
      rc = uv_tcp_open(&l->tcp, fd);
      if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->tcp), 4096, &Worker::onConnectionCb);
      listeners_.push_back(std::move(l));
    }
    if (rc < 0) {
      error = "cannot listen on " + lc.address + " (" + lc.name + "): " + uv_strerror(rc);
      return false;
    }
  }
  return true;
}

void Worker::start() {
  thread_ = std::thread([this] {
    uv_run(&loop_, UV_RUN_DEFAULT);
    // Close whatever remains (e.g. after a failed bind) so the loop can be closed.
    uv_walk(&loop_, [](uv_handle_t* h, void*) { common::closeHandle(h); }, nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
  });
}

void Worker::requestStop() { uv_async_send(&stop_async_); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::onConnectionCb(uv_stream_t* server, int status) {
  auto* l = static_cast<Listener*>(server->data);
  if (status < 0) {
    common::logWarn("accept_error", {{"listener", l->cfg->name}, {"error", common::uvErr(status)}});
    return;
  }
  auto* s = new Session(*l->worker);
  s->accept(server);
}

void Worker::removeSession(Session* s) {
  sessions_.remove(s);
  if (shutting_down_) finishIfDone();
}

void Worker::onStopAsyncCb(uv_async_t* a) { static_cast<Worker*>(a->data)->beginShutdown(); }

void Worker::beginShutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  ctx_.draining = true;
  for (auto& l : listeners_) common::closeHandle(&l->tcp);
  for (auto& u : upstreams_) u->closeIdle();
  sessions_.forEach([](Session* s) { s->drain(); });
  uv_timer_start(&shutdown_timer_, &Worker::onShutdownTimerCb, static_cast<uint64_t>(config_->timeouts.shutdown.count()), 0);
  finishIfDone();
}

void Worker::onShutdownTimerCb(uv_timer_t* t) {
  auto* w = static_cast<Worker*>(t->data);
  if (!w->sessions_.empty())
    common::logWarn("shutdown_timeout", {{"worker", w->id_}, {"closing_connections", w->sessions_.size()}});
  w->sessions_.forEach([](Session* s) { s->close(); });
  w->finishIfDone();
}

void Worker::finishIfDone() {
  if (!sessions_.empty()) return;
  for (auto& u : upstreams_) u->closeIdle();
  common::closeHandle(&stop_async_);
  common::closeHandle(&shutdown_timer_);
  if (health_subscribed_) {  // health (issue #5): no wake-ups for a closed handle
    ctx_.health->unsubscribe(&health_async_);
    health_subscribed_ = false;
  }
  common::closeHandle(&health_async_);
}

}  // namespace proxy::server
