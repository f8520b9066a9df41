// The chat application on the default namespace "/".
//
// Events (client -> server), each validated; bad input gets an error ack {error: "..."},
// never a crash:
//   join(room, ack)            -> ack {room, members}
//   leave(room, ack?)          -> ack {room, left}
//   message({room, text}, ack) -> broadcast "message" {room, text, from, server, id, ts} to
//                                 every member of room (sender included); ack {id}
//   rooms(ack)                 -> ack [room, ...]
//   typing({room})             -> volatile "typing" {room, from} to the other members
// On connect the server emits "hello" {server: <instance id>}. The display name comes from the
// handshake auth {name}; without one it is "anon-" + the first 6 characters of the socket id.
#pragma once

#include <cstdint>
#include <string>

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
  uint64_t deliveries = 0;   // chat messages delivered (one per recipient)
  uint64_t rejected = 0;     // events answered with an error
  uint64_t typingDropped = 0;
};

class ChatApp {
 public:
  ChatApp(socketio::Server& io, std::string serverId, ChatLimits limits = {});
  const ChatCounters& counters() const { return counters_; }

 private:
  void onEvent(socketio::Socket& s, const std::string& event, socketio::json& args, int64_t ackId);
  void reject(socketio::Socket& s, int64_t ackId, std::string_view error);

  socketio::Server& io_;
  std::string serverId_;
  ChatLimits limits_;
  ChatCounters counters_;
  uint64_t nextMessage_ = 0;
};

// Room names: 1..max bytes, valid UTF-8, no control characters.
bool validRoomName(std::string_view room, size_t max);

}  // namespace backend::chat
