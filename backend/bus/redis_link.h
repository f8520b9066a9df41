// One Redis connection that keeps itself connected: hiredis async with its libuv adapter, on
// the chat server's own loop (no threads, no blocking calls after start).
//
// Life cycle: start() connects; once connected it sends AUTH (if a password is set), SELECT
// (if db != 0) and PING, and only when all of them succeed is the link "up" (Events::onUp).
// Any failure (refused connect, reset, a bad password, a command unanswered for
// commandTimeoutMs) frees the connection: every pending callback runs with a null reply, then
// Events::onDown, then a reconnect after a jittered exponential backoff (100 ms doubling to
// 5 s, a random delay in [d/2, d] so a fleet does not reconnect in lockstep). stop() ends it
// for good (pending callbacks get null replies).
//
// Subscriptions: one handler (setSubscriptionHandler) gets every reply of every channel —
// each "subscribe" and "unsubscribe" confirmation and each "message". subscribe() and
// unsubscribe() take many channels in one command; channels must be subscribed again after
// every onUp, since a new connection has none. A link used for SUBSCRIBE is used for nothing
// else. Keep at least one channel subscribed while others come and go: hiredis 0.14 leaves
// subscribe mode when an unsubscribe reply counts zero channels, and a SUBSCRIBE reply that
// arrives after that is taken for a command's reply.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/bus/redis_url.h"

struct redisAsyncContext;
struct redisReply;

namespace backend::bus {

class RedisLink {
 public:
  // A null reply means the command's answer will never come (connection lost or stopped).
  using ReplyFn = std::function<void(redisReply* reply)>;
  struct Events {
    std::function<void()> onUp;
    std::function<void()> onDown;  // only after an onUp
  };

  RedisLink(uv_loop_t* loop, RedisTarget target, std::string name, Events events);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  bool start();  // false if the timers cannot be set up (logged)
  // Ends the link for good. Graceful: commands already sent are written and answered first
  // (bounded by commandTimeoutMs); otherwise pending callbacks get null replies at once.
  void stop(bool graceful = false);
  bool up() const { return state_ == State::Up; }
  // Drops the current connection (if any) and reconnects after the backoff.
  void reset(std::string_view why);

  // Sends a command (binary-safe arguments). Returns false, without calling `cb`, when the link
  // is not up or hiredis refused the command.
  bool command(const std::vector<std::string_view>& argv, ReplyFn cb);
  void setSubscriptionHandler(ReplyFn onReply) { subscription_ = std::move(onReply); }
  // SUBSCRIBE / UNSUBSCRIBE channels..., at most 1024 per command; false when the link is not
  // up or hiredis refused one of the commands.
  bool subscribe(const std::vector<std::string_view>& channels);
  bool unsubscribe(const std::vector<std::string_view>& channels);

  uint64_t connects() const { return connects_; }   // successful handshakes
  uint64_t failures() const { return failures_; }   // lost or failed connections
  uint64_t commandTimeoutMs = 3000;

 private:
  enum class State : uint8_t { Idle, Connecting, Handshake, Up, Stopped };
  void connect();
  void scheduleReconnect();
  void drop(std::string_view why);
  void closeTimers();
  void onHandshakeReply(redisReply* reply, const char* step, bool last);
  bool send(const std::vector<std::string_view>& argv, ReplyFn* heapCb);
  static void onConnectCb(const redisAsyncContext* ac, int status);
  static void onDisconnectCb(const redisAsyncContext* ac, int status);
  static void onReplyCb(redisAsyncContext* ac, void* reply, void* privdata);
  bool subscription(std::string_view verb, const std::vector<std::string_view>& channels);
  static void onSubscriptionCb(redisAsyncContext* ac, void* reply, void* privdata);
  static void onRetryTimerCb(uv_timer_t* t);
  static void onWatchdogCb(uv_timer_t* t);

  uv_loop_t* loop_;
  RedisTarget target_;
  std::string name_;
  Events events_;
  redisAsyncContext* ctx_ = nullptr;
  State state_ = State::Idle;
  bool wasUp_ = false;  // onDown owed when this connection goes
  uv_timer_t retry_{};
  uv_timer_t watchdog_{};
  bool timersReady_ = false;
  uint64_t backoffMs_ = 0;
  uint64_t connects_ = 0;
  uint64_t failures_ = 0;
  std::deque<uint64_t> sentAt_;  // uv_now of each unanswered plain command, oldest first
  ReplyFn subscription_;
};

// Reply helpers (null-safe).
bool replyIsError(const redisReply* r);
std::string_view replyString(const redisReply* r);  // STRING / STATUS / ERROR text, else ""

}  // namespace backend::bus
