// Fuzz target for the WebSocket frame codec (common/ws_codec.h). The first byte is the control
// byte: bit 0 picks the decoder's role (server: frames must be masked; client: must not be), bits
// 1-2 the message size limit (16, 125, 256 or 4096 bytes), bits 3-7 the read size (1..32 bytes).
// The sink asks the decoder to stop after every event with an odd-sized payload, and the target
// resumes it (decode(nullptr, 0)) before feeding more, as a connection that paused does.
// Invariants, abort() on violation:
//  - no crash or sanitizer report, and after Error or Closed every later call says the same;
//  - the events and the final status are the same whether the input arrives in small reads or in
//    one piece;
//  - limits hold: no message over the size limit, no control payload over 125 bytes, text
//    messages and close reasons are valid UTF-8, close codes are valid (or 1005 for none), and
//    after a read the decoder holds at most limit + 14 + 125 bytes (a fragmented message plus one
//    partial control frame);
//  - round trip: the rest of the input, used as a payload, encoded with encodeFrame() (masked
//    for a server decoder) as up to three fragments with a ping after the first one, decodes
//    to that ping and that message (Binary, or Text when it is UTF-8), or to MessageTooBig when
//    it is over the limit; closePayload(1000, rest) decodes to code 1000 and a prefix of it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/ws_codec.h"

namespace {

namespace ws = common::ws;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Recorder : ws::Sink {
  size_t limit = 0;
  std::string events;
  bool next(std::string_view payload) { return payload.size() % 2 == 0; }
  bool onMessage(ws::Opcode op, std::string_view p) override {
    check(p.size() <= limit);
    check(op == ws::Opcode::Text || op == ws::Opcode::Binary);
    if (op == ws::Opcode::Text) check(ws::isValidUtf8(p));
    events += "M" + std::to_string(static_cast<int>(op)) + ":" + std::string(p) + ";";
    return next(p);
  }
  bool onPing(std::string_view p) override {
    check(p.size() <= 125);
    events += "P:" + std::string(p) + ";";
    return next(p);
  }
  bool onPong(std::string_view p) override {
    check(p.size() <= 125);
    events += "O:" + std::string(p) + ";";
    return next(p);
  }
  bool onClose(uint16_t code, std::string_view reason) override {
    check(reason.size() <= 123 && ws::isValidUtf8(reason));
    check(code == ws::close_code::kNoStatus ? reason.empty() : ws::isValidCloseCode(code));
    events += "C" + std::to_string(code) + ":" + std::string(reason) + ";";
    return next(reason);
  }
};

// Decodes `in` in reads of `step` bytes; returns the events and the final status.
std::string run(ws::Role role, size_t limit, std::string_view in, size_t step) {
  ws::Decoder d(role, limit);
  Recorder rec;
  rec.limit = limit;
  ws::Decoder::Status st = ws::Decoder::Status::Ok;
  for (size_t off = 0; off < in.size(); off += step) {
    st = d.decode(in.substr(off, step), rec);
    while (st == ws::Decoder::Status::Stopped) st = d.decode(nullptr, 0, rec);
    if (st == ws::Decoder::Status::Error || st == ws::Decoder::Status::Closed) break;
    check(d.bufferedBytes() <= limit + ws::kMaxHeaderSize + 125);
  }
  if (st == ws::Decoder::Status::Error) {
    check(d.error() != ws::DecodeError::None);
    check(d.decode(in, rec) == ws::Decoder::Status::Error);
    rec.events += std::string("E:") + ws::decodeErrorName(d.error());
  } else if (st == ws::Decoder::Status::Closed) {
    check(d.decode(in, rec) == ws::Decoder::Status::Closed);
    rec.events += "Z";
  }
  return rec.events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t ctl = data[0];
  ws::Role role = (ctl & 1) ? ws::Role::Client : ws::Role::Server;
  static constexpr size_t kLimits[4] = {16, 125, 256, 4096};
  size_t limit = kLimits[(ctl >> 1) & 3];
  size_t step = 1 + (ctl >> 3);
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  std::string split = run(role, limit, in, step);
  check(split == run(role, limit, in, in.empty() ? 1 : in.size()));

  // Round trip through the encoder.
  const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  const uint8_t* mask = role == ws::Role::Server ? key : nullptr;
  ws::Opcode op = ws::isValidUtf8(in) ? ws::Opcode::Text : ws::Opcode::Binary;
  size_t parts = 1 + in.size() % 3;
  std::string wire, ping = "ping";
  for (size_t i = 0, at = 0; i < parts; ++i) {
    size_t len = i + 1 == parts ? in.size() - at : in.size() / parts;
    wire += ws::encodeFrame(i == 0 ? op : ws::Opcode::Continuation, in.substr(at, len), i + 1 == parts, mask);
    if (i == 0) wire += ws::encodeFrame(ws::Opcode::Ping, ping, true, mask);
    at += len;
  }
  std::string message = "M" + std::to_string(static_cast<int>(op)) + ":" + std::string(in) + ";";
  std::string refused = std::string("E:") + ws::decodeErrorName(ws::DecodeError::MessageTooBig);
  std::string expect;
  if (parts == 1) {
    expect = in.size() > limit ? refused : message + "P:ping;";
  } else if (in.size() > limit) {
    // Refused at the fragment that passes the limit, before any of the message is delivered.
    expect = in.size() / parts <= limit ? "P:ping;" + refused : refused;
  } else {
    expect = "P:ping;" + message;
  }
  check(run(role, limit, wire, step) == expect);

  std::string close = ws::encodeFrame(ws::Opcode::Close, ws::closePayload(ws::close_code::kNormal, in), true, mask);
  std::string closed = run(role, limit, close, step);
  check(closed.compare(0, 5, "C1000") == 0 && closed.size() >= 8 && closed.compare(closed.size() - 2, 2, ";Z") == 0);
  std::string_view reason = std::string_view(closed).substr(6, closed.size() - 8);
  check(in.substr(0, reason.size()) == reason);
  return 0;
}
