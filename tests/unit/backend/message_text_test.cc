// Splicing the seq into a committed message's JSON text (backend/chat/message_text.h) and the
// bus's check of that text (bus_codec.h checkMessageJson): what a client parses must equal the
// tree-based encoding, and hostile text from the bus must be refused, never half-spliced.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "backend/bus/bus_codec.h"
#include "backend/chat/message_text.h"

using backend::bus::checkMessageJson;
using backend::chat::messageEventText;
using nlohmann::json;

namespace {
// The event's argument as a client's JSON parser sees it.
json argumentOf(const std::string& text) {
  REQUIRE(text.rfind("2[\"message\",", 0) == 0);
  json a = json::parse(text.substr(1));
  REQUIRE(a.is_array());
  REQUIRE(a.size() == 2);
  return a[1];
}
}  // namespace

TEST_CASE("the seq is spliced before the closing brace") {
  std::string out;
  REQUIRE(messageEventText(R"({"room":"a","text":"hi"})", 7, false, out));
  CHECK(out == R"(2["message",{"room":"a","text":"hi","seq":7}])");
  REQUIRE(messageEventText(R"({"room":"a"})", 18446744073709551615ull, true, out));
  CHECK(out == R"(2["message",{"room":"a","seq":18446744073709551615,"replay":true}])");
}

TEST_CASE("empty objects, blanks and braces inside strings") {
  std::string out;
  REQUIRE(messageEventText("{}", 1, false, out));
  CHECK(out == R"(2["message",{"seq":1}])");
  REQUIRE(messageEventText(" { \n } \r\n", 2, false, out));
  CHECK(argumentOf(out) == json{{"seq", 2}});
  REQUIRE(messageEventText(R"({"text":"}{\"}"})", 3, false, out));
  CHECK(argumentOf(out) == json{{"text", "}{\"}"}, {"seq", 3}});
  REQUIRE(messageEventText(R"({"nested":{"a":[1,{"b":{}}]}} )", 4, true, out));
  CHECK(argumentOf(out) == json{{"nested", {{"a", {1, {{"b", json::object()}}}}}}, {"seq", 4}, {"replay", true}});
}

TEST_CASE("the splice parses to what the tree encoding gives") {
  json msg = {{"room", "r\u00e9"}, {"text", "line\nwith \"quotes\" and \\ and \u2603"}, {"from", "u"},
              {"server", "s1"}, {"id", "s1-9"}, {"ts", 1700000000000LL}, {"cid", "c-1"}};
  std::string out;
  REQUIRE(messageEventText(msg.dump(), 42, false, out));
  json expected = msg;
  expected["seq"] = 42;
  CHECK(argumentOf(out) == expected);
}

TEST_CASE("text that is not an object is refused and leaves the output alone") {
  std::string out = "untouched";
  for (const char* bad : {"", " ", "{", "}", "[]", "[{}]", "\"{}\"", "42", "null", "{\"a\":1", "x{}", "{}x"}) {
    CAPTURE(bad);
    CHECK_FALSE(messageEventText(bad, 1, false, out));
    CHECK(out == "untouched");
  }
}

TEST_CASE("the bus accepts only objects of the right room without seq or replay") {
  CHECK(checkMessageJson(R"({"room":"a","text":"hi"})", "a"));
  CHECK(checkMessageJson(R"({"text":"hi","room":"a","nested":{"room":"b","seq":1}})", "a"));
  CHECK(checkMessageJson(R"({"text":"x"})", {}));  // history entries: no room to compare
  CHECK_FALSE(checkMessageJson(R"({"room":"b","text":"hi"})", "a"));
  CHECK_FALSE(checkMessageJson(R"({"text":"hi"})", "a"));
  CHECK_FALSE(checkMessageJson(R"({"room":1})", "a"));
  CHECK_FALSE(checkMessageJson(R"({"room":"a","seq":3})", "a"));       // would become a duplicate key
  CHECK_FALSE(checkMessageJson(R"({"room":"a","replay":false})", "a"));
  CHECK_FALSE(checkMessageJson(R"({"room":"a","room":"b"})", "a"));    // the last one would win in a client
  CHECK_FALSE(checkMessageJson(R"(["room","a"])", "a"));
  CHECK_FALSE(checkMessageJson(R"("{\"room\":\"a\"}")", "a"));
  CHECK_FALSE(checkMessageJson(R"({"room":"a"} {"room":"a"})", "a"));
  CHECK_FALSE(checkMessageJson(R"({"room":"a",})", "a"));
  CHECK_FALSE(checkMessageJson(R"({"room":"a","t":"\ud800"})", "a"));  // lone surrogate
  CHECK_FALSE(checkMessageJson("{\"room\":\"a\",\"t\":\"\xff\"}", "a"));  // invalid UTF-8
  CHECK_FALSE(checkMessageJson("", "a"));
  CHECK_FALSE(checkMessageJson(std::string(100000, '['), "a"));
  std::string deep = R"({"room":"a","d":)" + std::string(5000, '[') + std::string(5000, ']') + "}";
  CHECK(checkMessageJson(deep, "a"));  // deep but valid: checked without recursion
}
