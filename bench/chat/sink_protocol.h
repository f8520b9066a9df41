// What chat-sink (chat_sink.h) writes, as pure functions over strings: the answer to a WebSocket
// upgrade request, server text frames, the broadcast frame and the acks. No I/O.
//
// Worked example: a broadcast of the object {"room":"r","text":"hi"} is one unmasked text frame
//   81 26 42["message",{"room":"r","text":"hi"}]      (0x26 = 38 payload bytes)
// built once by appendBroadcastFrame() and copied to every member.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bench::chat {

// "HTTP/1.1 400 ..." for a request chat-sink does not serve.
extern const std::string_view kSinkBadRequest;

// For `head` (the request line and headers, without the blank line): the 101 response followed
// by the Engine.IO open packet for session `id`, or "" unless it is GET /socket.io/...
// transport=websocket with a valid Sec-WebSocket-Key.
std::string upgradeAnswer(std::string_view head, uint32_t id, uint64_t ping_interval_ms);

// Appends one unmasked text frame.
void appendTextFrame(std::string& out, std::string_view payload);

// Appends the frame 42["message",<args>] (args: the client's object, verbatim).
void appendBroadcastFrame(std::string& out, std::string_view args);

// Acks: 43<id>[{"room":"<room>","members":N}], 43<id>[{"id":"<n>"}], 43<id>[{"error":"<e>"}].
std::string joinAck(int64_t ack_id, std::string_view room, size_t members);
std::string messageAck(int64_t ack_id, uint64_t n);
std::string errorAck(int64_t ack_id, std::string_view error);

}  // namespace bench::chat
