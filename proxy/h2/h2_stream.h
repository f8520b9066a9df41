// One HTTP/2 stream proxied as an HTTP/1.1 exchange over the upstream keep-alive pools.
//
// At the end of its HEADERS the stream's fields become an HTTP/1.1 head (h2_head.h) parsed by
// the ordinary request parser; from there the exchange is the HTTP/1.1 one: route (:authority
// routes like Host), route actions and limits, request id, affinity prepare, the picker
// (lb/pick.h: pins, tried set, health, strategy), attempts and retries by the same rules as
// session_exchange.cc (replay only while no body byte was forwarded and no response started),
// passive failure notes, and the response head written by http/rewrite.h with the route's rules
// and the affinity lines (Set-Cookie), then turned into h2 fields.
//
// Trailers: the client's trailing HEADERS become the trailer section of the chunked request body
// ("0\r\n" fields "\r\n"); with a content-length the body is not chunked and they are dropped.
// An upstream's chunked trailer fields become a trailing HEADERS frame with END_STREAM after the
// last DATA (the data provider ends without END_STREAM). Fields that may not be trailers are left
// out both ways (http/trailers.h). A client's trailers past max_header_list_bytes are answered
// 431 (a reset once the response started).
//
// Interim responses (100 Continue, 103 Early Hints, any 1xx but 101) are relayed as they come, as
// HEADERS frames without END_STREAM before the final response, as HTTP/1.1 clients get them.
//
// Flow control, both ways, with at most one buffer per direction:
// - request body: DATA goes to the upstream as it arrives (chunked when the client sent no
//   content-length); the bytes are acknowledged to nghttp2 (WINDOW_UPDATE) only once the
//   upstream socket took them, so the client's window is the buffer. Before a connection is
//   ready the body waits in `req_buf_`, bounded by that window.
// - response body: kept in `resp_buf_` until nghttp2 asks for it (the data provider); past
//   kMaxBuffered the upstream is not read until the client's window and write queue take it.
//
// A stream the client resets (or that closes for any reason) lets go of its upstream connection
// at once, not reusable, so a reset request stops using the upstream.
//
// WebSocket (RFC 8441): an extended CONNECT goes upstream as the HTTP/1.1 handshake (h2_head.h).
// When the upstream answers 101 the stream is answered 200 and becomes a tunnel over the raw
// upstream connection (never pooled): DATA from the client is written upstream and acknowledged
// as the socket takes it, upstream bytes become DATA (the upstream is not read past kMaxBuffered
// waiting for the client). The client's END_STREAM half-closes the upstream; the upstream's EOF
// ends the stream (END_STREAM); an error on either side resets the stream and closes the upstream.
// A tunnel silent for the route's tunnel_idle is reset (checked on the connection's timer).
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/intrusive_list.h"
#include "proxy/h2/h2_head.h"
#include "proxy/http/parser.h"
#include "proxy/http/rewrite.h"
#include "proxy/lb/affinity/policy.h"
#include "proxy/lb/pick.h"
#include "proxy/metrics/counters.h"
#include "proxy/upstream/upstream_conn.h"

namespace proxy::server {
struct Generation;
}
namespace proxy::upstream {
class UpstreamRuntime;
}

namespace proxy::h2 {

class H2Session;

class H2Stream final : public common::ListNode,
                       private upstream::UpstreamOwner,
                       private upstream::RawSink,
                       private http::ParserHandler {
 public:
  static constexpr size_t kMaxBuffered = 64 * 1024;

  H2Stream(H2Session& conn, int32_t id);
  ~H2Stream();
  H2Stream(const H2Stream&) = delete;
  H2Stream& operator=(const H2Stream&) = delete;

  int32_t id() const { return id_; }
  // Counts a header field as it arrives (the connection keeps the fields); false once the list
  // is past the limit, when its fields are dropped and the request is answered 431.
  bool countField(size_t name_len, size_t value_len);
  uint64_t headerBytes() const { return header_bytes_; }
  // A field of the client's trailing HEADERS (request trailers): kept for the upstream when the
  // body goes chunked, dropped otherwise (an HTTP/1.1 body with a Content-Length has no trailers).
  void addTrailer(std::string_view name, std::string_view value);
  // HEADERS ended with these fields; `end_stream`: no body follows.
  void onRequestHeaders(std::span<const Field> fields, bool end_stream);
  void onRequestData(const uint8_t* data, size_t len);
  void onRequestEnd();
  // nghttp2 closed the stream (answered, reset, or the connection ended).
  void onClosed(uint32_t error_code);
  // The whole response went out: a client still sending a body is told to stop (RST NO_ERROR).
  void onResponseSent();
  // Response bytes wait for the client's window or write queue.
  bool responsePending() const { return resp_buf_.size() > resp_off_; }
  // The connection's timer: a tunnel silent past its tunnel_idle is reset.
  void checkTunnelIdle(uint64_t now_ms);

 private:
  // Stream states: Headers (fields arriving) -> Waiting (connecting) -> Exchange -> Done.
  enum class State : uint8_t { Headers, Waiting, Exchange, Done };

  static ssize_t readResponseCb(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags, nghttp2_data_source*, void*);
  ssize_t readResponse(uint8_t* buf, size_t length, uint32_t* flags);

  void start();
  void respondLocal(int status);
  // `http1_head`'s header names are lower-cased on the way (h2ResponseFields).
  void submitResponse(std::string& http1_head, bool has_body, bool websocket_accepted = false);
  void startResponse(const http::MessageHead& head, http::DownstreamInfo info, int client_status);
  bool startAttempt(int exhausted_status = 502);
  bool attachTo(uint32_t server);
  void upstreamReady();
  bool sendRequestHead();
  void forwardBody(const char* data, size_t len);
  void endChunkedBody();
  void submitInterim(const http::MessageHead& head);
  void submitTrailers();
  void appendResponse(std::string_view chunk);
  void holdResponseBody(std::string_view chunk, bool final);
  void retryOrFail(int status, bool stale_ok = true, bool next_ok = true);
  void releaseUpstream(bool reusable);
  void consume(size_t n);
  void dropRequestBody();
  void finishLog(int status, uint32_t server_slot);

  // ParserHandler: the synthesized request head.
  http::HeadAction onHead(http::MessageHead& head) override;
  void onBody(std::string_view) override {}
  bool onComplete() override { return true; }

  // UpstreamOwner.
  void onUpstreamConnected(upstream::UpstreamConn& conn) override;
  void onUpstreamError(upstream::UpstreamConn& conn, upstream::UpstreamError error) override;
  http::HeadAction onResponseHead(http::MessageHead& head) override;
  void onResponseBody(std::string_view chunk) override;
  bool onResponseComplete() override;
  void onUpstreamReadDone() override;
  void onUpstreamDrained() override;
  void onUpstreamUpgraded(std::string_view rest) override;

  // RawSink: the upstream side of a WebSocket tunnel.
  void onRawData(const char* data, size_t len) override;
  void onRawEnd(int status) override;
  void onRawDrained() override;
  void onRawShutdown(int status) override;
  static bool webSocketKey(std::string& key);
  void startTunnel(std::string_view rest);
  void resetTunnel();

  H2Session& conn_;
  int32_t id_;
  State state_ = State::Headers;
  uint64_t header_bytes_ = 0;
  bool too_large_ = false;        // header list over the limit: answered 431
  http::Parser parser_;           // parses the synthesized head only

  server::Generation* gen_ = nullptr;
  upstream::UpstreamRuntime* runtime_ = nullptr;
  upstream::UpstreamConn* up_ = nullptr;
  const config::RouteConfig* route_ = nullptr;
  const lb::AffinityPolicy* policy_ = nullptr;
  lb::AffinityRequest affinity_;
  lb::ServerMask tried_;
  uint32_t attempts_ = 0;
  uint16_t retry_status_ = 502;
  bool stale_retry_used_ = false;
  bool idempotent_ = false;
  bool is_head_ = false;
  bool chunked_ = false;          // the request body goes upstream chunked
  bool body_forwarded_ = false;
  bool request_done_ = false;
  bool response_started_ = false;
  bool response_done_ = false;
  bool upstream_paused_ = false;
  bool holding_head_ = false;     // the head waits for the open packet (sid tokens)
  bool closed_ = false;
  bool websocket_ = false;        // an extended CONNECT for WebSocket
  bool tunnel_ = false;           // the upstream answered 101: bytes flow both ways
  metrics::Gauge* tunnel_gauge_ = nullptr;  // tunnels_active of the tunnel's server
  uint64_t tunnel_idle_ms_ = 0;
  uint64_t last_activity_ms_ = 0;
  std::string up_head_;
  std::string down_head_;
  std::string rule_lines_;
  size_t rule_split_ = 0;
  std::string request_id_;
  std::string req_buf_;           // request body waiting for a connection
  std::string req_trailers_;      // the client's trailer block (http/trailers.h) for a chunked body
  std::string resp_trailers_;     // the upstream's trailer block, sent after the last DATA
  size_t unacked_ = 0;            // request bytes written upstream but still queued there
  std::string resp_buf_;          // response body waiting for nghttp2
  size_t resp_off_ = 0;
  uint64_t max_body_ = 0;
  uint64_t body_bytes_ = 0;       // request body bytes received

  // Metrics and access log.
  uint64_t start_ns_ = 0;
  uint64_t connect_start_ns_ = 0;
  uint64_t response_bytes_ = 0;
  uint32_t upstream_index_ = 0;
  uint32_t response_server_ = 0;
  int status_ = 0;
  std::string log_client_;
  bool logged_ = false;
  bool head_parsed_ = false;      // the synthesized head reached onHead
};

}  // namespace proxy::h2
