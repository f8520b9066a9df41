// Socket.IO v5 packet codec (backend/socketio/packet.h): the examples of the protocol
// description, validation rules, binary attachments.
#include <doctest/doctest.h>

#include "backend/socketio/packet.h"

using namespace backend::socketio;

TEST_CASE("decodes connect, event, ack with namespaces and ids") {
  Packet p;
  REQUIRE(decode("0", p));
  CHECK(p.type == PacketType::Connect);
  CHECK(p.nsp == "/");
  CHECK_FALSE(p.hasData());

  REQUIRE(decode("0/admin,{\"token\":\"123\"}", p));
  CHECK(p.nsp == "/admin");
  CHECK(p.data["token"] == "123");

  REQUIRE(decode("2[\"hello\",1]", p));
  CHECK(p.type == PacketType::Event);
  CHECK(p.id == -1);
  CHECK(p.data[0] == "hello");

  REQUIRE(decode("2[1,\"x\"]", p));  // a numeric event name is allowed
  CHECK(p.data[0] == 1);

  REQUIRE(decode("2/admin,456[\"project:delete\",123]", p));
  CHECK(p.nsp == "/admin");
  CHECK(p.id == 456);

  REQUIRE(decode("3/admin,456[]", p));
  CHECK(p.type == PacketType::Ack);
  CHECK(p.id == 456);

  REQUIRE(decode("1/admin,", p));
  CHECK(p.type == PacketType::Disconnect);
  CHECK(p.nsp == "/admin");
}

TEST_CASE("invalid packets are rejected") {
  Packet p;
  for (const char* bad : {"", "7", "x", "2", "2{}", "2[]", "2[true]", "2[\"connect\"]", "2[\"disconnect\",1]",
                          "2[\"disconnecting\"]", "2[\"connect_error\"]", "2[\"newListener\"]", "2[\"removeListener\"]", "2[\"a\"", "0\"str\"", "0[]", "1{}", "3[]",
                          "3/a,1{}", "51-", "5-[\"a\"]", "5999-[\"a\"]", "2\xff", "2[\"\xff\"]",
                          "21234567890123456[\"a\"]"}) {
    CAPTURE(bad);
    CHECK_FALSE(decode(bad, p));
  }
}

TEST_CASE("encodes with namespace, id and JSON") {
  std::vector<std::string> att;
  Packet p;
  p.type = PacketType::Connect;
  p.nsp = "/custom";
  p.data = json{{"sid", "abc"}};
  CHECK(encode(p, att) == "0/custom,{\"sid\":\"abc\"}");
  CHECK(encodeEvent("/", "hello", json::array({1, "two"}), att) == "2[\"hello\",1,\"two\"]");
  Packet ack;
  ack.type = PacketType::Ack;
  ack.id = 12;
  ack.data = json::array({"ok"});
  CHECK(encode(ack, att) == "312[\"ok\"]");
  CHECK(att.empty());
}

TEST_CASE("binary values become attachments and come back") {
  std::vector<std::string> att;
  json args = json::array({json::binary({1, 2, 3}), json{{"b", json::binary({9})}}});
  std::string text = encodeEvent("/", "file", args, att);
  CHECK(text == "52-[\"file\",{\"_placeholder\":true,\"num\":0},{\"b\":{\"_placeholder\":true,\"num\":1}}]");
  REQUIRE(att.size() == 2);

  Reassembler r;
  Packet out;
  CHECK(r.addText(text, out) == Reassembler::Result::NeedMore);
  CHECK(r.addBinary(att[0], out) == Reassembler::Result::NeedMore);
  REQUIRE(r.addBinary(att[1], out) == Reassembler::Result::Complete);
  CHECK(out.type == PacketType::BinaryEvent);
  CHECK(out.data[1].is_binary());
  CHECK(static_cast<const std::vector<uint8_t>&>(out.data[1].get_binary()) == std::vector<uint8_t>{1, 2, 3});
  CHECK(static_cast<const std::vector<uint8_t>&>(out.data[2]["b"].get_binary()) == std::vector<uint8_t>{9});
}

TEST_CASE("reassembler rejects out-of-order input and bad placeholders") {
  Reassembler r;
  Packet out;
  CHECK(r.addBinary("x", out) == Reassembler::Result::Error);
  Reassembler r2;
  CHECK(r2.addText("51-[\"a\",{\"_placeholder\":true,\"num\":5}]", out) == Reassembler::Result::NeedMore);
  CHECK(r2.addBinary("x", out) == Reassembler::Result::Error);
  Reassembler r3;
  CHECK(r3.addText("51-[\"a\",{\"_placeholder\":true,\"num\":0}]", out) == Reassembler::Result::NeedMore);
  CHECK(r3.addText("2[\"b\"]", out) == Reassembler::Result::Error);
}

TEST_CASE("JSON nested deeper than 64 levels is refused, also as a binary event with attachments") {
  auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  Packet p;
  CHECK(decode("2[\"e\"," + nested(63) + "]", p));  // 64 levels with the outer array
  CHECK_FALSE(decode("2[\"e\"," + nested(64) + "]", p));
  CHECK(decode("2[\"e\",\"" + std::string(100, '[') + "\"]", p));  // brackets inside a string do not count
  CHECK(decode("2[\"e\\\"\"," + nested(63) + "]", p));           // nor does an escaped quote end one

  // A message of ~1 MB: the attachment walk would recurse once per level.
  Reassembler r;
  Packet out;
  CHECK(r.addText("51-[\"e\"," + nested(450000) + "]", out) == Reassembler::Result::Error);
  Reassembler fresh;
  CHECK(fresh.addText("51-[\"e\"," + nested(62) + ",{\"_placeholder\":true,\"num\":0}]", out) == Reassembler::Result::NeedMore);
  CHECK(fresh.addBinary("x", out) == Reassembler::Result::Complete);
}

