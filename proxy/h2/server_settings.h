// The nghttp2 server session every h2 connection runs: the options (request bodies acknowledged
// by hand, caps on queued ACKs, SETTINGS entries and CONTINUATION frames) and our SETTINGS
// (max concurrent streams, initial window, max header list size, extended CONNECT for WebSocket,
// connection window), in one place so the connection (h2_session.h) and the frame fuzzer
// (tests/fuzz/h2_frames_fuzz.cc) run the same configuration.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstddef>

#include "proxy/config/config.h"

namespace proxy::h2 {

inline constexpr size_t kMaxContinuations = 8;      // CONTINUATION frames per header block
inline constexpr size_t kMaxOutboundAcks = 1000;    // SETTINGS/PING ACKs queued for a client that does not read
inline constexpr size_t kMaxSettingsEntries = 32;   // entries per SETTINGS frame

// Creates the session with `callbacks` and `user`, and queues our SETTINGS and the connection
// window. Null on failure.
nghttp2_session* newServerSession(const nghttp2_session_callbacks* callbacks, void* user, const config::Http2Config& cfg);

}  // namespace proxy::h2
