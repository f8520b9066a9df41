// Room delivery, history replay and presence for the chat app; see room_feed.h.
#include "backend/chat/room_feed.h"

#include <algorithm>

#include "backend/chat/message_text.h"
#include "common/log.h"

namespace backend::chat {

using nlohmann::json;
using socketio::Socket;

RoomFeed::RoomFeed(socketio::Namespace& nsp, std::string serverId, bus::FleetBus* bus)
    : nsp_(nsp), serverId_(std::move(serverId)), bus_(bus) {}

RoomFeed::~RoomFeed() {
  for (auto& [sid, m] : members_) m.socket->appData = nullptr;
}

RoomFeed::Member* RoomFeed::member(const std::string& sid) {
  auto it = members_.find(sid);
  return it == members_.end() ? nullptr : &it->second;
}

void RoomFeed::attach(Socket& s) {
  auto [it, fresh] = members_.try_emplace(s.id(), Member{&s, {}});
  s.appData = &it->second;
}

void RoomFeed::detach(Socket& s) {
  auto it = members_.find(s.id());
  if (it == members_.end()) return;
  for (const auto& [room, cursor] : it->second.cursors) {
    if (bus_) bus_->presenceLeave(room, s.id());
    forgetRoomIfEmpty(room, 1);
  }
  s.appData = nullptr;
  members_.erase(it);
}

void RoomFeed::forgetRoomIfEmpty(const std::string& room, size_t leaving) {
  if (nsp_.roomSize(room) > leaving) return;
  roomSeen_.erase(room);
  localHead_.erase(room);
  if (bus_) bus_->unwatch(room);
}

void RoomFeed::join(Socket& s, const std::string& room, int64_t since, int64_t ackId) {
  Member* m = member(s.id());
  if (!m) return;
  bool already = s.rooms().count(room) != 0;
  if (!already) {
    s.join(room);
    if (bus_) {
      bus_->watch(room);  // the room's first local member subscribes this instance to it
      bus_->presenceJoin(room, s.id(), s.name);
    }
  }
  RoomCursor& c = m->cursors[room];
  if (already && (since < 0 || c.recovering)) {
    // Nothing to replay (or a replay is already under way): answer with what we know.
    json seq = c.known ? json(c.last) : json(nullptr);
    if (!bus_) seq = localHead_.count(room) ? localHead_[room] : 0;  // standalone cursors stay at the join
    s.ack(ackId, json::array({json{{"room", room}, {"members", nsp_.roomSize(room)}, {"seq", seq}}}));
    return;
  }
  c = RoomCursor{};
  c.recovering = true;
  auto seen = roomSeen_.find(room);
  c.mustReach = seen == roomSeen_.end() ? 0 : seen->second;
  startRead(Read{s.id(), room, since, ackId, 0});
}

void RoomFeed::leave(Socket& s, const std::string& room) {
  Member* m = member(s.id());
  if (!m || !m->cursors.erase(room)) return;
  if (bus_) bus_->presenceLeave(room, s.id());
  s.leave(room);
  forgetRoomIfEmpty(room, 0);
}

void RoomFeed::startRead(Read r) {
  if (!bus_) {  // standalone: no history, the head is the local counter
    bus::FleetBus::History h;
    h.ok = true;
    auto it = localHead_.find(r.room);
    h.head = it == localHead_.end() ? 0 : it->second;
    onRead(std::move(r), h);
    return;
  }
  int64_t since = r.since;
  std::string room = r.room;
  bus_->readHistory(room, since, [this, r = std::move(r)](const bus::FleetBus::History& h) { onRead(r, h); });
}

void RoomFeed::onRead(Read r, const bus::FleetBus::History& h) {
  Member* m = member(r.sid);
  if (!m) return;  // the socket went away meanwhile
  auto cit = m->cursors.find(r.room);
  if (cit == m->cursors.end()) return;  // it left the room meanwhile
  RoomCursor& c = cit->second;
  Socket& s = *m->socket;
  if (!h.ok) {
    // Redis unreachable: go live with what we have. The first seq after a hole (or the next
    // subscription) starts another read, so the client still catches up later.
    if (r.since >= 0 && !c.known) {
      c.known = true;
      c.last = static_cast<uint64_t>(r.since);
    }
    for (auto& held : abandonRecovery(c)) emitMessage(s, held.seq, *held.msg, false);
    ackJoin(*m, r, c, false, false);
    return;
  }
  uint64_t since = r.since < 0 ? h.head : static_cast<uint64_t>(r.since);
  RecoveryPlan plan = planRecovery(c, since, h.seqs, h.head, h.truncated);
  for (auto& step : plan.steps) {
    switch (step.kind) {
      case RecoveryStep::Kind::History:
        emitMessage(s, h.seqs[step.historyIndex], *h.messages[step.historyIndex], true);
        ++r.replayed;
        break;
      case RecoveryStep::Kind::Held:
        emitMessage(s, step.held.seq, *step.held.msg, false);
        break;
      case RecoveryStep::Kind::Gap:
        ++counters_.gaps;
        s.emit("gap", json::array({json{{"room", r.room}, {"from", step.from}, {"to", step.to}}}));
        break;
    }
  }
  if (plan.readAgain) {
    r.since = static_cast<int64_t>(c.last);
    startRead(std::move(r));
    return;
  }
  ackJoin(*m, r, c, true, plan.reset);
}

void RoomFeed::ackJoin(Member& m, const Read& r, RoomCursor& c, bool historyOk, bool reset) {
  if (r.ackId < 0) return;
  json a = {{"room", r.room}, {"members", nsp_.roomSize(r.room)}, {"seq", c.known ? json(c.last) : json(nullptr)}};
  if (r.since >= 0) a["replayed"] = r.replayed;
  if (!historyOk) a["history"] = "unavailable";
  if (reset) a["reset"] = true;
  m.socket->ack(r.ackId, json::array({a}));
}

void RoomFeed::emitMessage(Socket& s, uint64_t seq, const std::string& msg, bool replay) {
  std::string text;
  if (!messageEventText(msg, seq, replay, text)) return;  // the bus checked it: cannot happen
  if (replay) ++counters_.replayed;
  if (s.sendEncoded(text)) ++counters_.deliveries;
}

void RoomFeed::send(Socket& s, const std::string& room, json msg, const std::string& cid, int64_t ackId) {
  std::string id = msg.value("id", std::string());
  if (!cid.empty()) msg["cid"] = cid;
  if (!bus_) {
    // Standalone seqs are assigned here, contiguous, and a join's replay is synchronous, so no
    // cursor can be behind or recovering: every member gets it, no cursor lookups.
    uint64_t seq = ++localHead_[room];
    std::string text;
    if (messageEventText(msg.dump(-1, ' ', false, json::error_handler_t::replace), seq, false, text)) {
      counters_.deliveries += nsp_.emitEncodedToRoomIf(room, text, [](Socket&) { return true; });
    }
    s.ack(ackId, json::array({json{{"id", id}, {"seq", seq}}}));
    return;
  }
  std::string sid = s.id();
  auto unavailable = json::array({json{{"error", "unavailable"}, {"retry", true}}});
  bool taken = bus_->publish(room, msg.dump(), id, cid, [this, sid, ackId, unavailable](const bus::Commit& c) {
    if (!c.ok) ++counters_.commitErrors;
    Member* m = member(sid);
    if (!m) return;  // committed or not, nobody is left to tell; a retry with the cid is safe
    if (!c.ok) {
      m->socket->ack(ackId, c.unavailable ? unavailable
                                          : json::array({json{{"error", "not committed, retry"}, {"retry", true}}}));
      return;
    }
    json a = {{"id", c.id}, {"seq", c.seq}};  // a duplicate's id is the first send's
    if (c.duplicate) a["duplicate"] = true;
    m->socket->ack(ackId, json::array({a}));
  });
  if (taken) return;
  // Redis unreachable and the queue full: nothing is committed or delivered anywhere.
  ++counters_.commitErrors;
  s.ack(ackId, unavailable);
}

void RoomFeed::onBusMessage(const std::string& room, uint64_t seq, std::shared_ptr<const std::string> msg) {
  if (nsp_.roomSize(room) == 0) return;  // nobody here: the common case for other rooms
  uint64_t& seen = roomSeen_[room];
  seen = std::max(seen, seq);
  deliverLive(room, seq, msg);
}

// Bus messages only: each member's cursor decides (deliver, skip a copy, hold, start a read).
// The Socket.IO text is spliced once (message_text.h) and its frame built once for the room.
void RoomFeed::deliverLive(const std::string& room, uint64_t seq, const std::shared_ptr<const std::string>& msg) {
  std::string text;
  if (!messageEventText(*msg, seq, false, text)) return;  // the bus checked it: cannot happen
  std::vector<Member*> needRead;
  size_t n = nsp_.emitEncodedToRoomIf(room, text, [&](Socket& s) {
    auto* m = static_cast<Member*>(s.appData);
    if (!m) return false;
    auto cit = m->cursors.find(room);
    if (cit == m->cursors.end()) return false;
    RoomCursor& c = cit->second;
    switch (onLive(c, seq)) {
      case LiveAction::Deliver: return true;
      case LiveAction::Skip: return false;
      case LiveAction::Hold: hold(c, {seq, msg}); return false;
      case LiveAction::HoldAndRead:
        hold(c, {seq, msg});
        needRead.push_back(m);
        return false;
    }
    return false;
  });
  counters_.deliveries += n;
  // Reads start after the loop: a failed read answers on a later turn, but keep it obvious.
  for (Member* m : needRead) {
    RoomCursor& c = m->cursors[room];
    startRead(Read{m->socket->id(), room, static_cast<int64_t>(c.last), -1, 0});
  }
}

void RoomFeed::typing(Socket& s, const std::string& room) {
  nsp_.emitToRoom(room, "typing", json::array({json{{"room", room}, {"from", s.name}}}), &s, true);
  if (bus_) bus_->publishTyping(room, json{{"room", room}, {"from", s.name}, {"origin", serverId_}});
}

void RoomFeed::onBusTyping(const json& t) {
  auto origin = t.find("origin");
  auto room = t.find("room");
  auto from = t.find("from");
  if (origin == t.end() || !origin->is_string() || *origin == serverId_) return;  // ours went out locally
  if (room == t.end() || !room->is_string() || from == t.end() || !from->is_string()) return;
  nsp_.emitToRoom(room->get<std::string>(), "typing", json::array({json{{"room", *room}, {"from", *from}}}), nullptr,
                  true);
}

void RoomFeed::presence(Socket& s, const std::string& room, int64_t ackId) {
  auto local = [this, room]() {
    json members = json::array();
    if (const auto* set = nsp_.members(room)) {
      for (Socket* m : *set) members.push_back(json{{"id", m->id()}, {"name", m->name}, {"server", serverId_}});
    }
    return members;
  };
  if (!bus_) {
    s.ack(ackId, json::array({json{{"room", room}, {"members", local()}}}));
    return;
  }
  std::string sid = s.id();
  bus_->readPresence(room, [this, sid, room, ackId, local](bool ok, json members) {
    Member* m = member(sid);
    if (!m) return;
    json a = {{"room", room}, {"members", ok ? std::move(members) : local()}};
    if (!ok) a["partial"] = true;
    m->socket->ack(ackId, json::array({a}));
  });
}

void RoomFeed::onBusCommandsUp() {
  // Redis may have restarted empty, or expired us: register every local membership again.
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::string>>> byRoom;
  for (const auto& [sid, m] : members_) {
    for (const auto& [room, cursor] : m.cursors) byRoom[room].emplace_back(sid, m.socket->name);
  }
  for (const auto& [room, list] : byRoom) bus_->presenceJoinAll(room, list);
}

void RoomFeed::onBusRoomSubscribed(const std::string& room) {
  // Whatever was published while this instance was not subscribed to the room is only in
  // history: every live cursor of the room reads from where it is (identical reads coalesce).
  // A join in progress is recovering already: its read starts now, after the subscription.
  const auto* set = nsp_.members(room);
  if (!set) return;
  size_t reads = 0;
  for (Socket* s : *set) {
    auto* m = static_cast<Member*>(s->appData);
    if (!m) continue;
    auto cit = m->cursors.find(room);
    if (cit == m->cursors.end() || cit->second.recovering) continue;
    RoomCursor& c = cit->second;
    c.recovering = true;
    startRead(Read{s->id(), room, c.known ? static_cast<int64_t>(c.last) : -1, -1, 0});
    ++reads;
  }
  if (reads) common::logInfo("bus_resync", {{"room", room}, {"cursors", reads}});
}

}  // namespace backend::chat
