// Header rewriting between the two sides of the proxy, as a pure function of a parsed head.
//
// Towards the upstream: request line with HTTP/1.1, hop-by-hop headers removed (Connection and
// every name it lists, Keep-Alive, TE, Trailer, Transfer-Encoding, Proxy-Connection, and Upgrade
// unless upgrading), Host preserved (or taken from an absolute-form target's authority),
// forwarding headers written (below), the request id header replaced when request ids are on, the
// route's header rules applied (HeaderEdits), and the body framing the proxy will actually send. Towards the client: the
// same hop-by-hop filter on the response plus the framing and Connection header that match what
// the proxy does with this client connection. Output is appended to a caller-owned string whose
// capacity is reused, so steady-state rewriting allocates nothing.
//
// Forwarding headers depend on whether the connection's client (the TCP peer, or the PROXY
// protocol source) is a trusted proxy. Trusted: its X-Forwarded-For chain is kept with the peer
// appended, and its X-Forwarded-Proto and X-Forwarded-Host pass through (ours are added only when
// it sent none). Untrusted: X-Forwarded-For is the peer alone and the other two are ours, so a
// client cannot forge them. X-Real-IP is always ours: the request's client as resolved through
// the trusted chain (lb/key_extractor.h). X-Client-Cert-Subject is always ours too: the subject
// of the client certificate the TLS handshake verified, absent without one.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/http/message_head.h"

namespace proxy::http {

// A route's header rules, prepared for one message: every header (the sender's or tether's own
// forwarding ones) whose lower-case name is in `remove` is left out, then `add` (whole
// "Name: value\r\n" lines) is appended. Framing headers are never in either (the loader refuses).
struct HeaderEdits {
  std::span<const std::string> remove;
  std::string_view add;
  bool removes(std::string_view name) const;
};

struct ForwardInfo {
  std::string_view client_ip;        // the connection's client: appended to X-Forwarded-For
  std::string_view proto = "http";   // X-Forwarded-Proto
  std::string_view default_host;     // Host to send when the client sent none (HTTP/1.0 only)
  bool upgrade = false;              // forward Upgrade + Connection: upgrade
  std::string_view url;              // the request target to send, when not the client's
  std::string_view real_ip;          // the request's client (X-Real-IP); empty: client_ip
  bool trusted = false;              // client_ip is a trusted proxy (see above)
  std::string_view request_id_name;  // request ids on: headers of this name are replaced by...
  std::string_view request_id;       // ...this one value
  HeaderEdits edits;                 // the route's request_headers, applied last
  std::string_view client_cert_subject;  // X-Client-Cert-Subject: the verified client certificate's
};

void writeUpstreamRequestHead(const MessageHead& req, const ForwardInfo& fwd, std::string& out);

enum class BodyFraming : uint8_t {
  None,           // no body (HEAD, 1xx, 204, 304)
  ContentLength,  // the upstream's Content-Length, passed through
  Chunked,        // re-framed as chunked for an HTTP/1.1 client
  UntilClose,     // HTTP/1.0 client without a length: the body ends when we close
};

// How the response body goes to the client, from what the upstream said and who the client is.
BodyFraming responseFraming(const MessageHead& resp, bool request_was_head, bool client_http11);

struct DownstreamInfo {
  BodyFraming framing;
  bool keep_alive;       // the client connection stays open after this response
  bool client_http10;    // say "Connection: keep-alive" explicitly to 1.0 clients
  bool upgrade = false;  // 101: forward Upgrade, Connection: upgrade
  std::string_view request_id_name;  // request ids on: the upstream's header of this name is
  std::string_view request_id;       // replaced by the request's id
  HeaderEdits edits;                 // the route's response_headers, applied last
};

void writeDownstreamResponseHead(const MessageHead& resp, const DownstreamInfo& info, std::string& out);

// The head of a response tether makes itself for a route (respond, redirect): status line,
// Content-Type, Content-Length, Location when not empty, the request id and the Connection header
// from `info` (its framing is ignored).
void writeLocalResponseHead(uint16_t status, std::string_view content_type, std::string_view location,
                            uint64_t content_length, const DownstreamInfo& info, std::string& out);

// Rewrites the value of the Content-Length header in a head written by
// writeDownstreamResponseHead. False when it has none.
bool setContentLength(std::string& head, uint64_t length);

// Appends "<hex len>\r\n" (the chunk-size line) to a small buffer; returns the bytes written.
size_t writeChunkHeader(size_t len, char* out);

}  // namespace proxy::http
