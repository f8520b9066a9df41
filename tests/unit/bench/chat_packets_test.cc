// tether-bench chat's pure parts: the Engine.IO / Socket.IO packets it reads and writes
// (bench/chat/sio_packets.h), what chat-sink answers (bench/chat/sink_protocol.h) and the /proc
// parsers that give a server's CPU and RSS (bench/chat/proc_stats.h).
#include <doctest/doctest.h>

#include <unistd.h>

#include <string>

#include "bench/chat/proc_stats.h"
#include "bench/chat/sink_protocol.h"
#include "bench/chat/sio_packets.h"

using namespace bench::chat;

TEST_CASE("chat bench: a message carries its stamp and sender, and the text has the requested size") {
  std::string out;
  size_t n = appendMessage(out, "room3", 5000, 12, 40, 7);
  CHECK(n == out.size());
  CHECK(out == "427[\"message\",{\"room\":\"room3\",\"text\":\"~5000~12~" + std::string(31, 'x') + "\"}]");
  CHECK(out.find("~5000~12~") + 40 == out.find("\"}]"));
  // As tether-chat delivers it: the object gains fields, the stamp is found by scanning.
  std::string delivered = "42[\"message\",{\"room\":\"room3\",\"text\":\"~5000~12~xxxx\",\"from\":\"anon-1\",\"ts\":1}]";
  Parsed p;
  REQUIRE(classify(delivered, p) == Packet::Message);
  CHECK(p.stamp_ns == 5000);
  CHECK(p.sender == 12);
  // The largest stamp and sender still fit the smallest size.
  out.clear();
  appendMessage(out, "r", 9999999999999999999ull, 4294967295ull, kMinTextSize, 1);
  uint64_t stamp = 0, sender = 0;
  CHECK(parseStamp(out, stamp, sender));
  CHECK(stamp == 9999999999999999999ull);
  CHECK(sender == 4294967295ull);
}

TEST_CASE("chat bench: server packets are classified") {
  Parsed p;
  CHECK(classify("0{\"sid\":\"x\"}", p) == Packet::Open);
  CHECK(classify("2", p) == Packet::Ping);
  CHECK(classify("40{\"sid\":\"y\"}", p) == Packet::Connected);
  CHECK(classify("44{\"message\":\"no\"}", p) == Packet::ConnectError);
  CHECK(classify("430[{\"room\":\"room1\",\"members\":3}]", p) == Packet::Ack);
  CHECK(p.ack_id == 0);
  CHECK(classify("4312[{\"id\":\"bench-1\"}]", p) == Packet::Ack);
  CHECK(p.ack_id == 12);
  CHECK(classify("42[\"hello\",{\"server\":\"bench\"}]", p) == Packet::OtherEvent);
  // A message without a (well-formed) stamp is not a timed delivery.
  CHECK(classify("42[\"message\",{\"room\":\"r\",\"text\":\"hi\"}]", p) == Packet::OtherEvent);
  CHECK(classify("42[\"message\",{\"room\":\"r\",\"text\":\"~12a~3~\"}]", p) == Packet::OtherEvent);
  CHECK(classify("42[\"message\",{\"room\":\"r\",\"text\":\"~99999999999999999999~3~\"}]", p) == Packet::OtherEvent);
  CHECK(classify("43[]", p) == Packet::Unknown);
  CHECK(classify("", p) == Packet::Unknown);
  CHECK(classify("9", p) == Packet::Unknown);
}

TEST_CASE("chat bench: chat-sink reads joins and messages, and refuses other shapes") {
  ClientEvent ev;
  REQUIRE(parseClientEvent("420[\"join\",\"room7\"]", ev));
  CHECK(ev.kind == ClientEvent::Kind::Join);
  CHECK(ev.ack_id == 0);
  CHECK(ev.room == "room7");
  std::string msg;
  appendMessage(msg, "room7", 1, 2, 32, 5);
  REQUIRE(parseClientEvent(msg, ev));
  CHECK(ev.kind == ClientEvent::Kind::Message);
  CHECK(ev.ack_id == 5);
  CHECK(ev.room == "room7");
  CHECK(ev.args.front() == '{');
  CHECK(ev.args.back() == '}');
  REQUIRE(parseClientEvent("42[\"typing\",{}]", ev));
  CHECK(ev.kind == ClientEvent::Kind::Other);
  CHECK(ev.ack_id == -1);
  CHECK_FALSE(parseClientEvent("42[\"join\",\"a\\\"b\"]", ev));  // escapes: not a plain room name
  CHECK_FALSE(parseClientEvent("42[\"join\",7]", ev));
  CHECK_FALSE(parseClientEvent("42[\"message\",{\"text\":\"x\"}]", ev));
  CHECK_FALSE(parseClientEvent("42[\"join\",\"a\"", ev));
  CHECK_FALSE(parseClientEvent("3", ev));
}

TEST_CASE("chat bench: server CPU ticks and RSS from /proc text") {
  uint64_t ticks = 0, kib = 0;
  // Field 2 may hold spaces and parentheses; utime and stime are fields 14 and 15.
  std::string stat = "1234 (tether (chat) x) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 30 0 0 20 0 1 0 100 1000 200";
  REQUIRE(parseStatCpuTicks(stat, ticks));
  CHECK(ticks == 280);
  CHECK_FALSE(parseStatCpuTicks("1234 (x) S 1 2", ticks));
  CHECK_FALSE(parseStatCpuTicks("no parenthesis", ticks));
  REQUIRE(parseStatusRssKiB("Name:\tx\nVmPeak:\t 9 kB\nVmRSS:\t    6144 kB\n", kib));
  CHECK(kib == 6144);
  CHECK_FALSE(parseStatusRssKiB("Name:\tx\n", kib));
  double cpu = -1;
  CHECK(readProcessCpuSeconds(static_cast<int>(getpid()), cpu));
  CHECK(cpu >= 0);
}

TEST_CASE("chat bench: chat-sink's upgrade answer, broadcast frame and acks") {
  std::string head = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  std::string answer = upgradeAnswer(head, 7, 25000);
  CHECK(answer.rfind("HTTP/1.1 101 ", 0) == 0);
  CHECK(answer.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n") != std::string::npos);  // RFC 6455 1.3
  CHECK(answer.find("0{\"sid\":\"s7\"") != std::string::npos);
  CHECK(upgradeAnswer("GET / HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 1, 1).empty());
  CHECK(upgradeAnswer("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 1, 1).empty());
  CHECK(upgradeAnswer("GET /socket.io/?transport=websocket HTTP/1.1\r\nSec-WebSocket-Key: short\r\n", 1, 1).empty());

  std::string frame;
  appendBroadcastFrame(frame, "{\"room\":\"r\",\"text\":\"hi\"}");
  CHECK(static_cast<uint8_t>(frame[0]) == 0x81);
  CHECK(static_cast<uint8_t>(frame[1]) == 0x26);
  CHECK(frame.substr(2) == "42[\"message\",{\"room\":\"r\",\"text\":\"hi\"}]");
  Parsed p;
  std::string stamped;
  appendBroadcastFrame(stamped, "{\"room\":\"r\",\"text\":\"~5~6~x\"}");
  REQUIRE(classify(stamped.substr(2), p) == Packet::Message);  // what the generator reads back
  CHECK(p.stamp_ns == 5);
  CHECK(joinAck(0, "room1", 3) == "430[{\"room\":\"room1\",\"members\":3}]");
  CHECK(messageAck(4, 17) == "434[{\"id\":\"17\"}]");
  CHECK(errorAck(2, "not in room") == "432[{\"error\":\"not in room\"}]");
}
