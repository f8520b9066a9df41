// RFC 6455 frame codec (common/ws_codec.h): decoding in both roles, fragmentation, control
// frames, limits, UTF-8 and the encoder. Every case is one a real peer can produce.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/ws_codec.h"

using namespace common::ws;

namespace {

const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};

struct Event {
  std::string kind;  // text, binary, ping, pong, close
  std::string payload;
  uint16_t code = 0;
};

struct Recorder : Sink {
  std::vector<Event> events;
  int stopAfter = -1;  // return false once this many events were seen
  bool push(Event e) {
    events.push_back(std::move(e));
    return stopAfter < 0 || static_cast<int>(events.size()) < stopAfter;
  }
  bool onMessage(Opcode op, std::string_view p) override {
    return push({op == Opcode::Text ? "text" : "binary", std::string(p)});
  }
  bool onPing(std::string_view p) override { return push({"ping", std::string(p)}); }
  bool onPong(std::string_view p) override { return push({"pong", std::string(p)}); }
  bool onClose(uint16_t code, std::string_view reason) override {
    return push({"close", std::string(reason), code});
  }
};

std::string masked(Opcode op, std::string_view payload, bool fin = true) {
  return encodeFrame(op, payload, fin, kKey);
}

}  // namespace

TEST_CASE("decodes the RFC 6455 masked 'Hello' example") {
  const std::string frame("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  Decoder d(Role::Server);
  Recorder r;
  CHECK(d.decode(frame, r) == Decoder::Status::Ok);
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].kind == "text");
  CHECK(r.events[0].payload == "Hello");
  CHECK(masked(Opcode::Text, "Hello") == frame);
}

TEST_CASE("server rejects unmasked frames, client rejects masked frames") {
  Recorder r;
  Decoder server(Role::Server);
  CHECK(server.decode(encodeFrame(Opcode::Text, "hi"), r) == Decoder::Status::Error);
  CHECK(server.error() == DecodeError::UnmaskedFrame);
  CHECK(closeCodeFor(server.error()) == close_code::kProtocolError);
  Decoder client(Role::Client);
  CHECK(client.decode(masked(Opcode::Text, "hi"), r) == Decoder::Status::Error);
  CHECK(client.error() == DecodeError::MaskedFrame);
  CHECK(r.events.empty());
}

TEST_CASE("input split at every byte boundary gives the same events") {
  std::string stream = masked(Opcode::Text, "first") + masked(Opcode::Binary, std::string(300, 'x')) +
                       masked(Opcode::Ping, "p") + masked(Opcode::Binary, std::string(70000, 'y'));
  for (size_t chunk : {1u, 2u, 3u, 7u, 13u, 1000u}) {
    Decoder d(Role::Server);
    Recorder r;
    for (size_t i = 0; i < stream.size(); i += chunk) {
      REQUIRE(d.decode(std::string_view(stream).substr(i, chunk), r) == Decoder::Status::Ok);
    }
    REQUIRE(r.events.size() == 4);
    CHECK(r.events[0].payload == "first");
    CHECK(r.events[1].payload == std::string(300, 'x'));
    CHECK(r.events[2].kind == "ping");
    CHECK(r.events[3].payload.size() == 70000);
    CHECK(d.bufferedBytes() == 0);
  }
}

TEST_CASE("fragmented message is reassembled, control frames may interleave") {
  std::string stream = masked(Opcode::Text, "Hel", false) + masked(Opcode::Ping, "x") +
                       masked(Opcode::Continuation, "lo ", false) +
                       masked(Opcode::Continuation, "world", true);
  Decoder d(Role::Server);
  Recorder r;
  CHECK(d.decode(stream, r) == Decoder::Status::Ok);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[0].kind == "ping");
  CHECK(r.events[1].kind == "text");
  CHECK(r.events[1].payload == "Hello world");
}

TEST_CASE("fragmentation errors") {
  Recorder r;
  SUBCASE("continuation without a start") {
    Decoder d(Role::Server);
    CHECK(d.decode(masked(Opcode::Continuation, "x"), r) == Decoder::Status::Error);
    CHECK(d.error() == DecodeError::UnexpectedContinuation);
  }
  SUBCASE("new message inside a fragmented one") {
    Decoder d(Role::Server);
    CHECK(d.decode(masked(Opcode::Text, "a", false) + masked(Opcode::Text, "b"), r) ==
          Decoder::Status::Error);
    CHECK(d.error() == DecodeError::ExpectedContinuation);
  }
  SUBCASE("fragmented control frame") {
    Decoder d(Role::Server);
    CHECK(d.decode(masked(Opcode::Ping, "a", false), r) == Decoder::Status::Error);
    CHECK(d.error() == DecodeError::FragmentedControlFrame);
  }
  CHECK(r.events.empty());
}

TEST_CASE("reserved bits, unknown opcodes and oversize control frames are protocol errors") {
  Recorder r;
  std::string rsv = masked(Opcode::Text, "x");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  Decoder d1(Role::Server);
  CHECK(d1.decode(rsv, r) == Decoder::Status::Error);
  CHECK(d1.error() == DecodeError::ReservedBits);

  std::string op3 = masked(Opcode::Text, "x");
  op3[0] = static_cast<char>(0x83);
  Decoder d2(Role::Server);
  CHECK(d2.decode(op3, r) == Decoder::Status::Error);
  CHECK(d2.error() == DecodeError::UnknownOpcode);

  Decoder d3(Role::Server);
  CHECK(d3.decode(masked(Opcode::Ping, std::string(126, 'p')), r) == Decoder::Status::Error);
  CHECK(d3.error() == DecodeError::ControlFrameTooLong);
  // Later input is refused too.
  CHECK(d3.decode(masked(Opcode::Text, "ok"), r) == Decoder::Status::Error);
  CHECK(r.events.empty());
}

TEST_CASE("size limit applies to one frame and to the reassembled message, before buffering") {
  Recorder r;
  Decoder d(Role::Server, 100);
  CHECK(d.decode(masked(Opcode::Binary, std::string(100, 'a')), r) == Decoder::Status::Ok);
  // Only the header of a huge frame is needed to reject it.
  uint8_t header[kMaxHeaderSize];
  size_t h = encodeHeader(header, Opcode::Binary, 1ull << 40, true, kKey);
  Decoder big(Role::Server, 100);
  CHECK(big.decode(header, h, r) == Decoder::Status::Error);
  CHECK(big.error() == DecodeError::MessageTooBig);
  CHECK(closeCodeFor(big.error()) == close_code::kMessageTooBig);

  Decoder frag(Role::Server, 100);
  CHECK(frag.decode(masked(Opcode::Binary, std::string(60, 'a'), false), r) == Decoder::Status::Ok);
  CHECK(frag.decode(masked(Opcode::Continuation, std::string(60, 'a')), r) == Decoder::Status::Error);
  CHECK(frag.error() == DecodeError::MessageTooBig);
  CHECK(r.events.size() == 1);
}

TEST_CASE("64-bit length with the top bit set is rejected") {
  std::string f("\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01", 10);
  Decoder d(Role::Server);
  Recorder r;
  CHECK(d.decode(f, r) == Decoder::Status::Error);
  CHECK(d.error() == DecodeError::LengthHighBit);
}

TEST_CASE("text must be UTF-8, checked on the whole reassembled message") {
  Recorder r;
  Decoder bad(Role::Server);
  CHECK(bad.decode(masked(Opcode::Text, "\xc3\x28"), r) == Decoder::Status::Error);
  CHECK(bad.error() == DecodeError::InvalidUtf8);
  CHECK(closeCodeFor(bad.error()) == close_code::kInvalidPayload);
  // A 2-byte character split across two fragments is fine.
  Decoder split(Role::Server);
  CHECK(split.decode(masked(Opcode::Text, "caf\xc3", false) + masked(Opcode::Continuation, "\xa9"), r) ==
        Decoder::Status::Ok);
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].payload == "caf\xc3\xa9");
  // Binary frames are not checked.
  Decoder bin(Role::Server);
  CHECK(bin.decode(masked(Opcode::Binary, "\xff\xfe"), r) == Decoder::Status::Ok);
}

TEST_CASE("close frames: code and reason, empty, invalid") {
  Recorder r;
  Decoder d(Role::Server);
  CHECK(d.decode(masked(Opcode::Close, closePayload(1000, "bye")) + masked(Opcode::Text, "late"), r) ==
        Decoder::Status::Closed);
  REQUIRE(r.events.size() == 1);
  CHECK(r.events[0].code == 1000);
  CHECK(r.events[0].payload == "bye");
  CHECK(d.decode(masked(Opcode::Text, "later"), r) == Decoder::Status::Closed);

  Decoder empty(Role::Client);
  CHECK(empty.decode(encodeFrame(Opcode::Close, ""), r) == Decoder::Status::Closed);
  CHECK(r.events.back().code == close_code::kNoStatus);

  for (std::string body : {std::string("\x03", 1), closePayload(1005), closePayload(999),
                           closePayload(2000), std::string("\x03\xe8\xff", 3)}) {
    Decoder bad(Role::Server);
    CHECK(bad.decode(masked(Opcode::Close, body), r) == Decoder::Status::Error);
  }
  CHECK(isValidCloseCode(4000));
  CHECK_FALSE(isValidCloseCode(1006));
}

TEST_CASE("a sink can stop decoding, the rest is decoded on the next call") {
  Decoder d(Role::Server);
  Recorder r;
  r.stopAfter = 1;
  std::string two = masked(Opcode::Text, "a") + masked(Opcode::Text, "b");
  CHECK(d.decode(two, r) == Decoder::Status::Stopped);
  CHECK(r.events.size() == 1);
  r.stopAfter = -1;
  CHECK(d.decode(nullptr, 0, r) == Decoder::Status::Ok);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[1].payload == "b");
}

TEST_CASE("encoder picks the shortest length form") {
  uint8_t h[kMaxHeaderSize];
  CHECK(encodeHeader(h, Opcode::Text, 125) == 2);
  CHECK(h[0] == 0x81);
  CHECK(h[1] == 125);
  CHECK(encodeHeader(h, Opcode::Binary, 126) == 4);
  CHECK(h[1] == 126);
  CHECK(h[2] == 0);
  CHECK(h[3] == 126);
  CHECK(encodeHeader(h, Opcode::Binary, 65536) == 10);
  CHECK(h[1] == 127);
  CHECK(h[7] == 1);
  CHECK(encodeHeader(h, Opcode::Binary, 65536, false, kKey) == 14);
  CHECK(h[0] == 0x02);
  CHECK(h[1] == (0x80 | 127));
  // Client-encoded frames round-trip through a server decoder and vice versa.
  Decoder server(Role::Server);
  Decoder client(Role::Client);
  Recorder r;
  CHECK(server.decode(encodeFrame(Opcode::Binary, std::string(70000, 'z'), true, kKey), r) ==
        Decoder::Status::Ok);
  CHECK(client.decode(encodeFrame(Opcode::Pong, "pp"), r) == Decoder::Status::Ok);
  REQUIRE(r.events.size() == 2);
  CHECK(r.events[0].payload == std::string(70000, 'z'));
  CHECK(r.events[1].kind == "pong");
}

TEST_CASE("applyMask with an offset masks a payload in pieces") {
  std::string whole = "abcdefghij";
  std::string pieces = whole;
  applyMask(reinterpret_cast<uint8_t*>(whole.data()), whole.size(), kKey);
  applyMask(reinterpret_cast<uint8_t*>(pieces.data()), 3, kKey, 0);
  applyMask(reinterpret_cast<uint8_t*>(pieces.data()) + 3, 7, kKey, 3);
  CHECK(whole == pieces);
}

TEST_CASE("closePayload truncates long reasons without cutting a character") {
  std::string reason(122, 'r');
  reason += "\xc3\xa9\xc3\xa9";
  std::string p = closePayload(1001, reason);
  CHECK(p.size() <= 125);
  CHECK(isValidUtf8(p.substr(2)));
  CHECK(uint8_t(p[0]) == 0x03);
  CHECK(uint8_t(p[1]) == 0xE9);
}

TEST_CASE("UTF-8 validation") {
  CHECK(isValidUtf8(""));
  CHECK(isValidUtf8("plain ascii long enough for the fast path"));
  CHECK(isValidUtf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));  // kosme
  CHECK(isValidUtf8("\xf0\x9f\x98\x80"));                             // U+1F600
  CHECK(isValidUtf8("\xf4\x8f\xbf\xbf"));                             // U+10FFFF
  CHECK_FALSE(isValidUtf8("\xc0\xaf"));          // overlong '/'
  CHECK_FALSE(isValidUtf8("\xe0\x80\xaf"));      // overlong
  CHECK_FALSE(isValidUtf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(isValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(isValidUtf8("\xf5\x80\x80\x80"));
  CHECK_FALSE(isValidUtf8("abc\xe2\x82"));       // truncated
  CHECK_FALSE(isValidUtf8("\x80"));
  CHECK_FALSE(isValidUtf8("12345678\xff"));
}
