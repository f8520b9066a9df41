// `tether-bench chat-sink`: the trivial chat server that `tether-bench chat` is measured against
// when the question is the generator's own ceiling, not a real server's cost.
//
// One thread, one libuv loop, 127.0.0.1 only, WebSocket only: GET /socket.io/?...&transport=
// websocket -> 101 -> Engine.IO open "0{...}" (pingInterval 25 s: it sends "2" to every client
// that often and ignores the "3"s) -> "40" answered "40{"sid":...}" -> 42<id>["join","room"]
// acked 43<id>[{"room":...,"members":N}] (one room per connection; a second join is answered
// {"error":"one room per connection"}) -> 42<id>["message",{"room":...,...}] broadcast to the
// room, sender included, as 42["message",<the client's object, verbatim>] and acked
// 43<id>[{"id":"<n>"}]. A message for a room the sender is not in is acked {"error":"not in room"}.
//
// The cost per delivery is as low as a broadcast can be: each message is framed once, and the
// frame is appended to every member's output buffer; buffers are written once per loop turn
// (uv_check), one write per connection, however many frames it holds. A connection whose
// unwritten output passes 64 MiB is closed (a client that stopped reading).
//
// usage: tether-bench chat-sink [--port N]   (0 or absent: any free port; prints
// "listening 127.0.0.1:N"); SIGINT/SIGTERM print the counts and exit 0.
#pragma once

namespace bench::chat {

int chatSinkMain(int argc, char** argv);

}  // namespace bench::chat
