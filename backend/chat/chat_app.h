// The chat application on the default namespace "/".
//
// Events (client -> server), each validated; bad input gets an error ack {error: "..."},
// never a crash. Delivery, replay and presence live in RoomFeed (room_feed.h); the protocol
// is in docs/fleet.md.
//   join(room | {room, since}, ack)  -> ack {room, members, seq, replayed}; with since, the
//                                 messages after it are replayed first ("message" with
//                                 replay: true, "gap" {room, from, to} for what is gone)
//   leave(room, ack?)          -> ack {room, left}
//   message({room, text, cid?}, ack) -> "message" {room, text, from, server, id, seq, ts[, cid]}
//                                 to every member of room on every instance (sender
//                                 included); ack {id, seq}. cid makes a resend idempotent.
//   presence(room, ack)        -> ack {room, members: [{id, name, server}]}
//   rooms(ack)                 -> ack [room, ...]
//   typing({room})             -> volatile "typing" {room, from} to the other members
// On connect the server emits "hello" {server: <instance id>}. The display name comes from the
// handshake auth {name}; without one it is "anon-" + the first 6 characters of the socket id.
#pragma once

#include <cstdint>
#include <string>

#include "backend/bus/fleet_bus.h"
#include "backend/chat/room_feed.h"
#include "backend/socketio/server.h"

namespace backend::chat {

struct ChatLimits {
  size_t maxRoomName = 64;    // bytes
  size_t maxText = 2000;      // bytes
  size_t maxName = 32;        // bytes
  size_t maxRoomsPerSocket = 32;
};

struct ChatCounters {
  uint64_t messagesIn = 0;   // chat messages accepted
  uint64_t rejected = 0;     // events answered with an error
};

class ChatApp {
 public:
  // `bus` may be null (standalone); otherwise the app becomes its listener.
  ChatApp(socketio::Server& io, std::string serverId, bus::FleetBus* bus, ChatLimits limits = {});
  const ChatCounters& counters() const { return counters_; }
  const FeedCounters& feedCounters() const { return feed_.counters(); }

 private:
  void onEvent(socketio::Socket& s, const std::string& event, socketio::json& args, int64_t ackId);
  void reject(socketio::Socket& s, int64_t ackId, std::string_view error);

  socketio::Server& io_;
  std::string serverId_;
  ChatLimits limits_;
  RoomFeed feed_;
  ChatCounters counters_;
  uint64_t nextMessage_ = 0;
};

// Room names: 1..max bytes, valid UTF-8, no control characters.
bool validRoomName(std::string_view room, size_t max);

}  // namespace backend::chat
