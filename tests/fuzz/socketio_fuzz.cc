// Fuzz target for the Socket.IO packet codec (backend/socketio/packet.h): decode() and the
// Reassembler that puts binary attachments back. After the control byte, the input is split at
// \x1e: the first piece is a text Engine.IO message, every later one a binary message (an
// attachment). Control byte bit 0 sends one more text message at the end, bit 1 one more binary.
// Invariants, abort() on violation:
//  - no crash, no exception, no sanitizer report;
//  - decode() agrees with the Reassembler's first step, and what it accepts obeys the packet
//    rules: a type 0-6, a namespace starting with '/', an ack id under 10^15, 1..64 announced
//    attachments only on BINARY_EVENT / BINARY_ACK, a payload of the shape the type requires,
//    JSON nested at most 64 levels deep;
//  - the Reassembler asks for exactly the announced number of attachments, refuses a text
//    message while attachments are due and a binary one when none are;
//  - round trip: a completed packet, encoded with encode() (its binary values moved out as
//    attachments), reassembles to the same namespace, ack id and data, its type becoming the
//    BINARY_ variant exactly when the data holds binary values.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/socketio/packet.h"

namespace {

namespace sio = backend::socketio;
using Result = sio::Reassembler::Result;

void check(bool ok) {
  if (!ok) std::abort();
}

bool holdsBinary(const sio::json& v) {
  if (v.is_binary()) return true;
  if (v.is_array() || v.is_object())
    for (const auto& e : v)
      if (holdsBinary(e)) return true;
  return false;
}

size_t depth(const sio::json& v) {
  size_t d = 0;
  if (v.is_array() || v.is_object())
    for (const auto& e : v) d = std::max(d, depth(e));
  return v.is_array() || v.is_object() ? d + 1 : 0;
}

bool binaryType(sio::PacketType t) { return t == sio::PacketType::BinaryEvent || t == sio::PacketType::BinaryAck; }

// The plain type of a BINARY_ one.
sio::PacketType plain(sio::PacketType t) {
  if (t == sio::PacketType::BinaryEvent) return sio::PacketType::Event;
  if (t == sio::PacketType::BinaryAck) return sio::PacketType::Ack;
  return t;
}

void checkDecoded(const sio::Packet& p) {
  check(static_cast<int>(p.type) <= 6);
  check(!p.nsp.empty() && p.nsp[0] == '/');
  check(p.id >= -1 && p.id < 1000000000000000);
  check(binaryType(p.type) ? p.attachments >= 1 && p.attachments <= 64 : p.attachments == 0);
  check(!p.hasData() || depth(p.data) <= 64);
  switch (p.type) {
    case sio::PacketType::Connect: check(!p.hasData() || p.data.is_object()); break;
    case sio::PacketType::Disconnect: check(!p.hasData()); break;
    case sio::PacketType::ConnectError: check(p.data.is_object() || p.data.is_string()); break;
    case sio::PacketType::Event:
    case sio::PacketType::BinaryEvent:
      check(p.data.is_array() && !p.data.empty() && (p.data[0].is_string() || p.data[0].is_number()));
      break;
    case sio::PacketType::Ack:
    case sio::PacketType::BinaryAck: check(p.data.is_array() && p.id >= 0); break;
  }
}

void roundTrip(const sio::Packet& p) {
  sio::Packet q = p;
  q.type = plain(p.type);  // encode() picks the BINARY_ variant itself
  std::vector<std::string> attachments;
  std::string text = sio::encode(q, attachments);
  bool binary = p.hasData() && holdsBinary(p.data);
  check(binary == !attachments.empty());
  sio::Reassembler r;
  sio::Packet back;
  Result res = r.addText(text, back);
  for (const std::string& a : attachments) {
    check(res == Result::NeedMore);
    res = r.addBinary(a, back);
  }
  check(res == Result::Complete);
  check(back.type == (binary ? p.type == sio::PacketType::Event || p.type == sio::PacketType::BinaryEvent
                                       ? sio::PacketType::BinaryEvent
                                       : sio::PacketType::BinaryAck
                             : plain(p.type)));
  check(back.nsp == p.nsp && back.id == p.id && back.hasData() == p.hasData());
  if (p.hasData()) check(back.data == p.data);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t ctl = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string_view> pieces;
  for (size_t at = 0;;) {
    size_t sep = in.find('\x1e', at);
    pieces.push_back(in.substr(at, sep == std::string_view::npos ? std::string_view::npos : sep - at));
    if (sep == std::string_view::npos) break;
    at = sep + 1;
  }

  sio::Packet decoded;
  bool ok = sio::decode(pieces[0], decoded);
  if (ok) checkDecoded(decoded);

  sio::Reassembler r;
  sio::Packet out;
  Result res = r.addText(pieces[0], out);
  check(res == (!ok ? Result::Error : decoded.attachments ? Result::NeedMore : Result::Complete));
  size_t due = ok ? decoded.attachments : 0;
  for (size_t i = 1; i < pieces.size() && res != Result::Error; ++i) {
    if (res == Result::Complete) {
      check(r.addBinary(pieces[i], out) == Result::Error);  // nothing is due
      break;
    }
    res = r.addBinary(pieces[i], out);
    check(res != Result::Complete || i == due);
    check(res != Result::NeedMore || i < due);
  }
  if (res == Result::NeedMore) {
    check(r.waiting());
    if (ctl & 1) check(r.addText(pieces[0], out) == Result::Error);
  }
  if (res == Result::Complete) {
    check(!r.waiting());
    check(out.attachments == 0 && out.nsp == decoded.nsp && out.id == decoded.id);
    check(plain(out.type) == plain(decoded.type));
    roundTrip(out);
    if (ctl & 2) check(r.addBinary(in, out) == Result::Error);
  }
  return 0;
}
