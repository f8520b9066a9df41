// The Socket.IO text of a committed room message, built by splicing into its JSON text instead
// of parsing it into a tree and serialising it again. Pure, no I/O.
//
// A committed message is a JSON object without "seq" (the commit script in Redis assigns seq
// and cannot edit JSON; bus_codec.h). Delivery appends the seq — and "replay": true for a
// history replay — before the object's closing brace and wraps it as the event "message" on
// the default namespace. Worked example, seq 7:
//   {"room":"a","text":"hi"}  ->  2["message",{"room":"a","text":"hi","seq":7}]
//   {}                        ->  2["message",{"seq":7}]
// The input must be a JSON object (the bus checks every message with checkMessageJson() before
// it gets here); anything whose first and last non-blank bytes are not '{' and '}' is refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace backend::chat {

// Sets `out` to the EVENT packet text; false (out untouched) when `json` is not an object.
bool messageEventText(std::string_view json, uint64_t seq, bool replay, std::string& out);

}  // namespace backend::chat
