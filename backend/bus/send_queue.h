// Room messages that wait to be committed, in the order they were sent. Pure: no I/O, time is
// passed in.
//
// A send waits here while the bus cannot commit it (Redis unreachable, or the room's channel
// subscription on this instance not confirmed yet) and is committed when it can, in order, so
// its sender's ack carries the real seq and local members get it through the subscription like
// any other message. The queue is bounded in count (`capacity`) and in time (`maxWaitMs`): a
// send that does not fit is refused at once, one that waited too long is taken out by
// takeExpired(); both are answered "unavailable, retry" and delivered nowhere.
//
// Order: entries keep the number they were given at push(); putBack() re-inserts a commit whose
// outcome was lost with the link at its place, so a room's messages are committed in send order
// even across a retry. takeReady() takes, in order, the entries whose room the caller can commit
// now; entries of other rooms keep their places (a room's entries are all ready or none).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

namespace backend::bus {

struct Commit {
  bool ok = false;           // false: not committed, or outcome unknown (a retry with the cid is safe)
  bool unavailable = false;  // not committed: Redis unreachable past the queue's bounds
  uint64_t seq = 0;
  bool duplicate = false;
  std::string id;  // the message id members received (the first send's, for a duplicate)
};
using CommitFn = std::function<void(const Commit&)>;

struct QueuedSend {
  uint64_t order = 0;       // assigned by push()
  uint64_t queuedAtMs = 0;  // bounds the wait, kept across putBack()
  std::string room;
  std::string messageJson;
  std::string messageId;
  std::string cid;          // the client's, or one made for the queue: the commit is idempotent
  CommitFn done;
};

class SendQueue {
 public:
  SendQueue(size_t capacity, uint64_t maxWaitMs) : capacity_(capacity), maxWaitMs_(maxWaitMs) {}

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  bool full() const { return entries_.size() >= capacity_; }
  bool hasRoom(const std::string& room) const { return perRoom_.count(room) != 0; }
  uint64_t maxWaitMs() const { return maxWaitMs_; }

  // False (and `s` untouched) when full.
  bool push(QueuedSend& s, uint64_t nowMs);
  // Re-inserts an entry taken before (its order and time kept); may exceed capacity by the
  // entries that were in flight.
  void putBack(QueuedSend s);
  // Entries (in order) whose room `ready` accepts.
  std::vector<QueuedSend> takeReady(const std::function<bool(const std::string& room)>& ready);
  // Entries that have waited maxWaitMs or more at `nowMs`, oldest first.
  std::vector<QueuedSend> takeExpired(uint64_t nowMs);
  std::vector<QueuedSend> takeAll();
  // When the oldest entry expires (0 when empty).
  uint64_t nextExpiryMs() const;

 private:
  void count(const std::string& room, int delta);

  size_t capacity_;
  uint64_t maxWaitMs_;
  uint64_t nextOrder_ = 1;
  std::deque<QueuedSend> entries_;  // ascending order
  std::unordered_map<std::string, size_t> perRoom_;
};

}  // namespace backend::bus
