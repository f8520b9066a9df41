// WebSocket handshake helpers and base64 (common/ws_handshake.h, common/base64.h).
#include <doctest/doctest.h>

#include "common/base64.h"
#include "common/ws_handshake.h"

using namespace common;

TEST_CASE("Sec-WebSocket-Accept matches RFC 6455 section 1.3") {
  CHECK(ws::acceptKey("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("client keys must be base64 of 16 bytes") {
  CHECK(ws::isValidClientKey("dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK_FALSE(ws::isValidClientKey("dGhlIHNhbXBsZSBub25jZQ"));
  CHECK_FALSE(ws::isValidClientKey("dGhlIHNhbXBsZSBub25jZQ=!"));
  CHECK_FALSE(ws::isValidClientKey(""));
  const uint8_t r[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  CHECK(ws::isValidClientKey(ws::makeClientKey(r)));
}

TEST_CASE("header token lists are matched case-insensitively") {
  CHECK(ws::headerHasToken("keep-alive, Upgrade", "upgrade"));
  CHECK(ws::headerHasToken("websocket", "WebSocket"));
  CHECK_FALSE(ws::headerHasToken("keep-alive", "upgrade"));
  CHECK_FALSE(ws::headerHasToken("upgraded", "upgrade"));
}

TEST_CASE("a header's value is found by case-insensitive name, without surrounding blanks") {
  std::string_view head = "GET /ws HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Key:  k== \t\r\nX-Sec-WebSocket-Key: other\r\n";
  CHECK(ws::headerValue(head, "sec-websocket-key") == "k==");
  CHECK(ws::headerValue(head, "HOST") == "a");
  CHECK(ws::headerValue(head, "key").empty());     // a suffix of a name is not the name
  CHECK(ws::headerValue(head, "GET /ws HTTP/1.1").empty());  // the start line is not a header
  CHECK(ws::headerValue("", "host").empty());
}

TEST_CASE("base64 round-trips and rejects malformed input") {
  CHECK(base64Encode("") == "");
  CHECK(base64Encode("f") == "Zg==");
  CHECK(base64Encode("fo") == "Zm8=");
  CHECK(base64Encode("foo") == "Zm9v");
  CHECK(base64Encode("foobar") == "Zm9vYmFy");
  CHECK(base64Decode("Zg==") == std::string("f"));
  CHECK(base64Decode("Zm8=") == std::string("fo"));
  CHECK(base64Decode("Zm9vYmFy") == std::string("foobar"));
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  CHECK(base64Decode(base64Encode(all)) == all);
  CHECK_FALSE(base64Decode("Zg="));
  CHECK_FALSE(base64Decode("Z==="));
  CHECK_FALSE(base64Decode("Zg==Zg=="));
  CHECK_FALSE(base64Decode("Zm9v!mFy"));
  // Non-zero bits after the last byte: one text per byte string.
  CHECK_FALSE(base64Decode("Zh=="));
  CHECK_FALSE(base64Decode("Zm9="));
  CHECK_FALSE(base64Decode("AQv="));
  CHECK(base64Decode("AQs=") == std::string("\x01\x0b"));
}
