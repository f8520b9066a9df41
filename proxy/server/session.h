// One client connection and the HTTP/1.1 exchanges on it: the proxy's data path.
//
// A request is parsed by http::Parser; at the end of its head the session routes it, picks a
// server, and either takes an idle pooled connection and forwards at once (the common case: no
// copy, no wait) or starts connecting and pauses the parser, keeping the unparsed tail of the read
// in `pending_`. Request body bytes are forwarded as they are parsed (re-chunked if the client
// sent chunked). Response events are gathered into an iovec batch and flushed with one writev at
// the end of each upstream read. Pipelined requests wait in `pending_` until the response before
// them is complete, so answers go out in order.
//
// Backpressure, both ways: bytes the kernel did not accept are queued (stream_write.h) and the
// other side's reading stops until the queue drains, so at most one read buffer per direction is
// ever held, whatever the body size.
//
// A listener with proxy_protocol reads the PROXY header first (edge/proxy_protocol.h), under the
// client_header timer, before TLS or HTTP; its source becomes the connection's client. Per-client
// limits (edge/client_limiter.h) count the connection once its client is known and take a token
// per request head.
//
// States: Idle (between requests, keepalive timer) -> Head (client_header timer) -> Waiting
// (connecting upstream) -> Exchange -> Idle again, or Closing. Upgrade responses (101) hand both
// sockets to a Tunnel. On http2 listeners a connection that speaks h2 (ALPN h2, or the h2c preface
// first) goes to state H2 for good: an h2::H2Session takes its bytes (h2/h2_session.h). The object frees itself when its handles are closed.
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "common/intrusive_list.h"
#include "proxy/http/parser.h"
#include "proxy/http/rewrite.h"
#include "proxy/lb/affinity/policy.h"
#include "proxy/lb/pick.h"
#include "proxy/lb/strategy.h"
#include "proxy/metrics/counters.h"
#include "proxy/upstream/upstream_conn.h"

namespace proxy::tls {
class TlsContext;
class TlsEngine;
}

namespace proxy::h2 {
class H2Session;
class H2Stream;
}

namespace proxy::server {

class Tunnel;

class Worker;
struct Generation;

class Session final : public common::ListNode, private http::ParserHandler, private upstream::UpstreamOwner {
 public:
  explicit Session(Worker& worker);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Accepts a pending connection from `listener`, configured by `lc` (TLS when `tls` is set); on
  // failure the session closes itself.
  void accept(uv_stream_t* listener, const config::ListenerConfig& lc,
              const std::shared_ptr<const tls::TlsContext>& tls = nullptr);
  // The worker is shutting down: idle connections close now, busy ones after their response.
  void drain();
  // Closes both sides now.
  void close();
  uv_tcp_t* handle() { return &client_; }
  bool idle() const { return state_ == State::Idle; }

  // Called by the tunnel when it has closed both sides' streams.
  void onTunnelClosed();
  // Which listener accepted this connection: `index` labels tether_downstream_connections, `key`
  // names the listener object for as long as the worker lives (reload compares it).
  void setListener(uint32_t index, const void* key) {
    listener_ = index;
    listener_key_ = key;
  }
  const void* listenerKey() const { return listener_key_; }
  // A reload removed or changed this connection's listener (its http2 settings or its TLS
  // certificates): an h2 connection sends GOAWAY(NO_ERROR) and closes once its streams are done;
  // an HTTP/1.1 one carries on.
  void listenerChanged();

 private:
  enum class State : uint8_t { Idle, Head, Waiting, Exchange, Tunnel, H2, Closing };

  // Client side.
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onTimerCb(uv_timer_t* t);
  static void onCloseCb(uv_handle_t* h);
  static void onClientWriteDone(void* owner, int status, size_t bytes);
  void onProxyHeader(const char* data, size_t len);  // bytes before the PROXY header ended
  bool admitClient();  // per-client connection cap: false when answered 429 and closing
  void onPlain(const char* data, size_t len);    // client bytes after TLS (if any)
  // http2 listeners: whether the connection speaks h2 (ALPN, or the h2c preface); true when
  // the bytes were taken (held, or handed to h2).
  bool detectH2(const char* data, size_t len);
  void startH2(const char* data, size_t len);
  void onTlsData(const char* data, size_t len);  // ciphertext from the client
  bool sendTlsOutput();
  void feedClient(const char* data, size_t len);
  void appendPending(const char* data, size_t len);
  void resumeParsing();
  void pauseClientReading();
  void resumeClientReading();
  void startTimer(uint64_t ms);
  void respondLocal(int status);
  void closeAfterWrites();
  void startLingering();
  // Half-closes the client side (FIN after queued bytes); allocates the request only when used,
  // so sessions do not carry one. `done` runs when the shutdown completes or fails (status < 0),
  // not when it is cancelled because the session closes.
  int shutdownClient(void (*done)(Session*, int status));
  void onClientEnd();

  // Request parser events.
  http::HeadAction onHead(http::MessageHead& head) override;
  void onBody(std::string_view chunk) override;
  bool onComplete() override;

  // Upstream selection and exchange.
  bool startAttempt(int exhausted_status = 502);  // true: a connection is ready now
  bool attachTo(uint32_t server);
  void upstreamReady();         // a connection became ready after the parser paused
  bool sendRequestHead();
  // `stale_ok` allows the one replay on the same server after a stale pooled
  // connection; `next_ok` allows moving on to another server (see session_exchange.cc).
  void retryOrFail(int status, bool stale_ok = true, bool next_ok = true);
  void releaseUpstream(bool reusable);
  void finishExchange();
  void resetExchange();

  // Upstream events.
  void onUpstreamConnected(upstream::UpstreamConn& conn) override;
  void onUpstreamError(upstream::UpstreamConn& conn, upstream::UpstreamError error) override;
  http::HeadAction onResponseHead(http::MessageHead& head) override;
  void onResponseBody(std::string_view chunk) override;
  void holdResponseBody(std::string_view chunk, bool final);
  void sendResponseBody(std::string_view chunk);
  bool onResponseComplete() override;
  void onUpstreamReadDone() override;
  void onUpstreamDrained() override;
  void onUpstreamUpgraded(std::string_view rest) override;

  // Metrics and access-log hooks, one call each at the points named; bodies in
  // session_metrics.cc so the data-path files only carry the call sites.
  void metricsAccepted();                          // accept: connection counted
  void metricsClosed();                            // close()
  void metricsRequestHead(http::MessageHead& head);  // onHead, before routing
  void metricsAttached(uint32_t server, bool connecting);
  void metricsReleased(uint32_t server);
  void metricsConnected();
  void metricsRetry();
  void metricsAffinity(lb::PinOutcome pin);        // first attempt: hit, miss or repinned
  void metricsResponseHead(int status);            // final (or 101) response head relayed
  void metricsResponseDone();                      // final response complete
  void metricsLocalResponse(int status);           // respondLocal
  void metricsUpgraded();                          // tunnel started
  void writeAccessLog(int status, uint32_t server_slot);

  // The request's client (trusted forwarding headers resolved), the id and the response-side
  // rewrite settings of this request; see session_exchange.cc.
  std::string_view requestClient(const http::MessageHead& head);
  std::string_view requestClient(const http::MessageHead& head, const Generation& gen);
  void setRealIp(std::string_view client);
  std::string_view logClient() const;
  void assignRequestId(const http::MessageHead& head);
  const std::string& requestIdName() const;
  static const config::RouteConfig& httpsRedirect();
  void prepareRoute(const config::RouteConfig& route, const http::MessageHead& head, std::string_view client);
  void rewritePath(const config::RouteConfig& route, const http::MessageHead& head);
  http::HeadAction answerFromRoute(const config::RouteConfig& route, const http::MessageHead& head, std::string_view client);
  http::DownstreamInfo downstreamInfo(http::BodyFraming framing, bool keep_alive, bool http10, bool upgrade) const;

  // Affinity hooks (lb/affinity/policy.h); see session_exchange.cc.
  void addAffinityHeaders(unsigned status);

  // Output batch to the client (the loop's OutBatch), flushed with one writev.
  void addOut(const char* data, size_t len);
  bool flushOut();
  OutBatch& batch();
  // Gives back the head buffers' memory (a tunnel never parses HTTP again).
  void releaseHttpBuffers();

  static constexpr size_t kMaxPending = 64 * 1024;
  static constexpr uint64_t kLingerMs = 2000;

  Worker& worker_;
  uv_tcp_t client_;
  uv_timer_t timer_;
  http::Parser parser_;
  State state_ = State::Idle;
  uint8_t open_handles_ = 0;
  bool reading_ = false;
  bool parse_blocked_ = false;     // parser paused; new bytes go to pending_
  bool close_after_write_ = false;
  bool closing_ = false;
  bool awaiting_proxy_ = false;    // proxy_protocol: the PROXY header has not ended yet
  bool redirect_https_ = false;    // the listener's redirect_https when this connection arrived
  uint16_t reject_status_ = 0;     // TLS over the per-client cap: the answer to its first request
  int32_t limiter_slot_ = -1;      // where this connection is counted (edge/client_limiter.h)

  // The current exchange.
  Generation* gen_ = nullptr;  // the config it runs on (held until the exchange ends)
  upstream::UpstreamRuntime* runtime_ = nullptr;
  upstream::UpstreamConn* up_ = nullptr;
  lb::ServerMask tried_;
  uint32_t attempts_ = 0;
  bool stale_retry_used_ = false;
  bool request_idempotent_ = false;  // GET HEAD OPTIONS PUT DELETE
  uint16_t retry_status_ = 502;      // the answer when retries run out (502/504)
  bool body_forwarded_ = false;
  bool lingering_ = false;       // answered and half-closed: discard input until EOF
  bool request_done_ = false;
  bool request_has_body_ = false;
  bool request_chunked_ = false;
  bool request_is_head_ = false;
  bool upgrade_ = false;
  bool response_started_ = false;
  bool holding_head_ = false;    // down_head_ waits for the open packet (sid tokens)
  bool response_done_ = false;
  bool client_keep_alive_ = true;
  bool client_http10_ = false;
  http::BodyFraming framing_ = http::BodyFraming::None;

  std::string pending_;      // client bytes not yet parsed
  std::string up_head_;      // request head for the upstream
  std::string down_head_;    // response head for the client
  std::string held_body_;    // a handshake's body with its sid sealed (sid tokens)
  size_t client_queued_ = 0;
  uint64_t deadline_ms_ = 0;   // client-side deadline of the current state (0: none)
  uint64_t timer_due_ms_ = 0;  // when the physical timer fires (0: not running)


  char client_ip_[48] = {0};   // the connection's client: TCP peer or PROXY source
  size_t client_ip_len_ = 0;
  char real_ip_[48] = {0};     // the request's client when a trusted proxy named another one
  size_t real_ip_len_ = 0;     // 0: the same as client_ip_
  std::string request_id_;     // this request's id (request ids on)
  const config::RouteConfig* route_ = nullptr;  // this exchange's route (lives in gen_)
  std::string rule_lines_;     // the route's header rules expanded: request lines, then response lines
  size_t rule_split_ = 0;      // where the response lines start in rule_lines_
  uint64_t tunnel_idle_ms_ = 0;  // tunnel_idle for a tunnel this exchange becomes (route or global)
  Tunnel* tunnel_ = nullptr;
  tls::TlsEngine* tls_ = nullptr;  // owned; null on plain listeners
  h2::H2Session* h2_ = nullptr;    // owned; set once the connection turned out to speak h2
  bool h2_possible_ = false;       // http2 listener, protocol not decided yet
  config::Http2Config h2cfg_;      // the accepting listener's http2 settings


  // Metrics and access log state of the current exchange.
  uint64_t request_start_ns_ = 0;
  uint64_t connect_start_ns_ = 0;
  uint64_t response_body_bytes_ = 0;
  uint32_t metrics_upstream_ = 0;
  uint32_t response_server_ = 0;
  uint32_t listener_ = 0;
  const void* listener_key_ = nullptr;
  metrics::Gauge* tunnel_gauge_ = nullptr;  // the tunnels_active cell this tunnel counts in
  int log_status_ = 0;
  std::string log_url_, log_user_agent_, log_referer_;  // only filled when the access log is on
  std::string log_upstream_url_;  // the target sent upstream, when a route rewrote it (access log on)
  const char* log_method_ = "-";

  // Affinity: the upstream's policy and this request's key, pins and sid capture.
  const lb::AffinityPolicy* policy_ = nullptr;
  lb::AffinityRequest affinity_;
  const std::vector<config::Cidr>* trusted_ = nullptr;  // the accepting listener's trusted_proxies
  uint64_t trusted_gen_ = 0;   // the generation trusted_ was looked up in (0: not yet)
  bool conn_trusted_ = false;  // the connection's client is in trusted_

  friend class Tunnel;
  friend class h2::H2Session;  // drives the socket, TLS and timer of an h2 connection
  friend class h2::H2Stream;   // reads the connection's client and TLS facts
};

}  // namespace proxy::server
