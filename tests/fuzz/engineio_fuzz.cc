// Fuzz target for the Engine.IO packet codec (backend/engineio/packet.h): single text packets
// and long-polling payloads (packets joined by the record separator \x1e, binary ones as
// 'b' + base64). The first byte is the control byte: bits 0-2 pick a packet type (values 7 and
// 8 fold onto 0 and 1) and bit 3 binary or text for the encode-first round trip; the rest is the
// input.
// Invariants, abort() on violation:
//  - no crash or sanitizer report;
//  - decodeTextPacket accepts exactly a type digit 0-6 followed by anything, and keeps the rest
//    as the data;
//  - a payload that decodes re-encodes with appendToPayload() to the same bytes (the base64
//    decoder is strict, so one payload text has one meaning), and no packet holds more data
//    than the payload had bytes;
//  - encode first: appendToPayload(type, binary, rest) decodes to that one packet (text data
//    containing the separator is the one thing a text packet cannot carry and is skipped).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/engineio/packet.h"

namespace {

namespace eio = backend::engineio;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t ctl = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  eio::Packet one;
  bool text_ok = eio::decodeTextPacket(in, one);
  check(text_ok == (!in.empty() && in[0] >= '0' && in[0] <= '6'));
  if (text_ok) check(static_cast<int>(one.type) == in[0] - '0' && !one.binary && one.data == in.substr(1));

  std::vector<eio::Packet> packets;
  if (eio::decodePayload(in, packets)) {
    check(!packets.empty());
    std::string again;
    for (const eio::Packet& p : packets) {
      check(p.data.size() <= in.size());
      check(!p.binary || p.type == eio::PacketType::Message);
      eio::appendToPayload(again, p.type, p.binary, p.data);
    }
    check(again == in);
  }

  auto type = static_cast<eio::PacketType>((ctl & 7) % 7);
  bool binary = ctl & 8;
  if (binary) type = eio::PacketType::Message;
  if (binary || in.find(eio::kRecordSeparator) == std::string_view::npos) {
    std::string payload;
    eio::appendToPayload(payload, type, binary, in);
    std::vector<eio::Packet> back;
    check(eio::decodePayload(payload, back));
    check(back.size() == 1 && back[0].type == type && back[0].binary == binary && back[0].data == in);
  }
  return 0;
}
