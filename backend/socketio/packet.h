// Socket.IO v5 packets: pure encode/decode (no I/O, no exceptions escape).
//
// Text form: <type>[<attachments>-][<namespace>,][<ack id>][<JSON>]
//   0 CONNECT  1 DISCONNECT  2 EVENT  3 ACK  4 CONNECT_ERROR  5 BINARY_EVENT  6 BINARY_ACK
// Examples: `0{"token":"x"}` (connect to "/" with auth), `2/chat,12["join","lobby"]` (event on
// "/chat" asking for ack 12), `31["ok"]` (ack 1), `51-["file",{"_placeholder":true,"num":0}]`
// followed by one binary Engine.IO message with the bytes.
//
// In memory, binary arguments are nlohmann::json binary values: encode() replaces them with
// placeholders and returns the attachments; Reassembler puts received attachments back. Each
// packet type's payload is validated as socket.io-parser does (EVENT: non-empty array starting
// with a string; ACK: array with an id; CONNECT: object or nothing; DISCONNECT: nothing), and
// its JSON may nest at most 64 levels deep.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace backend::socketio {

using json = nlohmann::json;

enum class PacketType : uint8_t {
  Connect = 0,
  Disconnect = 1,
  Event = 2,
  Ack = 3,
  ConnectError = 4,
  BinaryEvent = 5,
  BinaryAck = 6,
};

struct Packet {
  PacketType type = PacketType::Event;
  std::string nsp = "/";
  int64_t id = -1;        // ack id, -1 when absent
  json data = json(json::value_t::discarded);  // discarded: the packet has no payload
  size_t attachments = 0; // binary attachments still to come (decode side)
  bool hasData() const { return !data.is_discarded(); }
};

// Encodes `p`. Binary values inside p.data are moved out into `attachments` and EVENT/ACK
// become BINARY_EVENT/BINARY_ACK automatically.
std::string encode(const Packet& p, std::vector<std::string>& attachments);
// Shorthand for an EVENT packet ["event", args...] (args must be an array).
std::string encodeEvent(std::string_view nsp, std::string_view event, const json& args,
                        std::vector<std::string>& attachments);

// Decodes the text part. False on any malformed or invalid packet.
bool decode(std::string_view text, Packet& out);

// Collects the binary attachments of BINARY_EVENT/BINARY_ACK packets.
class Reassembler {
 public:
  enum class Result : uint8_t { Complete, NeedMore, Error };
  // Feeds one text Engine.IO message. Complete: `out` is ready. NeedMore: feed binaries.
  Result addText(std::string_view text, Packet& out);
  // Feeds one binary Engine.IO message.
  Result addBinary(std::string_view bytes, Packet& out);
  bool waiting() const { return pending_.attachments > 0; }

 private:
  Packet pending_;
  std::vector<std::string> buffers_;
};

}  // namespace backend::socketio
