// Translation between an HTTP/2 stream's header fields and the HTTP/1.1 heads the rest of the
// proxy works with, as pure functions (no I/O, no nghttp2), so they can be unit-tested and fuzzed.
//
// A request's fields become an HTTP/1.1 request head text: ":method :path HTTP/1.1", Host from
// :authority (else the host field), Cookie crumbs joined back into one header (RFC 9113 8.2.3),
// the other fields as they came, and Transfer-Encoding: chunked when a body follows without a
// content-length. An extended CONNECT for WebSocket (RFC 8441: `:method CONNECT`, `:protocol
// websocket`) becomes the HTTP/1.1 handshake instead: `GET :path` with Connection: Upgrade,
// Upgrade: websocket, Sec-WebSocket-Version: 13 and the Sec-WebSocket-Key the caller supplies
// (an h2 client sends none); Sec-WebSocket-Protocol / -Extensions pass as they came. The text is
// then parsed by the ordinary request parser, so routing, affinity,
// header rules and forwarding headers treat an h2 stream exactly like an HTTP/1.1 request.
//
// A response head written for HTTP/1.1 (http/rewrite.h, with the route's rules and affinity
// lines applied) becomes h2 fields: ":status", then every header with its name lower-cased,
// leaving out the connection-specific ones HTTP/2 forbids (Connection, Keep-Alive,
// Proxy-Connection, Transfer-Encoding, Upgrade).
//
// Fields are views: a request's into the buffers its HPACK decoder filled, a response's into its
// head text, so no field is copied on its way through.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace proxy::h2 {

struct Field {
  std::string_view name, value;
};

// Appends the HTTP/1.1 head for `fields` (names lower-case, as HTTP/2 requires) to `out`.
// `has_body`: the HEADERS frame did not end the stream. False with `why` set when the request
// lacks :method, :path or :scheme, is a CONNECT without `:protocol` (not served over HTTP/2), an
// extended CONNECT for another protocol than websocket, or a WebSocket one without `ws_key`.
bool http1RequestHead(std::span<const Field> fields, bool has_body, std::string& out, const char** why,
                      std::string_view ws_key = {});

// The fields of a response head "HTTP/1.1 200 OK\r\nName: v\r\n...\r\n" as h2 fields, appended
// to `out` (":status" first). The header names in `head` are lower-cased in place; the fields
// point into `head`. False when the status line is not one.
bool h2ResponseFields(std::string& head, std::vector<Field>& out);

// True when `fields` are an extended CONNECT for WebSocket (`:method CONNECT`, `:protocol
// websocket`).
bool isWebSocketConnect(std::span<const Field> fields);

// The fields of an upstream's 101 (from h2ResponseFields) as the answer to an extended CONNECT:
// ":status" 200, without Sec-WebSocket-Accept (it answers a key the client never sent).
void webSocketAccepted(std::vector<Field>& fields);

}  // namespace proxy::h2
