// Engine.IO v4 / Socket.IO v5 packets as the chat load generator and chat-sink see them: pure
// functions over the text of one WebSocket message, no I/O, no allocation on the receive path.
//
// Only the default namespace "/" and text packets are used. The client side reads:
//   0{...}                 Engine.IO open               -> send "40"
//   2                      Engine.IO ping                -> send "3"
//   40{...}                Socket.IO CONNECT accepted    -> send 420["join","room7"]
//   44{...}                CONNECT refused
//   43<id>[...]            an ack (id 0 answers the join; 1.. the messages)
//   42["message",{...}]    a room message; its text carries the send stamp
//   1 / 41                 Engine.IO close / Socket.IO DISCONNECT
// Every message the generator sends has the text "~<send ns>~<sender>~xxxx..." (decimal
// numbers, padded with 'x' to the requested size). A receiver finds the stamp by scanning for
// the first '~' (room names and the generator's ids never contain one), so neither side needs a
// JSON parser. Worked example, client 12 in room3 at 5000 ns, size 16:
//   42 1 ["message",{"room":"room3","text":"~5000~12~xxxxxxx"}]    (without the spaces)
// and every member of room3 receives 42["message",{"room":"room3","text":"~5000~12~xxxxxxx",...}],
// from which parseStamp() gives {5000, 12}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bench::chat {

enum class Packet : uint8_t {
  Open,         // "0{...}"
  Ping,         // "2"
  Pong,         // "3"
  Close,        // "1"
  Connected,    // "40..."
  ConnectError, // "44..."
  Disconnect,   // "41..."
  Ack,          // "43<id>[...]": ack_id set
  Message,      // "42[\"message\",...]" with a stamp: stamp_ns and sender set
  OtherEvent,   // any other "42" event (hello, typing, a message without a stamp)
  Unknown,
};

struct Parsed {
  int64_t ack_id = -1;
  uint64_t stamp_ns = 0;
  uint64_t sender = 0;
};

// Classifies one text message from the server.
Packet classify(std::string_view text, Parsed& out);

// Finds "~<stamp>~<sender>~" in `text`; false when absent or malformed.
bool parseStamp(std::string_view text, uint64_t& stamp_ns, uint64_t& sender);

// The smallest --size that holds any stamp: "~" 19 digits "~" 10 digits "~".
constexpr size_t kMinTextSize = 32;

// Appends the "message" event with ack `ack_id` for `room`, its text exactly `size` bytes
// (>= kMinTextSize). Returns the bytes appended.
size_t appendMessage(std::string& out, std::string_view room, uint64_t stamp_ns, uint64_t sender, size_t size,
                     int64_t ack_id);

// Appends 42<ack_id>["join","<room>"].
void appendJoin(std::string& out, std::string_view room, int64_t ack_id);

// What chat-sink reads from a client: 42<id>["join","<room>"] or
// 42<id>["message",{"room":"<room>",...}]. `args` is the message's object, verbatim.
struct ClientEvent {
  enum class Kind : uint8_t { Join, Message, Other } kind = Kind::Other;
  int64_t ack_id = -1;
  std::string_view room;
  std::string_view args;
};
// False when `text` is not a "42" event with a string room (a join) or an object with a "room"
// string (a message).
bool parseClientEvent(std::string_view text, ClientEvent& out);

}  // namespace bench::chat
