// Engine.IO v4 packet and payload codec (backend/engineio/packet.h).
#include <doctest/doctest.h>

#include "backend/engineio/packet.h"

using namespace backend::engineio;

TEST_CASE("text packets carry a type digit and data") {
  Packet p;
  REQUIRE(decodeTextPacket("4hello", p));
  CHECK(p.type == PacketType::Message);
  CHECK(p.data == "hello");
  CHECK_FALSE(p.binary);
  REQUIRE(decodeTextPacket("2probe", p));
  CHECK(p.type == PacketType::Ping);
  CHECK(p.data == "probe");
  REQUIRE(decodeTextPacket("6", p));
  CHECK(p.type == PacketType::Noop);
  CHECK_FALSE(decodeTextPacket("", p));
  CHECK_FALSE(decodeTextPacket("7", p));
  CHECK_FALSE(decodeTextPacket("hello", p));
}

TEST_CASE("polling payloads split on the record separator, 'b' is base64 binary") {
  std::vector<Packet> out;
  REQUIRE(decodePayload("4hello\x1e" "bAQID\x1e" "3", out));
  REQUIRE(out.size() == 3);
  CHECK(out[0].data == "hello");
  CHECK(out[1].binary);
  CHECK(out[1].type == PacketType::Message);
  CHECK(out[1].data == std::string("\x01\x02\x03", 3));
  CHECK(out[2].type == PacketType::Pong);
}

TEST_CASE("malformed payloads are rejected") {
  std::vector<Packet> out;
  CHECK_FALSE(decodePayload("", out));
  CHECK_FALSE(decodePayload("4a\x1e", out));      // empty packet after the separator
  CHECK_FALSE(decodePayload("b!!!!", out));       // bad base64
  CHECK_FALSE(decodePayload("4ok\x1e" "9x", out)); // unknown type
}

TEST_CASE("payload encoding round-trips") {
  std::string payload;
  appendToPayload(payload, PacketType::Message, false, "hi");
  appendToPayload(payload, PacketType::Message, true, std::string("\x00\xff", 2));
  appendToPayload(payload, PacketType::Ping, false, "");
  CHECK(payload == "4hi\x1e" "bAP8=\x1e" "2");
  std::vector<Packet> out;
  REQUIRE(decodePayload(payload, out));
  REQUIRE(out.size() == 3);
  CHECK(out[1].data == std::string("\x00\xff", 2));
}
