// Worker: see worker.h.
#include "proxy/server/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/uv_util.h"
#include "proxy/upstream/membership_hub.h"
#include "proxy/tls/tls_context.h"

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
               metrics::SeriesRegistry& series, std::vector<std::shared_ptr<const tls::TlsContext>> tls,
               upstream::MembershipHub* hub)
    : id_(id), read_buffer_(new char[LoopContext::kReadBufferSize]), tls_(std::move(tls)) {
  int rc = uv_loop_init(&loop_);
  if (rc < 0) {
    common::logError("loop_init_failed", {{"error", common::uvErr(rc)}});
    std::abort();  // start-up only: without a loop there is no worker
  }
  loop_.data = &ctx_;
  ctx_.loop = &loop_;
  ctx_.read_buffer = read_buffer_.get();
  ctx_.connections = &connections;
  ctx_.hub = hub;
  ctx_.worker_id = id;
  ctx_.series = &series;
  metrics_ = std::make_unique<metrics::WorkerMetrics>(*cfg);
  ctx_.metrics = metrics_.get();
  generations_.push_back(std::make_unique<Generation>(ctx_, std::move(cfg), 1));
  current_ = generations_.back().get();
  ctx_.config = current_->config.get();
  uv_async_init(&loop_, &stop_async_, &Worker::onStopAsyncCb);
  stop_async_.data = this;
  uv_async_init(&loop_, &reload_async_, &Worker::onReloadAsyncCb);
  reload_async_.data = this;
  uv_timer_init(&loop_, &shutdown_timer_);
  shutdown_timer_.data = this;
  uv_timer_init(&loop_, &collect_timer_);
  collect_timer_.data = this;
  rc = turn_end_.init(&loop_);
  if (rc < 0) {
    common::logError("turn_end_init_failed", {{"error", common::uvErr(rc)}});
    std::abort();  // start-up only
  }
  ctx_.turn_end = &turn_end_;
  // The hub wakes this async when the membership manager publishes new snapshots.
  rc = uv_async_init(&loop_, &membership_async_, &Worker::onMembershipAsyncCb);
  if (rc < 0) {
    common::logError("membership_async_init_failed", {{"error", common::uvErr(rc)}});
    std::abort();  // start-up only
  }
  membership_async_.data = this;
  if (hub) {
    hub->subscribe(&membership_async_);
    hub_subscribed_ = true;
  }
}

// Copies the newest snapshot of every upstream into the current generation's runtimes. Picks
// then read a plain member; in-flight picks finished with the old snapshot before we got here.
// Snapshots are built for the manager's current configuration, which is this worker's current
// one (or about to be: a runtime ignores a snapshot built for another configuration). Retired
// generations keep their last snapshot while their requests finish.
void Worker::onMembershipAsyncCb(uv_async_t* a) {
  auto* w = static_cast<Worker*>(a->data);
  w->applyMembership(*w->current_);
}

void Worker::applyMembership(Generation& g) {
  if (!ctx_.hub) return;
  for (size_t i = 0; i < g.upstreams.size(); ++i) g.upstreams[i]->setMembership(ctx_.hub->load(i));
}

Worker::~Worker() {
  join();
  if (ctx_.hub) ctx_.hub->unsubscribe(&membership_async_);  // idempotent
  generations_.clear();
  uv_loop_close(&loop_);
}

bool Worker::bindListener(const config::ListenerConfig& lc, uint32_t index, std::shared_ptr<const tls::TlsContext> tls, std::string& error) {
  if (tls && !tls_buffer_) {
    tls_buffer_.reset(new char[LoopContext::kReadBufferSize]);
    ctx_.tls_buffer = tls_buffer_.get();
  }
  auto l = std::make_unique<Listener>();
  l->worker = this;
  l->cfg = &lc;
  l->tls = std::move(tls);
  l->index = index;
  int fd = -1;
  int rc = openReusePortSocket(lc.sockaddr, fd);
  if (rc == 0) {
    uv_tcp_init(&loop_, &l->tcp);
    l->tcp.data = l.get();
    rc = uv_tcp_open(&l->tcp, fd);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->tcp), 4096, &Worker::onConnectionCb);
    if (rc < 0) {
      common::closeHandle(&l->tcp);
      closed_listeners_.push_back(std::move(l));
    } else {
      listeners_.push_back(std::move(l));
    }
  }
  if (rc < 0) {
    error = "cannot listen on " + lc.address + " (" + lc.name + "): " + uv_strerror(rc);
    return false;
  }
  return true;
}

bool Worker::bind(std::string& error) {
  const config::Config& cfg = *current_->config;
  if (cfg.access_log.enabled && !access_log_) {  // opened once; a reload keeps it
    access_log_ = std::make_unique<metrics::AccessLog>(&loop_, cfg.access_log, metrics_->access_log_dropped);
    if (!access_log_->open(error)) return false;
    ctx_.access_log = access_log_.get();
  }
  const auto& listeners = cfg.listeners;
  for (size_t i = 0; i < listeners.size(); ++i)
    if (!bindListener(listeners[i], static_cast<uint32_t>(i), i < tls_.size() ? tls_[i] : nullptr, error)) return false;
  return true;
}

void Worker::requestReload(std::shared_ptr<const config::Config> cfg, std::vector<std::shared_ptr<const tls::TlsContext>> tls) {
  {
    std::lock_guard<std::mutex> lock(reload_mutex_);
    pending_config_ = std::move(cfg);
    pending_tls_ = std::move(tls);
  }
  uv_async_send(&reload_async_);
}

void Worker::onReloadAsyncCb(uv_async_t* a) {
  auto* w = static_cast<Worker*>(a->data);
  std::shared_ptr<const config::Config> cfg;
  std::vector<std::shared_ptr<const tls::TlsContext>> tls;
  {
    std::lock_guard<std::mutex> lock(w->reload_mutex_);
    cfg = std::move(w->pending_config_);
    tls = std::move(w->pending_tls_);
  }
  if (cfg && !w->shutting_down_) w->applyReload(std::move(cfg), std::move(tls));
}

// Makes `cfg` current: new exchanges use it at once, running ones finish on theirs. Listeners
// are matched by address: kept ones switch to the new settings (TLS certificates included),
// new ones are bound, removed ones are closed (their established connections live on). The h2
// connections of removed listeners, and of kept ones whose http2 settings or certificates changed,
// get GOAWAY and close once their streams are done (sameForH2).
void Worker::applyReload(std::shared_ptr<const config::Config> cfg, std::vector<std::shared_ptr<const tls::TlsContext>> tls) {
  Generation* old = current_;
  generations_.push_back(std::make_unique<Generation>(ctx_, std::move(cfg), old->number + 1));
  current_ = generations_.back().get();
  ctx_.config = current_->config.get();
  old->retired = true;
  for (auto& u : old->upstreams) u->closeIdle();  // its pooled connections are not reused
  tls_ = std::move(tls);

  std::vector<std::unique_ptr<Listener>> kept;
  std::vector<const Listener*> changed;  // their h2 connections get GOAWAY
  const auto& wanted = current_->config->listeners;
  std::vector<bool> bound(wanted.size(), false);
  for (auto& l : listeners_) {
    size_t i = 0;
    while (i < wanted.size() && (bound[i] || wanted[i].address != l->cfg->address)) ++i;
    if (i < wanted.size()) {
      bound[i] = true;
      if (!sameForH2(*l, wanted[i], i < tls_.size() ? tls_[i].get() : nullptr)) changed.push_back(l.get());
      l->cfg = &wanted[i];
      l->index = static_cast<uint32_t>(i);
      l->tls = i < tls_.size() ? tls_[i] : nullptr;
      kept.push_back(std::move(l));
    } else {
      common::logInfo("listener_removed", {{"worker", id_}, {"address", l->cfg->address}});
      changed.push_back(l.get());
      common::closeHandle(&l->tcp);
      closed_listeners_.push_back(std::move(l));
    }
  }
  listeners_ = std::move(kept);
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (bound[i]) continue;
    std::string error;
    if (bindListener(wanted[i], static_cast<uint32_t>(i), i < tls_.size() ? tls_[i] : nullptr, error))
      common::logInfo("listener_added", {{"worker", id_}, {"address", wanted[i].address}});
    else
      common::logError("listener_add_failed", {{"worker", id_}, {"error", error}});
  }
  // h2 connections of removed or changed listeners: GOAWAY, their streams finish, then they
  // close (clients reconnect to the new settings). The others carry on, as keep-alive does.
  if (!changed.empty())
    sessions_.forEach([&changed](Session* s) {
      if (std::find(changed.begin(), changed.end(), s->listenerKey()) != changed.end()) s->listenerChanged();
    });
  if (old->refs == 0) uv_timer_start(&collect_timer_, &Worker::onCollectTimerCb, 0, 0);
}

// Whether the h2 connections of listener `l` (still on its old settings) may stay open under
// `next`: same http2 settings, same TLS (on or off, same certificates).
bool Worker::sameForH2(const Listener& l, const config::ListenerConfig& next, const tls::TlsContext* next_tls) {
  if (!(l.cfg->http2 == next.http2) || l.cfg->tls_enabled != next.tls_enabled) return false;
  if (!l.tls || !next_tls) return !l.tls && !next_tls;
  return l.tls->identity() == next_tls->identity();
}

void Worker::release(Generation* g) {
  if (--g->refs == 0 && g->retired) uv_timer_start(&collect_timer_, &Worker::onCollectTimerCb, 0, 0);
}

// Frees retired generations nobody uses, from a fresh loop turn (never from inside a callback of
// one of their connections).
void Worker::onCollectTimerCb(uv_timer_t* t) {
  auto* w = static_cast<Worker*>(t->data);
  auto& gens = w->generations_;
  for (size_t i = 0; i < gens.size();) {
    if (gens[i]->retired && gens[i]->refs == 0) gens.erase(gens.begin() + static_cast<long>(i));
    else ++i;
  }
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
  s->setListener(l->index, l);
  s->accept(server, *l->cfg, l->tls);
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
  for (auto& g : generations_)
    for (auto& u : g->upstreams) u->closeIdle();
  sessions_.forEach([](Session* s) { s->drain(); });
  uv_timer_start(&shutdown_timer_, &Worker::onShutdownTimerCb, static_cast<uint64_t>(ctx_.config->timeouts.shutdown.count()), 0);
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
  for (auto& g : generations_)
    for (auto& u : g->upstreams) u->closeIdle();
  common::closeHandle(&stop_async_);
  common::closeHandle(&reload_async_);
  common::closeHandle(&shutdown_timer_);
  common::closeHandle(&collect_timer_);
  turn_end_.close();
  if (hub_subscribed_) {  // no wake-ups for a closed handle
    ctx_.hub->unsubscribe(&membership_async_);
    hub_subscribed_ = false;
  }
  common::closeHandle(&membership_async_);
}

}  // namespace proxy::server
