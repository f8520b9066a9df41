// The per-(client, room) delivery rule (backend/chat/room_cursor.h): in order, none twice,
// holes repaired from history, and trimmed history reported as a gap.
#include <doctest/doctest.h>

#include "backend/chat/room_cursor.h"

using namespace backend::chat;

namespace {
HeldMessage msg(uint64_t seq) { return {seq, std::make_shared<const std::string>(std::to_string(seq))}; }

// What the client would see from a plan: seqs delivered (history and held) and gaps as -from.
std::vector<long long> seen(const RecoveryPlan& p, const std::vector<uint64_t>& history) {
  std::vector<long long> out;
  for (const auto& s : p.steps) {
    if (s.kind == RecoveryStep::Kind::History) out.push_back(static_cast<long long>(history[s.historyIndex]));
    if (s.kind == RecoveryStep::Kind::Held) out.push_back(static_cast<long long>(s.held.seq));
    if (s.kind == RecoveryStep::Kind::Gap) {
      for (uint64_t g = s.from; g <= s.to; ++g) out.push_back(-static_cast<long long>(g));
    }
  }
  return out;
}
}  // namespace

TEST_CASE("live: next seq delivered, copies skipped, a hole starts a read") {
  RoomCursor c;
  CHECK(onLive(c, 5) == LiveAction::Deliver);  // first seq seen: the cursor starts there
  CHECK(onLive(c, 6) == LiveAction::Deliver);
  CHECK(onLive(c, 6) == LiveAction::Skip);
  CHECK(onLive(c, 3) == LiveAction::Skip);
  CHECK(onLive(c, 9) == LiveAction::HoldAndRead);
  CHECK(c.recovering);
  CHECK(c.last == 6);
  hold(c, msg(9));
  CHECK(onLive(c, 10) == LiveAction::Hold);  // one read at a time
  hold(c, msg(10));
  std::vector<uint64_t> history = {7, 8, 9};
  auto plan = planRecovery(c, 6, history, 9, false);
  CHECK(seen(plan, history) == std::vector<long long>{7, 8, 9, 10});
  CHECK_FALSE(plan.readAgain);
  CHECK_FALSE(c.recovering);
  CHECK(c.last == 10);
  CHECK(onLive(c, 11) == LiveAction::Deliver);
}

TEST_CASE("recovery: the header's worked example") {
  RoomCursor c;
  c.known = true;
  c.last = 5;
  c.recovering = true;
  hold(c, msg(10));
  hold(c, msg(11));
  std::vector<uint64_t> history = {7, 8, 9, 10};
  auto plan = planRecovery(c, 5, history, 10, false);
  CHECK(seen(plan, history) == std::vector<long long>{-6, 7, 8, 9, 10, 11});
  CHECK(c.last == 11);
  CHECK(c.held.empty());
}

TEST_CASE("recovery: a fresh join with since replays, a plain join starts at the head") {
  RoomCursor replay;
  replay.recovering = true;
  std::vector<uint64_t> history = {3, 4};
  auto plan = planRecovery(replay, 2, history, 4, false);
  CHECK(seen(plan, history) == std::vector<long long>{3, 4});

  RoomCursor plain;
  plain.recovering = true;
  hold(plain, msg(8));  // committed after the head read, arrived before its answer
  plan = planRecovery(plain, 7, {}, 7, false);
  CHECK(seen(plan, {}) == std::vector<long long>{8});
  CHECK(plain.last == 8);
}

TEST_CASE("recovery: everything trimmed is one gap up to the head") {
  RoomCursor c;
  c.recovering = true;
  auto plan = planRecovery(c, 0, {}, 4, false);
  CHECK(seen(plan, {}) == std::vector<long long>{-1, -2, -3, -4});
  CHECK(c.last == 4);
}

TEST_CASE("recovery: a hole after the head reads again instead of declaring a gap") {
  RoomCursor c;
  c.recovering = true;
  hold(c, msg(13));
  std::vector<uint64_t> history = {11};
  auto plan = planRecovery(c, 10, history, 11, false);
  CHECK(seen(plan, history) == std::vector<long long>{11});
  CHECK(plan.readAgain);
  CHECK(c.recovering);
  CHECK(c.last == 11);
  history = {12, 13};
  plan = planRecovery(c, 11, history, 13, false);
  CHECK(seen(plan, history) == std::vector<long long>{12, 13});  // the held 13 is a copy
  CHECK_FALSE(plan.readAgain);
  CHECK(c.last == 13);
}

TEST_CASE("recovery: seqs seen before joining must be reached (coalesced reads)") {
  RoomCursor c;
  c.recovering = true;
  c.mustReach = 6;  // 6 arrived before this client joined, the shared read answered head 5
  auto plan = planRecovery(c, 5, {}, 5, false);
  CHECK(plan.readAgain);
  std::vector<uint64_t> history = {6};
  plan = planRecovery(c, 5, history, 6, false);
  CHECK(seen(plan, history) == std::vector<long long>{6});
  CHECK_FALSE(plan.readAgain);
}

TEST_CASE("recovery: a truncated read continues from where it got") {
  RoomCursor c;
  c.recovering = true;
  hold(c, msg(9));
  std::vector<uint64_t> history = {1, 2, 3};
  auto plan = planRecovery(c, 0, history, 9, true);
  CHECK(seen(plan, history) == std::vector<long long>{1, 2, 3});
  CHECK(plan.readAgain);
  CHECK(c.held.size() == 1);
}

TEST_CASE("recovery: since past the head means the room's history restarted") {
  RoomCursor c;
  c.recovering = true;
  auto plan = planRecovery(c, 50, {}, 2, false);
  CHECK(plan.reset);
  CHECK(c.last == 2);
  CHECK(onLive(c, 3) == LiveAction::Deliver);
}

TEST_CASE("abandoned recovery delivers what was held, in order, and stays repairable") {
  RoomCursor c;
  c.known = true;
  c.last = 4;
  c.recovering = true;
  hold(c, msg(4));
  hold(c, msg(7));
  auto out = abandonRecovery(c);
  REQUIRE(out.size() == 1);
  CHECK(out[0].seq == 7);
  CHECK_FALSE(c.recovering);
  CHECK(onLive(c, 9) == LiveAction::HoldAndRead);  // the next hole reads again
}

TEST_CASE("held messages are bounded") {
  RoomCursor c;
  c.recovering = true;
  for (uint64_t s = 1; s <= RoomCursor::kMaxHeld + 10; ++s) hold(c, msg(s));
  CHECK(c.held.size() == RoomCursor::kMaxHeld);
  CHECK(c.held.front().seq == 11);
}
