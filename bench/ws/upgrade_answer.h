// The server's answer to a WebSocket upgrade, as the load generators read it (pure, no I/O): the
// head must end within a size limit and start with "HTTP/1.1 101". What comes after the head is
// the first WebSocket bytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace bench::ws {

enum class UpgradeAnswer { Incomplete, TooLarge, Refused, Accepted };

// `received`: the bytes so far. Incomplete (wait for more) while the head has not ended and is
// within `max_head`; Accepted sets `head_len` to the head's length with its blank line.
UpgradeAnswer readUpgradeAnswer(std::string_view received, size_t max_head, size_t& head_len);

}  // namespace bench::ws
