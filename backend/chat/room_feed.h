// Room delivery for the chat app: who gets which room message, in what order, on this
// instance; standalone, or through the fleet bus (backend/bus/fleet_bus.h) when --redis is set.
//
// With the bus, a message is committed in Redis first and delivered by every instance when
// it comes back on the subscription, so it carries the room's seq and every member sees the
// same order. Each (socket, room) has a RoomCursor (room_cursor.h) that drops copies, holds
// live messages while a history read is in flight, and starts a read when it sees a hole. A
// join with `since` replays history through the same cursor, so replay and live traffic
// interleave without duplicates. Reads answer for sockets that may be gone by then: replies
// find their socket by id.
//
// The bus is told which rooms have local members (watch / unwatch), so this instance receives
// only their traffic.
//
// Standalone, seqs are assigned locally per room (no history: a join behind the head gets a
// gap). When Redis is unreachable, sends wait in the bus's bounded queue and are committed
// when it is back; the sender's ack comes then, with the seq, or {error: "unavailable",
// retry: true} past the queue's bounds (nothing is delivered anywhere).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "backend/bus/fleet_bus.h"
#include "backend/chat/room_cursor.h"
#include "backend/socketio/namespace.h"

namespace backend::chat {

struct FeedCounters {
  uint64_t deliveries = 0;   // room messages handed to clients (live and replayed)
  uint64_t replayed = 0;     // of those, from history
  uint64_t gaps = 0;         // gap events sent (history trimmed away)
  uint64_t commitErrors = 0; // sends answered "retry" (not committed, or outcome unknown)
};

class RoomFeed : public bus::FleetBus::Listener {
 public:
  RoomFeed(socketio::Namespace& nsp, std::string serverId, bus::FleetBus* bus);
  ~RoomFeed() override;

  void attach(socketio::Socket& s);
  void detach(socketio::Socket& s);  // before the socket leaves its rooms
  // Joins `room` (if needed); since >= 0 replays what came after it. Acks {room, members, seq,
  // replayed} once the replay has been sent.
  void join(socketio::Socket& s, const std::string& room, int64_t since, int64_t ackId);
  void leave(socketio::Socket& s, const std::string& room);
  // Sends a room message built by the app (no seq); acks {id, seq[, duplicate]} once it is
  // committed, or {error, retry: true}.
  void send(socketio::Socket& s, const std::string& room, nlohmann::json msg, const std::string& cid,
            int64_t ackId);
  void typing(socketio::Socket& s, const std::string& room);
  void presence(socketio::Socket& s, const std::string& room, int64_t ackId);
  const FeedCounters& counters() const { return counters_; }

  // bus::FleetBus::Listener
  void onBusMessage(const std::string& room, uint64_t seq, std::shared_ptr<const std::string> msg) override;
  void onBusTyping(const nlohmann::json& typing) override;
  void onBusCommandsUp() override;
  void onBusRoomSubscribed(const std::string& room) override;

 private:
  struct Member {
    socketio::Socket* socket;
    std::unordered_map<std::string, RoomCursor> cursors;  // the chat rooms it joined
  };
  struct Read {  // one history read for one (socket, room)
    std::string sid, room;
    int64_t since;  // < 0: head only
    int64_t ackId;
    uint64_t replayed;
  };
  void deliverLive(const std::string& room, uint64_t seq, const std::shared_ptr<const std::string>& msg);
  void startRead(Read r);
  void onRead(Read r, const bus::FleetBus::History& h);
  // One message to one client: the committed JSON text with the seq spliced in.
  void emitMessage(socketio::Socket& s, uint64_t seq, const std::string& msg, bool replay);
  void ackJoin(Member& m, const Read& r, RoomCursor& c, bool historyOk, bool reset);
  void forgetRoomIfEmpty(const std::string& room, size_t leaving);
  Member* member(const std::string& sid);

  socketio::Namespace& nsp_;
  std::string serverId_;
  bus::FleetBus* bus_;
  std::unordered_map<std::string, Member> members_;       // socket id -> state
  std::unordered_map<std::string, uint64_t> roomSeen_;    // bus: highest seq seen per local room
  std::unordered_map<std::string, uint64_t> localHead_;   // standalone: per-room seq
  FeedCounters counters_;
};

}  // namespace backend::chat
