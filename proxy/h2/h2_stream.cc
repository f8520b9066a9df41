// H2Stream: one stream's exchange with an upstream server, the request side (fields, the head,
// the body and its trailers, attaching an upstream, retries) and the stream's end; see
// h2_stream.h. The response part is in h2_stream_response.cc, the WebSocket tunnel part in
// h2_stream_tunnel.cc.
#include "proxy/h2/h2_stream.h"

#include <llhttp.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "common/log.h"
#include "proxy/edge/client_limiter.h"
#include "proxy/h2/h2_session.h"
#include "proxy/http/rewrite.h"
#include "proxy/http/trailers.h"
#include "proxy/metrics/access_log.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/server/exchange_parts.h"
#include "proxy/server/generation.h"
#include "proxy/server/session.h"
#include "proxy/server/worker.h"
#include "proxy/tls/tls_engine.h"

namespace proxy::h2 {

H2Stream::H2Stream(H2Session& conn, int32_t id)
    : conn_(conn), id_(id), parser_(HTTP_REQUEST, *this, http::ParserLimits{conn.config().max_header_list_bytes + 4096ULL, UINT64_MAX}) {
  conn_.worker().ctx().metrics->h2_streams.add(1);
}

H2Stream::~H2Stream() {
  assert(!up_);
  conn_.worker().ctx().metrics->h2_streams.add(-1);
}

// ---- request ----------------------------------------------------------------------------------

bool H2Stream::countField(size_t name_len, size_t value_len) {
  header_bytes_ += name_len + value_len + 32;  // RFC 9113 6.5.2's accounting
  if (header_bytes_ > conn_.config().max_header_list_bytes) too_large_ = true;
  return !too_large_;
}

void H2Stream::addTrailer(std::string_view name, std::string_view value) {
  header_bytes_ += name.size() + value.size() + 32;
  if (state_ == State::Done || closed_ || !chunked_) return;  // no chunked body to carry them
  if (req_trailers_.size() + name.size() + value.size() > conn_.config().max_header_list_bytes) {
    common::logDebug("h2_bad_request", {{"client", conn_.session().logClient()}, {"reason", "trailers too large"}});
    std::string().swap(req_trailers_);
    if (!response_started_) return respondLocal(431);
    releaseUpstream(false);
    state_ = State::Done;
    nghttp2_submit_rst_stream(conn_.ng(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    return;
  }
  http::appendTrailer(req_trailers_, name, value);  // fields that may not be trailers are left out
}

void H2Stream::onRequestHeaders(std::span<const Field> fields, bool end_stream) {
  request_done_ = end_stream;
  start_ns_ = uv_hrtime();
  server::Worker& w = conn_.worker();
  w.ctx().metrics->downstream_requests[1].add();
  if (too_large_) return respondLocal(431);
  up_head_.clear();
  up_head_.reserve(512);
  const char* why = "";
  std::string ws_key;
  websocket_ = isWebSocketConnect(fields);
  if (websocket_ && !webSocketKey(ws_key)) return respondLocal(500);
  if (!http1RequestHead(fields, !end_stream, up_head_, &why, ws_key)) {
    common::logDebug("h2_bad_request", {{"client", conn_.session().logClient()}, {"reason", why}});
    return respondLocal(400);
  }
  http::FeedResult r = parser_.feed(up_head_.data(), up_head_.size());
  if (r.status == http::ParseStatus::Error) {
    common::logDebug("h2_bad_request", {{"client", conn_.session().logClient()}, {"reason", parser_.errorReason()}});
    return respondLocal(parser_.error() == http::ParseError::HeaderTooLarge ? 431 : 400);
  }
  // onHead ran (it always pauses): the exchange is under way or answered.
}

// The synthesized head, parsed: the same steps as Session::onHead.
http::HeadAction H2Stream::onHead(http::MessageHead& head) {
  server::Worker& w = conn_.worker();
  loop::LoopContext& ctx = w.ctx();
  server::Session& s = conn_.session();
  head_parsed_ = true;
  gen_ = w.acquire();
  const config::Config& cfg = *gen_->config;
  is_head_ = head.method == HTTP_HEAD;
  idempotent_ = head.method == HTTP_GET || head.method == HTTP_HEAD || head.method == HTTP_OPTIONS || head.method == HTTP_PUT ||
                head.method == HTTP_DELETE;
  chunked_ = head.chunked;
  server::assignRequestId(cfg, ctx.request_ids, head, request_id_);
  std::string_view client = s.requestClient(head, *gen_);
  if (ctx.access_log) log_client_.assign(client);
  if (const auto& pc = cfg.limits.per_client; pc.requests_per_second &&
      !edge::ClientLimiter::global().allowRequest(edge::clientKey(client), pc.requests_per_second, pc.burst, uv_now(ctx.loop))) {
    respondLocal(429);
    return http::HeadAction::Pause;
  }
  // redirect_https (plain listeners): every request but ACME challenges goes to https://.
  bool redirect = s.redirect_https_ && head.url().rfind("/.well-known/acme-challenge/", 0) != 0;
  const config::RouteConfig* route = redirect ? &server::Session::httpsRedirect() : gen_->router.find(head);
  if (!route) {
    respondLocal(404);
    return http::HeadAction::Pause;
  }
  route_ = route;
  max_body_ = route->max_body_bytes ? route->max_body_bytes : cfg.limits.max_body_bytes;
  server::expandHeaderRules(*route, head, s.tls_ ? "https" : "http", client, request_id_, rule_lines_, rule_split_);
  if (head.has_content_length && head.content_length > max_body_) {
    respondLocal(413);
    return http::HeadAction::Pause;
  }
  if (route->action != config::RouteConfig::Action::Proxy) {
    // respond / redirect: tether's own answer, as the HTTP/1.1 session makes it.
    config::TemplateValues values{route::hostWithoutPort(head.host()), head.url(), s.tls_ ? "https" : "http", client, request_id_};
    std::string body, location;
    if (route->action == config::RouteConfig::Action::Redirect) {
      config::expandTemplate(route->location, values, location);
      body = "Redirecting to " + location + "\n";
    } else {
      config::expandTemplate(route->body, values, body);
    }
    http::DownstreamInfo info{http::BodyFraming::ContentLength, true, false};
    info.edits = {route->response_headers.remove, std::string_view(rule_lines_).substr(rule_split_)};
    if (!request_id_.empty()) {
      info.request_id_name = cfg.request_id;
      info.request_id = request_id_;
    }
    down_head_.clear();
    http::writeLocalResponseHead(route->status, route->action == config::RouteConfig::Action::Redirect ? "text/plain" : route->content_type,
                                 location, body.size(), info, down_head_);
    if (!is_head_) resp_buf_ = std::move(body);
    response_done_ = true;
    status_ = route->status;
    response_bytes_ = resp_buf_.size();
    state_ = State::Done;
    w.ctx().metrics->unrouted_responses[metrics::statusSlot(route->status)].add();
    submitResponse(down_head_, !resp_buf_.empty());
    finishLog(route->status, UINT32_MAX);
    return http::HeadAction::Pause;
  }
  size_t u = route->upstream_index;
  runtime_ = gen_->upstreams[u].get();
  upstream_index_ = static_cast<uint32_t>(u);
  policy_ = &runtime_->affinity();
  policy_->prepare(head, client, uv_now(ctx.loop), affinity_);
  if (route->rewrite_path) {
    std::string_view target = affinity_.upstream_url.empty() ? head.url() : std::string_view(affinity_.upstream_url);
    affinity_.upstream_url = server::rewriteTarget(*route, target);
  }
  std::string synthesized;
  synthesized.swap(up_head_);  // head's views point into the parser's copy, not this text
  up_head_.reserve(synthesized.size() + 256);
  http::ForwardInfo fwd;
  fwd.client_ip = std::string_view(s.client_ip_, s.client_ip_len_);
  fwd.real_ip = client;
  fwd.trusted = s.conn_trusted_;
  fwd.proto = s.tls_ ? "https" : "http";
  if (s.tls_) fwd.client_cert_subject = s.tls_->clientSubject();
  const auto& members = runtime_->config().servers;
  fwd.default_host = members.empty() ? std::string_view(runtime_->config().name) : std::string_view(members[0].address);
  fwd.url = affinity_.upstream_url;
  if (!request_id_.empty()) {
    fwd.request_id_name = cfg.request_id;
    fwd.request_id = request_id_;
  }
  fwd.edits = {route->request_headers.remove, std::string_view(rule_lines_).substr(0, rule_split_)};
  fwd.upgrade = websocket_ && head.upgrade;
  tunnel_idle_ms_ = static_cast<uint64_t>((route->tunnel_idle.count() ? route->tunnel_idle : cfg.timeouts.tunnel_idle).count());
  http::writeUpstreamRequestHead(head, fwd, up_head_);
  state_ = State::Waiting;
  if (startAttempt()) upstreamReady();
  return http::HeadAction::Pause;
}

void H2Stream::onRequestData(const uint8_t* data, size_t len) {
  body_bytes_ += len;
  if (state_ == State::Done || closed_ || !runtime_) return consume(len);  // answered: dropped
  if (tunnel_) {
    if (!up_) return consume(len);  // the tunnel is being reset: dropped
    last_activity_ms_ = uv_now(conn_.worker().ctx().loop);
  }
  if (!websocket_ && body_bytes_ > max_body_) {
    releaseUpstream(false);
    if (response_started_) {
      nghttp2_submit_rst_stream(conn_.ng(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
      return consume(len);
    }
    consume(len);
    return respondLocal(413);
  }
  if (state_ == State::Exchange && up_) return forwardBody(reinterpret_cast<const char*>(data), len);
  req_buf_.append(reinterpret_cast<const char*>(data), len);  // bounded by the stream's window
}

void H2Stream::onRequestEnd() {
  if (request_done_) return;
  request_done_ = true;
  if (tunnel_ && up_) {
    // The client's half of the tunnel ended: a FIN to the upstream (onRawShutdown follows).
    if (up_->shutdownWrite() < 0) resetTunnel();
    return;
  }
  if (state_ == State::Exchange && up_ && chunked_) endChunkedBody();
}

// The last chunk, the client's trailer block, the end of the chunked body.
void H2Stream::endChunkedBody() {
  uv_buf_t end[3] = {uv_buf_init(const_cast<char*>("0\r\n"), 3),
                     uv_buf_init(const_cast<char*>(req_trailers_.data()), static_cast<unsigned>(req_trailers_.size())),
                     uv_buf_init(const_cast<char*>("\r\n"), 2)};
  up_->write(end, 3);  // a failure is reported asynchronously
}

void H2Stream::forwardBody(const char* data, size_t len) {
  if (len == 0) return;
  uv_buf_t bufs[3];
  unsigned n = 0;
  char line[20];
  if (chunked_) bufs[n++] = uv_buf_init(line, static_cast<unsigned>(http::writeChunkHeader(len, line)));
  bufs[n++] = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
  if (chunked_) bufs[n++] = uv_buf_init(const_cast<char*>("\r\n"), 2);
  body_forwarded_ = true;
  long q = up_->write(bufs, n);
  if (q > 0) unacked_ += len;  // acknowledged when the upstream's queue drains
  else consume(len);           // written, or failed (the error follows asynchronously)
}

// Gives `n` request bytes back to the client's windows (WINDOW_UPDATE when worth sending).
void H2Stream::consume(size_t n) {
  if (n && !closed_) nghttp2_session_consume(conn_.ng(), id_, n);
  else if (n) nghttp2_session_consume_connection(conn_.ng(), n);
}

// ---- attaching an upstream connection (the rules of session_exchange.cc) -----------------------

bool H2Stream::startAttempt(int exhausted_status) {
  for (;;) {
    if (attempts_ > runtime_->config().retries) {
      respondLocal(exhausted_status);
      return false;
    }
    lb::Choice choice = runtime_->choose(&affinity_, tried_);
    if (attempts_ == 0) {
      switch (choice.pin) {
        case lb::PinOutcome::None: break;
        case lb::PinOutcome::Hit: runtime_->metrics().affinityResult(metrics::AffinityResult::Hit); break;
        case lb::PinOutcome::Repinned: runtime_->metrics().affinityResult(metrics::AffinityResult::Repinned); break;
        case lb::PinOutcome::Unknown: runtime_->metrics().affinityResult(metrics::AffinityResult::Miss); break;
      }
    }
    if (choice.server < 0) {
      respondLocal(attempts_ == 0 ? 503 : retry_status_);
      return false;
    }
    if (attempts_ > 0) runtime_->metrics().retries.add();
    tried_.set(static_cast<size_t>(choice.server));
    ++attempts_;
    if (attachTo(static_cast<uint32_t>(choice.server))) return true;
    if (up_) return false;
  }
}

bool H2Stream::attachTo(uint32_t server) {
  runtime_->addActive(server);
  runtime_->serverMetrics(server).active.add(1);
  if (upstream::UpstreamConn* idle = runtime_->takeIdle(server)) {
    up_ = idle;
    up_->attach(this);
    state_ = State::Exchange;
    return true;
  }
  connect_start_ns_ = uv_hrtime();
  up_ = runtime_->connectNew(server, this);
  if (!up_) {
    runtime_->removeActive(server);
    runtime_->serverMetrics(server).active.add(-1);
  }
  state_ = State::Waiting;
  return false;
}

void H2Stream::onUpstreamConnected(upstream::UpstreamConn&) {
  H2Session::Scope scope(conn_);
  runtime_->metrics().connect_duration.observeNs(uv_hrtime() - connect_start_ns_);
  state_ = State::Exchange;
  upstreamReady();
}

// A connection is ready: the head, then the body that waited, then the end of a chunked body.
void H2Stream::upstreamReady() {
  if (!sendRequestHead()) return;
  if (!req_buf_.empty()) {
    std::string body;
    body.swap(req_buf_);
    forwardBody(body.data(), body.size());
    if (!up_) return;
  }
  if (request_done_ && chunked_) endChunkedBody();
}

bool H2Stream::sendRequestHead() {
  return server::sendRequestHead(*up_, up_head_, is_head_, route_, *gen_->config);
}

// The connection failed: replay or fail by server::decideRetry, as HTTP/1.1 sessions do.
void H2Stream::retryOrFail(int status, bool stale_ok, bool next_ok) {
  server::RetryInputs in;
  in.stale_ok = stale_ok;
  in.reused = up_ && up_->reused();
  in.upstream_response_started = up_ && up_->responseStarted();
  uint32_t server = up_ ? up_->server() : 0;
  releaseUpstream(false);
  if (closed_) return;
  in.response_started = response_started_;
  in.body_forwarded = body_forwarded_;
  in.stale_retry_used = stale_retry_used_;
  in.next_ok = next_ok;
  switch (server::decideRetry(in)) {
    case server::RetryStep::Stale:
      stale_retry_used_ = true;
      runtime_->metrics().retries.add();
      if (attachTo(server)) upstreamReady();
      else if (!up_) retryOrFail(status);
      return;
    case server::RetryStep::Next:
      retry_status_ = static_cast<uint16_t>(status);
      if (startAttempt(status)) upstreamReady();
      return;
    case server::RetryStep::Fail: break;
  }
  if (response_started_) {
    nghttp2_submit_rst_stream(conn_.ng(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
    return;
  }
  respondLocal(status);
}

void H2Stream::onUpstreamError(upstream::UpstreamConn& conn, upstream::UpstreamError error) {
  H2Session::Scope scope(conn_);
  const auto& srv = runtime_->config().servers[conn.server()];
  common::logDebug("upstream_error", {{"upstream", runtime_->config().name}, {"server", srv.name}, {"error", upstream::upstreamErrorName(error)}});
  if (const char* reason = server::passiveFailureReason(error, conn.reused())) runtime_->noteFailure(conn.server(), reason);
  switch (error) {
    case upstream::UpstreamError::ConnectFailed:
    case upstream::UpstreamError::TlsFailed: return retryOrFail(502);
    case upstream::UpstreamError::ConnectTimeout: return retryOrFail(504);
    case upstream::UpstreamError::ResponseTimeout:
      if (!response_started_ && idempotent_) return retryOrFail(504, false, true);
      return retryOrFail(504, false, false);
    case upstream::UpstreamError::Closed:
      if (!conn.responseStarted() && !response_started_) return retryOrFail(502, true, idempotent_);
      return retryOrFail(502, false, false);
    case upstream::UpstreamError::BadResponse: return retryOrFail(502, false, false);
  }
}

void H2Stream::releaseUpstream(bool reusable) {
  if (!up_) return;
  upstream::UpstreamConn* c = std::exchange(up_, nullptr);
  if (unacked_) {
    consume(unacked_);
    unacked_ = 0;
  }
  runtime_->removeActive(c->server());
  runtime_->serverMetrics(c->server()).active.add(-1);
  if (tunnel_gauge_) std::exchange(tunnel_gauge_, nullptr)->add(-1);
  runtime_->release(c, reusable);
}

void H2Stream::onClosed(uint32_t error_code) {
  if (closed_) return;
  closed_ = true;
  if (up_) {
    // Reset (or the connection went) mid-exchange: the upstream request is abandoned now.
    common::logDebug("h2_stream_reset", {{"stream", static_cast<uint64_t>(id_)}, {"error", nghttp2_http2_strerror(error_code)}});
    unacked_ = 0;
    releaseUpstream(false);
  }
  dropRequestBody();
  if (!logged_ && state_ != State::Headers) finishLog(499, runtime_ ? static_cast<uint32_t>(runtime_->serverCount()) : UINT32_MAX);
  if (gen_) conn_.worker().release(std::exchange(gen_, nullptr));
}

// The request body that waited for a connection will not be sent: its bytes go back to the
// client's connection window.
void H2Stream::dropRequestBody() {
  if (req_buf_.empty()) return;
  consume(req_buf_.size());
  std::string().swap(req_buf_);
}

// server_slot: a configured server, the upstream's "none" slot, or UINT32_MAX (not routed).
void H2Stream::finishLog(int status, uint32_t server_slot) {
  if (logged_) return;
  logged_ = true;
  metrics::AccessLog* log = conn_.worker().ctx().access_log;
  if (!log) return;
  const config::Config& cfg = gen_ ? *gen_->config : *conn_.worker().ctx().config;
  std::string_view method = "-", url = "-", ua, referer;
  const http::MessageHead& head = parser_.head();
  if (head_parsed_) {  // else the head was refused before parsing (400, 431): method and URL unknown
    // An extended CONNECT is logged as the client sent it (upstream it is the GET handshake).
    method = websocket_ ? "CONNECT" : llhttp_method_name(static_cast<llhttp_method_t>(head.method));
    url = head.url();
    ua = head.find("user-agent");
    referer = head.find("referer");
  }
  metrics::AccessEntry e;
  e.client_ip = log_client_.empty() ? conn_.session().logClient() : std::string_view(log_client_);
  e.request_id = request_id_;
  e.method = method;
  e.url = url.empty() ? std::string_view("-") : url;
  e.upstream_url = route_ && route_->rewrite_path ? std::string_view(affinity_.upstream_url) : std::string_view();
  e.user_agent = ua;
  e.referer = referer;
  e.http2 = true;
  e.status = status;
  e.bytes = response_bytes_;
  e.duration_ns = start_ns_ ? uv_hrtime() - start_ns_ : 0;
  if (server_slot != UINT32_MAX && runtime_) {
    const config::UpstreamConfig& u = cfg.upstreams[std::min<size_t>(upstream_index_, cfg.upstreams.size() - 1)];
    e.upstream = u.name;
    e.server = server_slot < u.servers.size() ? std::string_view(u.servers[server_slot].name) : std::string_view("-");
  } else {
    e.upstream = "-";
    e.server = "-";
  }
  log->append(e);
}

}  // namespace proxy::h2
