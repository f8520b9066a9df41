// What one client has seen of one room: the delivery rule that makes room messages arrive
// in sequence order, none twice, across reconnects to any instance. Pure, no I/O.
//
// Every room message from the fleet bus carries the room's sequence number (1, 2, 3, ...,
// assigned in Redis). A cursor remembers the last seq delivered to the client and:
//   - delivers seq == last + 1 and moves on; skips seq <= last (a replayed copy);
//   - on seq > last + 1 (the bus lost messages: a Redis outage, a late join) holds the
//     message and asks for a history read from `last`;
//   - while a history read is in flight, holds every live message.
// When the read answers, planRecovery() merges history and held messages into the steps to
// run, in order. Worked example: last = 5, history 7..10 (6 was trimmed), head 10, held
// [10, 11] -> gap 6..6, history 7, 8, 9, 10, held 11 (the held 10 is a copy); last = 11.
// A hole after the head (held [13] with head 11) is not declared lost: it came from a race
// between the read and the live stream, so the plan asks for another read instead.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace backend::chat {

struct HeldMessage {
  uint64_t seq;
  std::shared_ptr<const std::string> msg;  // the committed JSON text (fleet_bus.h)
};

struct RoomCursor {
  bool known = false;       // `last` is meaningful (false until a first seq or a read)
  uint64_t last = 0;        // highest seq delivered to the client
  bool recovering = false;  // a history read is in flight
  uint64_t mustReach = 0;   // a read is not done until last >= this (seqs seen before joining)
  std::vector<HeldMessage> held;
  static constexpr size_t kMaxHeld = 4096;  // beyond it the oldest go; a re-read fills them
};

enum class LiveAction : uint8_t { Deliver, Skip, Hold, HoldAndRead };

// Decides what to do with live message `seq`; on Deliver the cursor has advanced. On Hold and
// HoldAndRead the caller appends the message with hold(); on HoldAndRead it also starts a
// history read from cursor.last (the cursor is now recovering).
LiveAction onLive(RoomCursor& c, uint64_t seq);
void hold(RoomCursor& c, HeldMessage m);

struct RecoveryStep {
  enum class Kind : uint8_t { History, Held, Gap } kind;
  size_t historyIndex = 0;  // History: index into the read's entries
  HeldMessage held{};       // Held
  uint64_t from = 0, to = 0;  // Gap: inclusive range no longer in history
};

struct RecoveryPlan {
  std::vector<RecoveryStep> steps;
  bool readAgain = false;  // still recovering: read again from cursor.last
  bool reset = false;      // since was past the head: the room's history restarted (data loss,
                           // or a standalone room that emptied); the cursor starts at the head
};

// Merges a history read into the cursor. `since` is where the read started (entries have
// seq > since), `historySeqs` their seqs ascending, `head` the room's seq when the read ran,
// `truncated` true when the read hit its COUNT limit. A cursor that was not `known` starts at
// `since` (at `head` if since > head: plan.reset). Afterwards the cursor is live again unless
// plan.readAgain.
RecoveryPlan planRecovery(RoomCursor& c, uint64_t since, const std::vector<uint64_t>& historySeqs, uint64_t head,
                          bool truncated);

// A read that failed (Redis down): the cursor goes live with what it has; the next seq gap
// triggers a read again. Returns the held messages to deliver now, in order.
std::vector<HeldMessage> abandonRecovery(RoomCursor& c);

}  // namespace backend::chat
