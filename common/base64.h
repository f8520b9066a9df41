// Standard base64 (RFC 4648 section 4, with '=' padding): pure encode/decode, no exceptions.
//
// Used by the WebSocket handshake (Sec-WebSocket-Accept) and by Engine.IO, which sends binary
// packets over HTTP long-polling as `b<base64>`. Decoding is strict: characters outside the
// alphabet, bad padding or a length that is not a multiple of 4 are rejected, because a lenient
// decoder would make two different payloads mean the same bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace common {

std::string base64Encode(std::string_view bytes);
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace common
