// Fleet bus wire format (backend/bus/): --redis URLs, channel payloads, stream entry ids,
// client message ids and key names. A wrong parse here means lost or misrouted messages.
#include <doctest/doctest.h>

#include "backend/bus/bus_codec.h"
#include "backend/bus/redis_url.h"

using namespace backend::bus;

TEST_CASE("redis URLs: host, port, db and password") {
  std::string err;
  auto t = parseRedisUrl("redis://127.0.0.1:6390", err);
  REQUIRE(t);
  CHECK(t->host == "127.0.0.1");
  CHECK(t->port == 6390);
  CHECK(t->db == 0);
  CHECK(t->password.empty());

  t = parseRedisUrl("redis://redis/3", err);
  REQUIRE(t);
  CHECK(t->host == "redis");
  CHECK(t->port == 6379);
  CHECK(t->db == 3);

  t = parseRedisUrl("redis://user:s3cr:et@10.0.0.5:6380/0", err);
  REQUIRE(t);
  CHECK(t->password == "s3cr:et");
  CHECK(t->host == "10.0.0.5");
  CHECK(t->display() == "10.0.0.5:6380/0");  // never the password

  t = parseRedisUrl("redis://[::1]:7000/", err);
  REQUIRE(t);
  CHECK(t->host == "::1");
  CHECK(t->port == 7000);
  CHECK(t->display() == "[::1]:7000/0");
}

TEST_CASE("redis URLs: bad input names what is wrong") {
  std::string err;
  CHECK_FALSE(parseRedisUrl("127.0.0.1:6379", err));
  CHECK(err.find("redis://") != std::string::npos);
  CHECK_FALSE(parseRedisUrl("redis://", err));
  CHECK(err == "missing host");
  CHECK_FALSE(parseRedisUrl("redis://h:0", err));
  CHECK_FALSE(parseRedisUrl("redis://h:65536", err));
  CHECK_FALSE(parseRedisUrl("redis://h:", err));
  CHECK_FALSE(parseRedisUrl("redis://h:12x", err));
  CHECK_FALSE(parseRedisUrl("redis://h/16", err));
  CHECK(err == "database must be 0..15");
  CHECK_FALSE(parseRedisUrl("redis://[::1", err));
  CHECK_FALSE(parseRedisUrl("redis://[::1]x", err));
  CHECK_FALSE(parseRedisUrl("redis://a b", err));
}

TEST_CASE("bus payloads: messages carry their seq, typing has none") {
  BusPayload p;
  REQUIRE(parseBusPayload(R"(m 42 {"room":"r"})", p));
  CHECK(p.kind == BusPayload::Kind::Message);
  CHECK(p.seq == 42);
  CHECK(p.json == R"({"room":"r"})");

  std::string typing = encodeTyping(R"({"room":"r"})");  // p.json points into it
  REQUIRE(parseBusPayload(typing, p));
  CHECK(p.kind == BusPayload::Kind::Typing);
  CHECK(p.json == R"({"room":"r"})");

  for (const char* bad : {"", "m", "m 42", "m 42 ", "m 0 {}", "m -1 {}", "m x {}", "m 99999999999999999999 {}",
                          "x 1 {}", "m1 {}", "t"}) {
    CAPTURE(bad);
    CHECK_FALSE(parseBusPayload(bad, p));
  }
}

TEST_CASE("stream entry ids are <seq>-0") {
  uint64_t s = 0;
  CHECK(parseEntryId("17-0", s));
  CHECK(s == 17);
  CHECK_FALSE(parseEntryId("17-1", s));  // never written by the commit script
  CHECK_FALSE(parseEntryId("0-0", s));
  CHECK_FALSE(parseEntryId("17", s));
  CHECK_FALSE(parseEntryId("-0", s));
}

TEST_CASE("client message ids and keys") {
  CHECK(validCid("a"));
  CHECK(validCid("client-1.msg_22"));
  CHECK(validCid(std::string(64, 'x')));
  CHECK_FALSE(validCid(""));
  CHECK_FALSE(validCid(std::string(65, 'x')));
  CHECK_FALSE(validCid("a:b"));  // ':' would make cid keys ambiguous
  CHECK_FALSE(validCid("a b"));
  // Every key of a room carries the room as its hash tag: one Redis Cluster slot per room.
  CHECK(cidKey("a", "b:c") == "tether:{b:c}:cid:a");
  CHECK(cidKey("c1", "lobby") == "tether:{lobby}:cid:c1");
  CHECK(seqKey("lobby") == "tether:{lobby}:seq");
  CHECK(historyKey("lobby") == "tether:{lobby}:hist");
  CHECK(presenceKey("lobby") == "tether:{lobby}:presence");
  CHECK(roomChannel("lobby") == "tether:{lobby}:ch");
  CHECK(instanceKey("host:8001") == "tether:instance:host:8001");
}

// Redis hashes the text between the first '{' and the first '}' after it. A room holding a
// brace would cut the tag short or empty it (then each key hashes whole: different slots).
TEST_CASE("room keys escape braces so the hash tag is the whole room") {
  CHECK(seqKey("}x") == "tether:{%7Dx}:seq");
  CHECK(seqKey("a{b}") == "tether:{a%7Bb%7D}:seq");
  CHECK(seqKey("50%") == "tether:{50%25}:seq");
  for (std::string room : {"lobby", "a:b", "}x", "{", "%7D", "50%", "é ü", "a{b}c%"}) {
    CAPTURE(room);
    std::string ch = roomChannel(room), back;
    REQUIRE(roomOfChannel(ch, back));
    CHECK(back == room);
    // The tag: between the first '{' and the next '}' — the same for every key of the room.
    auto tag = [](const std::string& k) {
      size_t open = k.find('{'), close = k.find('}', open + 1);
      return k.substr(open + 1, close - open - 1);
    };
    CHECK(tag(ch) == tag(seqKey(room)));
    CHECK(tag(ch) == tag(historyKey(room)));
    CHECK(tag(ch) == tag(presenceKey(room)));
    CHECK(tag(ch) == tag(cidKey("c.1", room)));
    CHECK_FALSE(tag(ch).empty());
  }
  std::string r;
  for (const char* bad : {"tether:bus", "tether:{}:ch", "tether:{a}:seq", "tether:{a%7}:ch", "tether:{a%zz}:ch",
                          "tether:{a}b}:ch", "x:{a}:ch", "tether:{a"}) {
    CAPTURE(bad);
    CHECK_FALSE(roomOfChannel(bad, r));
  }
}
