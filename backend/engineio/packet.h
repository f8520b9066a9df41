// Engine.IO v4 packets and payloads: pure encode/decode, no I/O, no exceptions.
//
// A packet is a type digit followed by data: 0 open, 1 close, 2 ping, 3 pong, 4 message,
// 5 upgrade, 6 noop. Over WebSocket one frame carries one packet; binary messages travel as
// binary frames holding only the bytes (type 4 is implied). Over HTTP long-polling several
// packets are joined with the record separator \x1e, and a binary message is written as 'b'
// followed by its base64. Example payload with a text message and a binary one (bytes 01 02):
//   "4hello\x1ebAQI="  ->  {Message "hello"}, {Message binary "\x01\x02"}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace backend::engineio {

enum class PacketType : uint8_t { Open = 0, Close = 1, Ping = 2, Pong = 3, Message = 4, Upgrade = 5, Noop = 6 };

struct Packet {
  PacketType type = PacketType::Noop;
  bool binary = false;
  std::string data;
};

constexpr char kRecordSeparator = '\x1e';

// Decodes one text packet ("4hello"); false when the type is missing or unknown.
bool decodeTextPacket(std::string_view text, Packet& out);
// Decodes a polling payload; false (with `out` partially filled) on any malformed packet.
bool decodePayload(std::string_view payload, std::vector<Packet>& out);
// Appends one packet as it appears in a polling payload (with a separator if `out` is not empty).
void appendToPayload(std::string& out, PacketType type, bool binary, std::string_view data);

}  // namespace backend::engineio
