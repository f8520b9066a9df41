// The fleet bus: what one tether-chat instance shares with the others through Redis (room
// messages, typing, per-room history, presence, its own liveness). Runs on the instance's
// loop over two RedisLinks: "cmd" for commands and "sub" for the one SUBSCRIBE.
//
// Delivery contract (docs/fleet.md): publish() commits a room message in Redis (seq, history
// stream and PUBLISH in one script) and every instance, the sender's included, delivers it to
// its local members when it comes back on the subscription, so all members see one order.
// readHistory() answers "messages of room after seq N"; identical reads in flight share one
// Redis call (a reconnect storm after an instance dies asks the same question many times).
//
// Liveness: the instance key holds a random per-process epoch with a TTL (10 s), refreshed
// every 3 s; presence entries name their instance and epoch, and a presence read drops the
// entries whose instance key is gone or has another epoch (a restarted instance). So an
// instance killed without a goodbye vanishes from presence within the TTL.
//
// Redis down: publish() returns false at once (the caller delivers locally), reads answer
// ok=false, presence writes are skipped and redone when the link is back (Listener).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/bus/redis_link.h"

namespace backend::bus {

using json = nlohmann::json;

struct BusCounters {
  uint64_t published = 0;          // messages committed by this instance
  uint64_t duplicates = 0;         // sends recognised by their cid
  uint64_t publishFailures = 0;    // commits whose outcome is unknown (link lost, error)
  uint64_t received = 0;           // room messages received on the subscription
  uint64_t malformed = 0;          // payloads or history entries that did not parse
  uint64_t historyReads = 0;       // history reads sent to Redis
  uint64_t historyCoalesced = 0;   // history reads answered by a read already in flight
  uint64_t presenceReads = 0;
};

class FleetBus {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void onBusMessage(const std::string& room, uint64_t seq, std::shared_ptr<const json> msg) = 0;
    virtual void onBusTyping(const json& typing) = 0;
    // The command link is (again) up: re-register presence. The subscription is (again)
    // active: messages may have been missed while it was not, re-read history.
    virtual void onBusCommandsUp() = 0;
    virtual void onBusSubscribed() = 0;
  };

  struct Options {
    RedisTarget target;
    std::string serverId;
    size_t history = 1000;
    uint64_t livenessTtlMs = 10000;
    uint64_t livenessRefreshMs = 3000;
  };

  FleetBus(uv_loop_t* loop, Options options, Listener* listener = nullptr);
  void setListener(Listener* listener) { listener_ = listener; }
  bool start();
  // Says goodbye (liveness key, after whatever presence removals were queued before it),
  // then closes both links once Redis has answered (or the command timeout passed).
  void stop();
  bool up() const { return cmd_.up() && sub_.up() && subscribed_; }
  const RedisTarget& target() const { return options_.target; }
  uint64_t downSinceMs() const { return downSince_; }  // uv_now when it went down, 0 while up
  const std::string& epoch() const { return epoch_; }
  const BusCounters& counters() const { return counters_; }
  uint64_t linkFailures() const { return cmd_.failures() + sub_.failures(); }
  uint64_t linkConnects() const { return cmd_.connects() + sub_.connects(); }

  struct Commit {
    bool ok = false;  // false: unknown outcome (the caller may retry with the same cid)
    uint64_t seq = 0;
    bool duplicate = false;
    std::string id;  // the message id members received (the first send's, for a duplicate)
  };
  // Commits `messageJson` (no "seq" in it; its id is `messageId`) to `room`; `cid` may be
  // empty. Returns false without calling `done` when the bus is down.
  bool publish(const std::string& room, const std::string& messageJson, const std::string& messageId,
               const std::string& cid, std::function<void(const Commit&)> done);
  void publishTyping(const json& typing);  // best effort

  struct History {
    bool ok = false;
    uint64_t head = 0;
    bool truncated = false;
    std::vector<uint64_t> seqs;  // ascending
    std::vector<std::shared_ptr<const json>> messages;  // parallel to seqs
  };
  using HistoryFn = std::function<void(const History&)>;
  // Messages of `room` with seq > since (since < 0: only the head). `done` is always called,
  // never from inside this call.
  void readHistory(const std::string& room, int64_t since, HistoryFn done);
  size_t historyReadsInFlight() const { return reads_.size(); }

  void presenceJoin(const std::string& room, const std::string& socketId, const std::string& name);
  // Registers many members of one room in one command (after a reconnect).
  void presenceJoinAll(const std::string& room, const std::vector<std::pair<std::string, std::string>>& members);
  void presenceLeave(const std::string& room, const std::string& socketId);
  // Members across the fleet: [{id, name, server}]; ok=false when Redis is unreachable.
  void readPresence(const std::string& room, std::function<void(bool ok, json members)> done);

 private:
  void onCommandsUp();
  void noteState();
  void onSubscriptionReply(redisReply* r);
  void refreshLiveness();
  History parseHistory(redisReply* r);
  void finishRead(const std::string& key, const History& h);
  std::string presenceValue(const std::string& name) const;
  static void onRefreshCb(uv_timer_t* t);
  void defer(std::function<void()> fn);
  void runDeferred();
  static void onDeferCb(uv_timer_t* t);

  uv_loop_t* loop_;
  Options options_;
  Listener* listener_;
  std::string epoch_;
  RedisLink cmd_;
  RedisLink sub_;
  bool subscribed_ = false;
  uint64_t downSince_ = 0;
  uv_timer_t refresh_{};
  uv_timer_t defer_{};  // runs failed reads' callbacks on the next loop turn
  bool started_ = false;
  std::map<std::string, std::vector<HistoryFn>> reads_;  // "room\nsince" -> waiters
  std::vector<std::function<void()>> deferred_;
  size_t historyCount_;  // XRANGE COUNT per read
  std::string historyCountArg_;
  BusCounters counters_;
};

}  // namespace backend::bus
