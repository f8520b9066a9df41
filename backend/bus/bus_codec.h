// The fleet bus wire format: Redis key names and the pub/sub payloads. Pure, no I/O.
//
// Every room has its own channel. An instance subscribes to a room's channel while it has at
// least one local member there, so it receives only the traffic of its rooms; the fleet channel
// "tether:bus" stays subscribed for the life of the connection (its confirmation marks the
// subscription link usable, and it keeps the connection in subscribe mode while rooms come and
// go). docs/fleet.md has the join race and how reads wait for a room's subscription.
//
// Payloads on a room's channel (text, one space after the tag):
//   "m <seq> <json>"  a room message; <json> is the message object without "seq" (the commit
//                     script assigns seq inside Redis and cannot edit JSON), "room" inside it
//   "t <json>"        a typing notice {room, from, origin}; volatile, never stored
// Keys, all prefixed "tether:". Everything of one room shares the hash tag "{<room>}", so one
// room lives in one Redis Cluster hash slot (sharded pub/sub included); inside the braces the
// room name has '%', '{' and '}' written as %25, %7B and %7D, so the tag is the whole name:
//   {<room>}:seq          INCR counter, the room's head sequence number
//   {<room>}:hist         Stream, entry ID "<seq>-0", field "m" = the message JSON
//   {<room>}:cid:<cid>    "<seq> <id>" of a message sent with client id <cid> (idempotent sends, 10 min)
//   {<room>}:presence     hash socket id -> {"name","server","epoch"}
//   {<room>}:ch           the room's pub/sub channel
//   instance:<server id>  liveness: the instance's epoch, with a TTL it keeps refreshing
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace backend::bus {

inline constexpr std::string_view kFleetChannel = "tether:bus";

std::string seqKey(std::string_view room);
std::string historyKey(std::string_view room);
std::string cidKey(std::string_view cid, std::string_view room);
std::string presenceKey(std::string_view room);
std::string roomChannel(std::string_view room);
std::string instanceKey(std::string_view serverId);
// The room a channel name belongs to; false for the fleet channel and anything malformed.
bool roomOfChannel(std::string_view channel, std::string& room);

struct BusPayload {
  enum class Kind : uint8_t { Message, Typing } kind = Kind::Message;
  uint64_t seq = 0;       // Message only
  std::string_view json;  // points into the parsed input
};

// Parses a channel payload; false on anything malformed (counted and dropped by the caller).
bool parseBusPayload(std::string_view payload, BusPayload& out);
// A room message's JSON text as delivery splices it (backend/chat/message_text.h): one JSON
// object (strict: valid UTF-8, nothing after it) with exactly one top-level "room", a string
// equal to `room` (not compared when `room` is empty: history entries), and no top-level
// "seq" or "replay" (delivery adds them). Checked without building a tree.
bool checkMessageJson(std::string_view json, std::string_view room);
std::string encodeTyping(std::string_view json);

// Stream entry IDs: "<seq>-0" <-> seq. parseEntryId is false for anything else.
bool parseEntryId(std::string_view id, uint64_t& seq);

// Client message ids for idempotent sends: 1..64 of [A-Za-z0-9_.-].
bool validCid(std::string_view cid);

}  // namespace backend::bus
