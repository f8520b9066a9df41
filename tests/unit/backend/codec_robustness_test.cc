// Robustness of the pure codecs against hostile input: seeded random bytes and mutations of
// valid input must never crash, hang or exceed the size limit (run under ASan/UBSan in CI).
// A fuzzing harness would feed the same entry points.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include "backend/engineio/packet.h"
#include "backend/socketio/packet.h"
#include "common/ws_codec.h"

namespace {

struct CountingSink : common::ws::Sink {
  size_t messages = 0, largest = 0;
  bool onMessage(common::ws::Opcode, std::string_view p) override {
    ++messages;
    largest = std::max(largest, p.size());
    return true;
  }
  bool onPing(std::string_view) override { return true; }
  bool onPong(std::string_view) override { return true; }
  bool onClose(uint16_t, std::string_view) override { return true; }
};

std::string randomBytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

}  // namespace

TEST_CASE("ws decoder survives random and mutated input within its size limit") {
  std::mt19937 rng(1234);
  const uint8_t key[4] = {1, 2, 3, 4};
  std::string valid = common::ws::encodeFrame(common::ws::Opcode::Text, "4hello", false, key) +
                      common::ws::encodeFrame(common::ws::Opcode::Continuation, " world", true, key) +
                      common::ws::encodeFrame(common::ws::Opcode::Ping, "p", true, key);
  for (int round = 0; round < 3000; ++round) {
    std::string input = round % 2 ? randomBytes(rng, rng() % 300) : valid;
    if (round % 2 == 0) {
      for (int m = 0; m < 3; ++m) input[rng() % input.size()] = static_cast<char>(rng() & 0xFF);
    }
    common::ws::Decoder d(round % 3 ? common::ws::Role::Server : common::ws::Role::Client, 256);
    CountingSink sink;
    size_t at = 0;
    while (at < input.size()) {
      size_t n = 1 + rng() % 17;
      auto status = d.decode(std::string_view(input).substr(at, n), sink);
      at += n;
      if (status == common::ws::Decoder::Status::Error) {
        CHECK(d.error() != common::ws::DecodeError::None);
        break;
      }
    }
    CHECK(sink.largest <= 256);
    CHECK(d.bufferedBytes() <= 256 + common::ws::kMaxHeaderSize);
  }
}

TEST_CASE("Engine.IO and Socket.IO decoders survive random and mutated input") {
  std::mt19937 rng(99);
  const std::string seeds[] = {"4hello\x1e" "bAQID", "2[\"a\",{\"b\":[1,2]}]", "51-[\"f\",{\"_placeholder\":true,\"num\":0}]",
                               "0/admin,{\"t\":1}", "312[\"x\"]"};
  for (int round = 0; round < 5000; ++round) {
    std::string input = seeds[rng() % 5];
    if (round % 3 == 0) input = randomBytes(rng, rng() % 64);
    for (int m = 0; m < 2 && !input.empty(); ++m) input[rng() % input.size()] = static_cast<char>(rng() & 0xFF);
    std::vector<backend::engineio::Packet> packets;
    (void)backend::engineio::decodePayload(input, packets);
    for (const auto& e : packets) CHECK((e.binary ? e.type == backend::engineio::PacketType::Message : true));
    backend::socketio::Reassembler r;
    backend::socketio::Packet p;
    auto res = r.addText(input, p);
    if (res == backend::socketio::Reassembler::Result::NeedMore) res = r.addBinary(randomBytes(rng, 8), p);
    if (res == backend::socketio::Reassembler::Result::Complete) {
      // Whatever gets through is a packet the server can act on without further checks.
      using backend::socketio::PacketType;
      if (p.type == PacketType::Event || p.type == PacketType::BinaryEvent) {
        REQUIRE(p.data.is_array());
        REQUIRE_FALSE(p.data.empty());
        CHECK(p.data[0].is_string());
      }
      if (p.type == PacketType::Ack || p.type == PacketType::BinaryAck) CHECK(p.id >= 0);
      CHECK(p.attachments == 0);
    }
  }
}
