// Per-client room delivery cursor; see room_cursor.h.
#include "backend/chat/room_cursor.h"

namespace backend::chat {

LiveAction onLive(RoomCursor& c, uint64_t seq) {
  if (c.recovering) return LiveAction::Hold;
  if (!c.known) {
    c.known = true;
    c.last = seq;
    return LiveAction::Deliver;
  }
  if (seq <= c.last) return LiveAction::Skip;
  if (seq == c.last + 1) {
    c.last = seq;
    return LiveAction::Deliver;
  }
  c.recovering = true;
  return LiveAction::HoldAndRead;
}

void hold(RoomCursor& c, HeldMessage m) {
  if (c.held.size() >= RoomCursor::kMaxHeld) c.held.erase(c.held.begin());
  c.held.push_back(std::move(m));
}

RecoveryPlan planRecovery(RoomCursor& c, uint64_t since, const std::vector<uint64_t>& historySeqs, uint64_t head,
                          bool truncated) {
  RecoveryPlan plan;
  if (!c.known) {
    c.known = true;
    plan.reset = since > head;
    c.last = plan.reset ? head : since;
  }
  for (size_t i = 0; i < historySeqs.size(); ++i) {
    uint64_t s = historySeqs[i];
    if (s <= c.last) continue;
    if (s > c.last + 1) plan.steps.push_back({RecoveryStep::Kind::Gap, 0, {}, c.last + 1, s - 1});
    plan.steps.push_back({RecoveryStep::Kind::History, i, {}, 0, 0});
    c.last = s;
  }
  if (truncated) {
    plan.readAgain = true;  // more history after the last entry; held messages wait
    return plan;
  }
  if (head > c.last) {  // the rest up to the head was trimmed away
    plan.steps.push_back({RecoveryStep::Kind::Gap, 0, {}, c.last + 1, head});
    c.last = head;
  }
  size_t used = 0;
  for (; used < c.held.size(); ++used) {
    uint64_t s = c.held[used].seq;
    if (s <= c.last) continue;
    if (s > c.last + 1) break;  // a hole after the head: read again (see the header)
    c.last = s;
    plan.steps.push_back({RecoveryStep::Kind::Held, 0, std::move(c.held[used]), 0, 0});
  }
  c.held.erase(c.held.begin(), c.held.begin() + static_cast<std::ptrdiff_t>(used));
  plan.readAgain = !c.held.empty() || c.last < c.mustReach;
  c.recovering = plan.readAgain;
  if (!plan.readAgain) c.mustReach = 0;
  return plan;
}

std::vector<HeldMessage> abandonRecovery(RoomCursor& c) {
  std::vector<HeldMessage> out;
  c.recovering = false;
  c.mustReach = 0;
  for (auto& m : c.held) {
    if (c.known && m.seq <= c.last) continue;
    c.known = true;
    c.last = m.seq;
    out.push_back(std::move(m));
  }
  c.held.clear();
  return out;
}

}  // namespace backend::chat
