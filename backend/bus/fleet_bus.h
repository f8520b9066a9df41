// The fleet bus: what one tether-chat instance shares with the others through Redis (room
// messages, typing, per-room history, presence, its own liveness). Runs on the instance's
// loop over two RedisLinks: "cmd" for commands and "sub" for the subscriptions.
//
// Delivery contract (docs/fleet.md): publish() commits a room message in Redis (seq, history
// stream and PUBLISH on the room's channel in one script) and every instance with members in
// the room, the sender's included, delivers it to them when it comes back on the subscription,
// so all members see one order. readHistory() answers "messages of room after seq N";
// identical reads in flight share one Redis call (a reconnect storm after an instance dies asks
// the same question many times).
//
// Room channels: watch(room) on a room's first local member, unwatch(room) after its last;
// SUBSCRIBE and UNSUBSCRIBE go out batched once per loop turn, so an instance receives only
// the traffic of its rooms. Until a watched room's subscription is confirmed, its history
// reads and its sends wait (a read that started earlier could miss a message published before
// the subscription took effect); on confirmation the reads go first, then the sends, then
// Listener::onBusRoomSubscribed. After a reconnect every watched room is subscribed again.
//
// Liveness: the instance key holds a random per-process epoch with a TTL (10 s), refreshed
// every 3 s; presence entries name their instance and epoch, and a presence read drops the
// entries whose instance key is gone or has another epoch (a restarted instance). So an
// instance killed without a goodbye vanishes from presence within the TTL.
//
// Redis down: sends wait in a bounded queue (send_queue.h: outageQueue messages, outageWaitMs)
// and are committed in order when the bus is back; past the bounds they are answered
// "unavailable" and delivered nowhere. Reads answer ok=false, presence writes are skipped and
// redone when the link is back (Listener).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/bus/redis_link.h"
#include "backend/bus/send_queue.h"

namespace backend::bus {

using json = nlohmann::json;

struct BusCounters {
  uint64_t published = 0;          // messages committed by this instance
  uint64_t duplicates = 0;         // sends recognised by their cid
  uint64_t publishFailures = 0;    // commits whose outcome is unknown (link lost, error)
  uint64_t received = 0;           // room messages received on the subscriptions
  uint64_t queued = 0;             // sends that waited in the queue (outage, first subscription)
  uint64_t unavailable = 0;        // sends refused or expired: not committed, delivered nowhere
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
    // `msg` is the message's JSON text as committed (checkMessageJson() holds: an object of this
    // room without seq), shared by everything that holds it (cursors, replays).
    virtual void onBusMessage(const std::string& room, uint64_t seq, std::shared_ptr<const std::string> msg) = 0;
    virtual void onBusTyping(const json& typing) = 0;
    // The command link is (again) up: re-register presence. A watched room's subscription is
    // (again) confirmed: its messages may have been missed while it was not, re-read history.
    virtual void onBusCommandsUp() = 0;
    virtual void onBusRoomSubscribed(const std::string& room) = 0;
  };

  struct Options {
    RedisTarget target;
    std::string serverId;
    size_t history = 1000;
    uint64_t livenessTtlMs = 10000;
    uint64_t livenessRefreshMs = 3000;
    size_t outageQueue = 1000;     // sends waiting for the bus, at most
    uint64_t outageWaitMs = 10000;  // how long one may wait
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

  using Commit = bus::Commit;
  // Commits `messageJson` (no "seq" in it; its id is `messageId`) to `room`; `cid` may be
  // empty. `done` is called once, never from inside this call, unless it returns false: the
  // send did not fit in the queue (Redis unreachable), nothing was done.
  bool publish(const std::string& room, const std::string& messageJson, const std::string& messageId,
               const std::string& cid, CommitFn done);
  void publishTyping(const std::string& room, const json& typing);  // best effort

  struct History {
    bool ok = false;
    uint64_t head = 0;
    bool truncated = false;
    std::vector<uint64_t> seqs;  // ascending
    std::vector<std::shared_ptr<const std::string>> messages;  // JSON text, parallel to seqs
  };
  using HistoryFn = std::function<void(const History&)>;
  // Messages of `room` with seq > since (since < 0: only the head). `done` is always called,
  // never from inside this call.
  void readHistory(const std::string& room, int64_t since, HistoryFn done);
  size_t historyReadsInFlight() const { return reads_.size(); }
  size_t queuedSends() const { return queue_.size(); }

  // Interest in a room's channel (idempotent): subscribed while watched.
  void watch(const std::string& room);
  void unwatch(const std::string& room);
  size_t roomsSubscribed() const { return roomsConfirmed_; }

  void presenceJoin(const std::string& room, const std::string& socketId, const std::string& name);
  // Registers many members of one room in one command (after a reconnect).
  void presenceJoinAll(const std::string& room, const std::vector<std::pair<std::string, std::string>>& members);
  void presenceLeave(const std::string& room, const std::string& socketId);
  // Members across the fleet: [{id, name, server}]; ok=false when Redis is unreachable.
  void readPresence(const std::string& room, std::function<void(bool ok, json members)> done);

 private:
  struct RoomChannel {
    bool wanted = false;     // local members: watch() without unwatch() since
    bool onServer = false;   // SUBSCRIBE sent, no UNSUBSCRIBE since
    bool confirmed = false;  // onServer and its confirmation came
    bool leaving = false;    // UNSUBSCRIBE sent, its confirmation not yet in
    std::vector<std::string> parkedReads;  // reads_ keys waiting for the confirmation
  };
  void onCommandsUp();
  void onSubscriptionUp();
  void onSubscriptionDown();
  void noteState();
  void onSubscriptionReply(redisReply* r);
  void onRoomConfirmed(const std::string& room, RoomChannel& rc);
  void onRoomMessage(const std::string& room, std::string_view payload);
  void markDirty(const std::string& room);
  void flushSubscriptions();
  void releaseParked(RoomChannel& rc);
  void sendRead(const std::string& key);
  bool roomReady(const std::string& room) const;
  std::string queueCid();  // a cid for a queued send without one ("q.<epoch>.<n>")
  void commit(QueuedSend s, bool fromQueue);
  void drainQueue();
  void armExpiry();
  void expireQueued();
  void refreshLiveness();
  History parseHistory(redisReply* r);
  void finishRead(const std::string& key, const History& h);
  std::string presenceValue(const std::string& name) const;
  static void onRefreshCb(uv_timer_t* t);
  void defer(std::function<void()> fn);
  void runDeferred();
  static void onDeferCb(uv_timer_t* t);
  static void onFlushCb(uv_timer_t* t);
  static void onExpiryCb(uv_timer_t* t);

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
  uv_timer_t flush_{};  // sends the turn's SUBSCRIBE / UNSUBSCRIBE
  uv_timer_t expiry_{};  // the queue's oldest send reaching outageWaitMs
  bool started_ = false;
  std::map<std::string, std::vector<HistoryFn>> reads_;  // "room\nsince" -> waiters
  std::unordered_map<std::string, RoomChannel> rooms_;
  std::vector<std::string> dirty_;  // rooms whose subscription may need a command
  bool flushArmed_ = false;
  size_t roomsConfirmed_ = 0;
  SendQueue queue_;
  uint64_t queueCids_ = 0;  // cids made for queued sends without one
  std::vector<std::function<void()>> deferred_;
  size_t historyCount_;  // XRANGE COUNT per read
  std::string historyCountArg_;
  BusCounters counters_;
};

}  // namespace backend::bus
