// WebSocket opening handshake helpers (RFC 6455 section 4): pure functions, no I/O.
//
// The server answers a client's Sec-WebSocket-Key with
//   Sec-WebSocket-Accept = base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
// (SHA-1 from OpenSSL libcrypto). Worked example from RFC 6455 1.3:
//   key "dGhlIHNhbXBsZSBub25jZQ==" -> accept "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
// A client (the load generator) makes a key from 16 random bytes and checks the server's answer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace common::ws {

// Sec-WebSocket-Accept for a client key.
std::string acceptKey(std::string_view clientKey);

// True when `key` is base64 of exactly 16 bytes, as RFC 6455 4.1 requires.
bool isValidClientKey(std::string_view key);

// A Sec-WebSocket-Key built from 16 caller-provided random bytes.
std::string makeClientKey(const uint8_t (&random16)[16]);

// The value of the first header `name` (compared case-insensitively) in an HTTP head "start
// line\r\nName: value\r\n...", without surrounding blanks; empty when there is none.
std::string_view headerValue(std::string_view head, std::string_view name);

// True when a comma-separated header value (e.g. Connection: keep-alive, Upgrade) contains
// `token`, compared case-insensitively.
bool headerHasToken(std::string_view value, std::string_view token);

}  // namespace common::ws
