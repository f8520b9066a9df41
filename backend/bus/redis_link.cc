// A self-healing hiredis async connection on a libuv loop; see redis_link.h.
#include "backend/bus/redis_link.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <random>

#include "common/log.h"
#include "common/uv_util.h"

namespace backend::bus {
namespace {

constexpr uint64_t kBackoffFirstMs = 100;
constexpr uint64_t kBackoffMaxMs = 5000;
constexpr uint64_t kWatchdogEveryMs = 500;

uint64_t jittered(uint64_t d) {
  static std::mt19937_64 rng{std::random_device{}()};
  return d / 2 + rng() % (d / 2 + 1);
}

}  // namespace

bool replyIsError(const redisReply* r) { return !r || r->type == REDIS_REPLY_ERROR; }

std::string_view replyString(const redisReply* r) {
  if (!r) return {};
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR) {
    return {r->str, r->len};
  }
  return {};
}

RedisLink::RedisLink(uv_loop_t* loop, RedisTarget target, std::string name, Events events)
    : loop_(loop), target_(std::move(target)), name_(std::move(name)), events_(std::move(events)) {}

RedisLink::~RedisLink() {
  // Owners call stop() and let the loop run; this only frees a context left by an early exit.
  // The timers are not closed from here: their memory goes with this object.
  timersReady_ = false;
  if (ctx_) {
    state_ = State::Stopped;
    redisAsyncContext* ac = ctx_;
    ctx_ = nullptr;
    redisAsyncFree(ac);
  }
}

bool RedisLink::start() {
  int rc = uv_timer_init(loop_, &retry_);
  if (rc == 0) rc = uv_timer_init(loop_, &watchdog_);
  if (rc < 0) {
    common::logError("redis_timer_init_failed", {{"link", name_}, {"error", common::uvErr(rc)}});
    return false;
  }
  retry_.data = watchdog_.data = this;
  timersReady_ = true;
  rc = uv_timer_start(&watchdog_, onWatchdogCb, kWatchdogEveryMs, kWatchdogEveryMs);
  if (rc < 0) {
    common::logError("redis_timer_start_failed", {{"link", name_}, {"error", common::uvErr(rc)}});
    return false;
  }
  connect();
  return true;
}

void RedisLink::stop(bool graceful) {
  if (state_ == State::Stopped) return;
  bool connected = state_ == State::Up || state_ == State::Handshake;
  state_ = State::Stopped;
  if (ctx_ && graceful && connected) {
    // hiredis writes what is queued, waits for the replies, then calls onDisconnectCb, which
    // closes the timers; the watchdog still bounds the wait.
    if (timersReady_) uv_timer_stop(&retry_);
    redisAsyncDisconnect(ctx_);
    return;
  }
  if (ctx_) {
    redisAsyncContext* ac = ctx_;
    ctx_ = nullptr;
    redisAsyncFree(ac);  // pending callbacks get null replies
  }
  closeTimers();
}

void RedisLink::closeTimers() {
  if (!timersReady_) return;
  timersReady_ = false;
  common::closeHandle(&retry_);
  common::closeHandle(&watchdog_);
}

void RedisLink::connect() {
  if (state_ == State::Stopped) return;
  redisAsyncContext* ac = redisAsyncConnect(target_.host.c_str(), target_.port);
  if (!ac || ac->err) {
    common::logWarn("redis_connect_failed", {{"link", name_}, {"target", target_.display()},
                                             {"error", ac ? ac->errstr : "out of memory"}});
    if (ac) redisAsyncFree(ac);
    ++failures_;
    scheduleReconnect();
    return;
  }
  ac->data = this;
  if (redisLibuvAttach(ac, loop_) != REDIS_OK) {
    common::logError("redis_attach_failed", {{"link", name_}});
    redisAsyncFree(ac);
    ++failures_;
    scheduleReconnect();
    return;
  }
  redisAsyncSetConnectCallback(ac, onConnectCb);
  redisAsyncSetDisconnectCallback(ac, onDisconnectCb);
  ctx_ = ac;
  state_ = State::Connecting;
  sentAt_.clear();
  sentAt_.push_back(uv_now(loop_));  // the connect itself is watched like a command
}

void RedisLink::scheduleReconnect() {
  if (state_ == State::Stopped || !timersReady_) return;
  state_ = State::Idle;
  backoffMs_ = backoffMs_ == 0 ? kBackoffFirstMs : std::min(backoffMs_ * 2, kBackoffMaxMs);
  int rc = uv_timer_start(&retry_, onRetryTimerCb, jittered(backoffMs_), 0);
  if (rc < 0) common::logError("redis_timer_start_failed", {{"link", name_}, {"error", common::uvErr(rc)}});
}

void RedisLink::onRetryTimerCb(uv_timer_t* t) { static_cast<RedisLink*>(t->data)->connect(); }

void RedisLink::onWatchdogCb(uv_timer_t* t) {
  auto* self = static_cast<RedisLink*>(t->data);
  if (!self->ctx_ || self->sentAt_.empty()) return;
  if (uv_now(self->loop_) - self->sentAt_.front() > self->commandTimeoutMs) {
    self->drop(self->state_ == State::Connecting ? "connect timeout" : "command timeout");
  }
}

void RedisLink::reset(std::string_view why) {
  if (ctx_) drop(why);
}

void RedisLink::drop(std::string_view why) {
  if (!ctx_) return;
  common::logWarn("redis_link_reset", {{"link", name_}, {"reason", why}});
  redisAsyncContext* ac = ctx_;
  if (state_ == State::Connecting) {
    // Not connected yet: hiredis will not call the disconnect callback.
    ctx_ = nullptr;
    redisAsyncFree(ac);
    ++failures_;
    scheduleReconnect();
    return;
  }
  if (state_ != State::Stopped) state_ = State::Idle;  // not up, even while hiredis defers the free
  redisAsyncFree(ac);  // deferred by hiredis when inside one of its callbacks
}

void RedisLink::onConnectCb(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    common::logWarn("redis_connect_failed", {{"link", self->name_}, {"target", self->target_.display()},
                                             {"error", ac->errstr}});
    self->ctx_ = nullptr;
    ++self->failures_;
    self->scheduleReconnect();
    return;
  }
  self->state_ = State::Handshake;
  self->sentAt_.clear();
  // AUTH, SELECT, PING in order; the link is up when PING answers.
  auto step = [self](const char* what, bool last) {
    return new ReplyFn([self, what, last](redisReply* r) { self->onHandshakeReply(r, what, last); });
  };
  std::string db = std::to_string(self->target_.db);
  bool ok = true;
  if (!self->target_.password.empty()) ok = self->send({"AUTH", self->target_.password}, step("AUTH", false));
  if (ok && self->target_.db != 0) ok = self->send({"SELECT", db}, step("SELECT", false));
  if (ok) ok = self->send({"PING"}, step("PING", true));
  if (!ok) self->drop("handshake not sent");
}

void RedisLink::onHandshakeReply(redisReply* reply, const char* step, bool last) {
  if (!reply) return;  // connection went away; the disconnect callback follows
  if (replyIsError(reply)) {
    common::logError("redis_handshake_failed", {{"link", name_}, {"step", step}, {"error", replyString(reply)}});
    backoffMs_ = kBackoffMaxMs / 2;  // a wrong password does not fix itself quickly
    drop("handshake failed");
    return;
  }
  if (!last || state_ != State::Handshake) return;
  state_ = State::Up;
  wasUp_ = true;
  backoffMs_ = 0;
  ++connects_;
  common::logInfo("redis_up", {{"link", name_}, {"target", target_.display()}});
  if (events_.onUp) events_.onUp();
}

void RedisLink::onDisconnectCb(const redisAsyncContext* ac, int /*status*/) {
  auto* self = static_cast<RedisLink*>(ac->data);
  self->ctx_ = nullptr;
  self->sentAt_.clear();
  bool notify = self->wasUp_;
  self->wasUp_ = false;
  if (self->state_ == State::Stopped) {
    self->closeTimers();
    return;
  }
  ++self->failures_;
  common::logWarn("redis_down", {{"link", self->name_}, {"target", self->target_.display()},
                                 {"error", ac->err ? ac->errstr : "closed"}});
  self->scheduleReconnect();
  if (notify && self->events_.onDown) self->events_.onDown();
}

bool RedisLink::send(const std::vector<std::string_view>& argv, ReplyFn* heapCb) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (auto a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  if (!ctx_ || redisAsyncCommandArgv(ctx_, onReplyCb, heapCb, static_cast<int>(argv.size()), ptrs.data(),
                                     lens.data()) != REDIS_OK) {
    delete heapCb;
    return false;
  }
  sentAt_.push_back(uv_now(loop_));
  return true;
}

bool RedisLink::command(const std::vector<std::string_view>& argv, ReplyFn cb) {
  if (state_ != State::Up) return false;
  return send(argv, new ReplyFn(std::move(cb)));
}

void RedisLink::onReplyCb(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<RedisLink*>(ac->data);
  auto* fn = static_cast<ReplyFn*>(privdata);
  if (reply && !self->sentAt_.empty()) self->sentAt_.pop_front();
  (*fn)(static_cast<redisReply*>(reply));
  delete fn;
}

bool RedisLink::subscribe(const std::vector<std::string_view>& channels) { return subscription("SUBSCRIBE", channels); }

bool RedisLink::unsubscribe(const std::vector<std::string_view>& channels) {
  return subscription("UNSUBSCRIBE", channels);
}

bool RedisLink::subscription(std::string_view verb, const std::vector<std::string_view>& channels) {
  constexpr size_t kPerCommand = 1024;
  if (state_ != State::Up || !ctx_ || channels.empty()) return false;
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  for (size_t first = 0; first < channels.size(); first += kPerCommand) {
    size_t end = std::min(channels.size(), first + kPerCommand);
    ptrs.assign(1, verb.data());
    lens.assign(1, verb.size());
    for (size_t i = first; i < end; ++i) {
      ptrs.push_back(channels[i].data());
      lens.push_back(channels[i].size());
    }
    if (redisAsyncCommandArgv(ctx_, onSubscriptionCb, this, static_cast<int>(ptrs.size()), ptrs.data(), lens.data()) !=
        REDIS_OK) {
      return false;
    }
  }
  return true;
}

void RedisLink::onSubscriptionCb(redisAsyncContext* ac, void* reply, void* /*privdata*/) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self->subscription_) self->subscription_(static_cast<redisReply*>(reply));
}

}  // namespace backend::bus
