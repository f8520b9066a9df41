// The fleet bus wire format: Redis key names and the pub/sub payloads. Pure, no I/O.
//
// Every instance subscribes to one channel, "tether:bus", and filters by local room
// membership: no SUBSCRIBE/UNSUBSCRIBE churn as rooms fill and empty, and no window in which a
// just-joined room's messages are published before its subscription is confirmed. The cost is
// one hash lookup per message per instance for rooms it has no member of (docs/fleet.md).
//
// Payloads (text, one space after the tag):
//   "m <seq> <json>"  a room message; <json> is the message object without "seq" (the commit
//                     script assigns seq inside Redis and cannot edit JSON), "room" inside it
//   "t <json>"        a typing notice {room, from, origin}; volatile, never stored
// Keys, all prefixed "tether:":
//   seq:<room>            INCR counter, the room's head sequence number
//   hist:<room>           Stream, entry ID "<seq>-0", field "m" = the message JSON
//   cid:<cid>:<room>      seq of a message sent with client id <cid> (idempotent sends, 10 min)
//   presence:<room>       hash socket id -> {"name","server","epoch"}
//   instance:<server id>  liveness: the instance's epoch, with a TTL it keeps refreshing
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace backend::bus {

inline constexpr std::string_view kChannel = "tether:bus";

std::string seqKey(std::string_view room);
std::string historyKey(std::string_view room);
std::string cidKey(std::string_view cid, std::string_view room);
std::string presenceKey(std::string_view room);
std::string instanceKey(std::string_view serverId);

struct BusPayload {
  enum class Kind : uint8_t { Message, Typing } kind = Kind::Message;
  uint64_t seq = 0;       // Message only
  std::string_view json;  // points into the parsed input
};

// Parses a channel payload; false on anything malformed (counted and dropped by the caller).
bool parseBusPayload(std::string_view payload, BusPayload& out);
std::string encodeTyping(std::string_view json);

// Stream entry IDs: "<seq>-0" <-> seq. parseEntryId is false for anything else.
bool parseEntryId(std::string_view id, uint64_t& seq);

// Client message ids for idempotent sends: 1..64 of [A-Za-z0-9_.-].
bool validCid(std::string_view cid);

}  // namespace backend::bus
