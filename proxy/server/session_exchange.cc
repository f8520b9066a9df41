// Session, upstream side: routing a parsed request, picking and attaching an upstream
// connection, forwarding the request body, relaying the response, retries and failures.
// See session.h for the design.
#include <llhttp.h>

#include <algorithm>
#include <cassert>
#include <utility>

#include "common/log.h"
#include "proxy/config/cidr.h"
#include "proxy/edge/client_limiter.h"
#include "proxy/edge/request_id.h"
#include "proxy/http/error_response.h"
#include "proxy/lb/key_extractor.h"
#include "proxy/server/exchange_parts.h"
#include "proxy/server/session.h"
#include "proxy/server/tunnel.h"
#include "proxy/server/worker.h"
#include "proxy/tls/tls_engine.h"

namespace proxy::server {

// ---- affinity hooks ---------------------------------------------------------------------------
//
// The whole of affinity in the session is: prepare at the head (onHead), the choice in
// startAttempt (lb/pick.h), Set-Cookie and sid capture on the response (addAffinityHeaders, onResponseBody).
// Everything else lives in proxy/lb (policy.h, key_extractor.h).

// The request's client: the connection's client (TCP peer or PROXY source), or, when that is one
// of the accepting listener's trusted_proxies, the right-most untrusted X-Forwarded-For entry
// (lb/key_extractor.h). The listener's list is looked up from the socket's local address, once
// per connection and again after a reload (the list lives in the exchange's generation). Sets
// conn_trusted_ for the forwarding headers.
std::string_view Session::requestClient(const http::MessageHead& head) { return requestClient(head, *gen_); }

std::string_view Session::requestClient(const http::MessageHead& head, const Generation& gen) {
  std::string_view peer(client_ip_, client_ip_len_);
  if (trusted_gen_ != gen.number) {
    trusted_gen_ = gen.number;
    trusted_ = nullptr;
    sockaddr_storage local{};
    int len = sizeof(local);
    if (uv_tcp_getsockname(&client_, reinterpret_cast<sockaddr*>(&local), &len) == 0)
      trusted_ = lb::trustedProxiesFor(*gen.config, local);
    conn_trusted_ = trusted_ && config::cidrContains(*trusted_, peer);
  }
  if (!conn_trusted_) return peer;
  return lb::clientAddress(head, peer, *trusted_);
}

http::DownstreamInfo Session::downstreamInfo(http::BodyFraming framing, bool keep_alive, bool http10, bool upgrade) const {
  http::DownstreamInfo info{framing, keep_alive, http10, upgrade};
  if (route_) info.edits = {route_->response_headers.remove, std::string_view(rule_lines_).substr(rule_split_)};
  if (!request_id_.empty()) {
    info.request_id_name = requestIdName();
    info.request_id = request_id_;
  }
  return info;
}

// The header name request ids travel in, from the config the request runs on.
const std::string& Session::requestIdName() const { return (gen_ ? gen_->config.get() : worker_.ctx().config)->request_id; }

// Kept for the access log only when it differs from the connection's client.
void Session::setRealIp(std::string_view client) {
  real_ip_len_ = 0;
  if (client.data() == client_ip_ || client.size() >= sizeof(real_ip_)) return;
  std::copy(client.begin(), client.end(), real_ip_);
  real_ip_len_ = client.size();
}

std::string_view Session::logClient() const {
  return real_ip_len_ ? std::string_view(real_ip_, real_ip_len_) : std::string_view(client_ip_, client_ip_len_);
}

// Request ids on: keeps the client's id when sane, else makes one (edge/request_id.h).
void Session::assignRequestId(const http::MessageHead& head) {
  server::assignRequestId(*gen_->config, worker_.ctx().request_ids, head, request_id_);
}

// Called right after down_head_ is written: the layers add their header lines (Set-Cookie when the
// cookie layer pins a client to the server that answered) and may start watching the body (the
// sid layer, on a handshake's 200).
void Session::addAffinityHeaders(unsigned status) {
  if (policy_ && up_) policy_->responseHead(affinity_, status, up_->server(), tls_ != nullptr, down_head_);
}

// ---- request events --------------------------------------------------------------------------

http::HeadAction Session::onHead(http::MessageHead& head) {
  LoopContext& ctx = worker_.ctx();
  deadline_ms_ = 0;  // the head is complete: no client timer while the exchange runs
  metricsRequestHead(head);
  state_ = State::Waiting;
  client_http10_ = head.version_major == 1 && head.version_minor == 0;
  client_keep_alive_ = head.keep_alive && !ctx.draining;
  request_is_head_ = head.method == HTTP_HEAD;
  // These may be replayed on another server after a reset or a timeout.
  request_idempotent_ = head.method == HTTP_GET || head.method == HTTP_HEAD || head.method == HTTP_OPTIONS ||
                        head.method == HTTP_PUT || head.method == HTTP_DELETE;
  request_chunked_ = head.chunked;
  request_has_body_ = head.chunked || (head.has_content_length && head.content_length > 0);
  upgrade_ = head.upgrade;
  gen_ = worker_.acquire();  // this exchange (and a tunnel it becomes) runs on this config
  const config::Config& cfg = *gen_->config;
  assignRequestId(head);
  std::string_view client = requestClient(head);
  setRealIp(client);
  if (reject_status_) {  // a TLS connection over the per-client connection cap
    respondLocal(reject_status_);
    return http::HeadAction::Pause;
  }
  if (const auto& pc = cfg.limits.per_client; pc.requests_per_second &&
      !edge::ClientLimiter::global().allowRequest(edge::clientKey(client), pc.requests_per_second, pc.burst, uv_now(ctx.loop))) {
    common::logDebug("client_rate_limited", {{"client", client}});
    respondLocal(429);
    return http::HeadAction::Pause;
  }
  if (head.method == HTTP_CONNECT) {
    respondLocal(400);
    return http::HeadAction::Pause;
  }
  if (redirect_https_ && head.url().rfind("/.well-known/acme-challenge/", 0) != 0) return answerFromRoute(httpsRedirect(), head, client);
  const config::RouteConfig* route = gen_->router.find(head);
  if (!route) {
    respondLocal(404);
    return http::HeadAction::Pause;
  }
  prepareRoute(*route, head, client);
  if (head.has_content_length && head.content_length > (route->max_body_bytes ? route->max_body_bytes : cfg.limits.max_body_bytes)) {
    respondLocal(413);  // over this route's limit (the parser checked against the largest)
    return http::HeadAction::Pause;
  }
  if (route->action != config::RouteConfig::Action::Proxy) return answerFromRoute(*route, head, client);
  size_t u = route->upstream_index;
  runtime_ = gen_->upstreams[u].get();
  metrics_upstream_ = static_cast<uint32_t>(u);
  policy_ = &runtime_->affinity();  // affinity: key + pins, read by startAttempt()
  policy_->prepare(head, client, uv_now(ctx.loop), affinity_);
  if (route->rewrite_path) rewritePath(*route, head);
  up_head_.clear();
  http::ForwardInfo fwd;
  fwd.client_ip = std::string_view(client_ip_, client_ip_len_);
  fwd.real_ip = client;
  fwd.trusted = conn_trusted_;
  fwd.proto = tls_ ? "https" : "http";
  if (tls_) fwd.client_cert_subject = tls_->clientSubject();
  const auto& members = runtime_->config().servers;  // empty while a resolve: true name has none
  fwd.default_host = members.empty() ? std::string_view(runtime_->config().name) : std::string_view(members[0].address);
  fwd.upgrade = upgrade_;
  fwd.url = affinity_.upstream_url;  // the client's, unless a sid token was removed from it
  if (!request_id_.empty()) {
    fwd.request_id_name = cfg.request_id;
    fwd.request_id = request_id_;
  }
  fwd.edits = {route->request_headers.remove, std::string_view(rule_lines_).substr(0, rule_split_)};
  http::writeUpstreamRequestHead(head, fwd, up_head_);
  if (startAttempt() && sendRequestHead()) return http::HeadAction::Continue;
  return http::HeadAction::Pause;  // body bytes wait in pending_ until a connection is ready
}

// The route's settings for this exchange: body limit, tunnel idle timeout, and its header rules
// expanded once (request lines first, response lines after rule_split_).
void Session::prepareRoute(const config::RouteConfig& route, const http::MessageHead& head, std::string_view client) {
  const config::Config& cfg = *gen_->config;
  route_ = &route;
  parser_.setMaxBodyBytes(route.max_body_bytes ? route.max_body_bytes : cfg.limits.max_body_bytes);
  tunnel_idle_ms_ = static_cast<uint64_t>((route.tunnel_idle.count() ? route.tunnel_idle : cfg.timeouts.tunnel_idle).count());
  expandHeaderRules(route, head, tls_ ? "https" : "http", client, request_id_, rule_lines_, rule_split_);
}

// strip_prefix / rewrite_prefix: the target sent upstream (after a sid token was taken out of
// it, if any) with the route's path_prefix replaced. Only the path changes, never the Host.
void Session::rewritePath(const config::RouteConfig& route, const http::MessageHead& head) {
  std::string_view target = affinity_.upstream_url.empty() ? head.url() : std::string_view(affinity_.upstream_url);
  affinity_.upstream_url = rewriteTarget(route, target);
  if (worker_.ctx().access_log) log_upstream_url_ = affinity_.upstream_url;
}

// The answer of a redirect_https listener: 308 to the same host and target over https.
const config::RouteConfig& Session::httpsRedirect() {
  static const config::RouteConfig route = [] {
    config::RouteConfig r;
    r.action = config::RouteConfig::Action::Redirect;
    r.status = 308;
    std::string error;
    bool ok = config::parseTemplate("https://$host$request_uri", r.location, error);
    assert(ok);
    (void)ok;
    return r;
  }();
  return route;
}

// respond / redirect: tether answers; the connection stays open when the client wants it and
// sent no body.
http::HeadAction Session::answerFromRoute(const config::RouteConfig& route, const http::MessageHead& head, std::string_view client) {
  state_ = State::Exchange;
  if (request_has_body_) client_keep_alive_ = false;
  config::TemplateValues values{route::hostWithoutPort(head.host()), head.url(), tls_ ? "https" : "http", client, request_id_};
  std::string body, location;
  if (route.action == config::RouteConfig::Action::Redirect) {
    config::expandTemplate(route.location, values, location);
    body = "Redirecting to " + location + "\n";
  } else {
    config::expandTemplate(route.body, values, body);
  }
  down_head_.clear();
  http::writeLocalResponseHead(route.status, route.action == config::RouteConfig::Action::Redirect ? "text/plain" : route.content_type,
                               location, body.size(), downstreamInfo(http::BodyFraming::ContentLength, client_keep_alive_, client_http10_, false),
                               down_head_);
  if (!request_is_head_) down_head_.append(body);
  response_started_ = response_done_ = true;
  response_body_bytes_ = request_is_head_ ? 0 : body.size();
  metricsLocalResponse(route.status);
  addOut(down_head_.data(), down_head_.size());
  flushOut();
  return http::HeadAction::Continue;  // the body, if any, is read and dropped; then the next request
}

void Session::onBody(std::string_view chunk) {
  if (!up_ || state_ != State::Exchange) return;  // answered locally: the rest is ignored
  uv_buf_t bufs[3];
  unsigned n = 0;
  char line[20];
  if (request_chunked_) bufs[n++] = uv_buf_init(line, static_cast<unsigned>(http::writeChunkHeader(chunk.size(), line)));
  bufs[n++] = uv_buf_init(const_cast<char*>(chunk.data()), static_cast<unsigned>(chunk.size()));
  if (request_chunked_) bufs[n++] = uv_buf_init(const_cast<char*>("\r\n"), 2);
  body_forwarded_ = true;
  long q = up_->write(bufs, n);
  if (q != 0) pauseClientReading();  // backpressure until drained (or the error arrives)
}

bool Session::onComplete() {
  request_done_ = true;
  if (up_ && request_chunked_ && state_ == State::Exchange) {
    // The last chunk, the client's trailer fields (those that may be trailers), the end.
    std::string_view trailers = parser_.trailers();
    uv_buf_t end[3] = {uv_buf_init(const_cast<char*>("0\r\n"), 3), uv_buf_init(const_cast<char*>(trailers.data()), static_cast<unsigned>(trailers.size())),
                       uv_buf_init(const_cast<char*>("\r\n"), 2)};
    up_->write(end, 3);  // a failure is reported asynchronously
  }
  return true;  // the next pipelined request waits for this response (see feedClient)
}

// ---- attaching an upstream connection ---------------------------------------------------------

// Picks a server not tried yet and attaches a connection: true when an idle pooled one was ready
// now; false when connecting (onUpstreamConnected follows) or when nothing is left (answered with
// `exhausted_status` once the retries are used up: 502, or 504 after a connect timeout).
bool Session::startAttempt(int exhausted_status) {
  for (;;) {
    if (attempts_ > runtime_->config().retries) {
      respondLocal(exhausted_status);
      return false;
    }
    // lb/pick.h: pins (a draining server keeps its pinned sessions), then the tried set, then
    // health and admin state, then the strategy.
    lb::Choice choice = runtime_->choose(&affinity_, tried_);
    if (attempts_ == 0) metricsAffinity(choice.pin);
    if (choice.server < 0) {
      respondLocal(attempts_ == 0 ? 503 : retry_status_);  // 503: every server down or closed to new sessions
      return false;
    }
    if (attempts_ > 0) metricsRetry();  // a further server is tried
    tried_.set(static_cast<size_t>(choice.server));
    ++attempts_;
    if (attachTo(static_cast<uint32_t>(choice.server))) return true;
    if (up_) return false;  // connecting
  }
}

// Attaches an idle connection to `server` (true) or starts a new one (false, up_ set); on a
// connect that could not even start, up_ stays null.
bool Session::attachTo(uint32_t server) {
  runtime_->addActive(server);
  if (upstream::UpstreamConn* idle = runtime_->takeIdle(server)) {
    metricsAttached(server, false);
    up_ = idle;
    up_->attach(this);
    state_ = State::Exchange;
    return true;
  }
  metricsAttached(server, true);
  up_ = runtime_->connectNew(server, this);
  if (!up_) {
    runtime_->removeActive(server);
    metricsReleased(server);
  }
  state_ = State::Waiting;
  return false;
}

void Session::onUpstreamConnected(upstream::UpstreamConn&) {
  metricsConnected();
  state_ = State::Exchange;
  upstreamReady();
}

// A connection became ready outside the parser (connected, or a retry): send the head and let
// the body that waited in pending_ flow.
void Session::upstreamReady() {
  if (!sendRequestHead()) return;
  if (!request_done_) resumeParsing();
}

bool Session::sendRequestHead() {
  return server::sendRequestHead(*up_, up_head_, request_is_head_, route_, *gen_->config);
}

// The connection failed before a response started: replay or fail by decideRetry
// (exchange_parts.h). `next_ok`: always for connect failures, only for idempotent requests after a
// reset or a timeout; the stale keep-alive retry follows nginx.
void Session::retryOrFail(int status, bool stale_ok, bool next_ok) {
  RetryInputs in;
  in.stale_ok = stale_ok;
  in.reused = up_ && up_->reused();
  in.upstream_response_started = up_ && up_->responseStarted();
  uint32_t server = up_ ? up_->server() : 0;
  releaseUpstream(false);
  if (closing_) return;
  in.response_started = response_started_;
  in.body_forwarded = body_forwarded_;
  in.stale_retry_used = stale_retry_used_;
  in.next_ok = next_ok;
  switch (decideRetry(in)) {
    case RetryStep::Stale:
      stale_retry_used_ = true;
      metricsRetry();
      if (attachTo(server)) upstreamReady();
      else if (!up_) retryOrFail(status);
      return;
    case RetryStep::Next:
      retry_status_ = static_cast<uint16_t>(status);
      if (startAttempt(status)) upstreamReady();
      return;
    case RetryStep::Fail: break;
  }
  if (response_started_) return close();
  respondLocal(status);
}

void Session::onUpstreamError(upstream::UpstreamConn& conn, upstream::UpstreamError error) {
  const auto& srv = runtime_->config().servers[conn.server()];
  common::logDebug("upstream_error", {{"upstream", runtime_->config().name}, {"server", srv.name}, {"error", upstream::upstreamErrorName(error)}});
  // Failures of live traffic feed passive detection.
  if (const char* reason = passiveFailureReason(error, conn.reused())) runtime_->noteFailure(conn.server(), reason);
  switch (error) {
    case upstream::UpstreamError::ConnectFailed:
    case upstream::UpstreamError::TlsFailed: return retryOrFail(502);
    case upstream::UpstreamError::ConnectTimeout: return retryOrFail(504);
    case upstream::UpstreamError::ResponseTimeout:
      // An idempotent request whose response has not started moves on.
      if (!response_started_ && request_idempotent_) return retryOrFail(504, false, true);
      releaseUpstream(false);
      if (response_started_) return close();
      return respondLocal(504);
    case upstream::UpstreamError::Closed:
      if (!conn.responseStarted() && !response_started_) return retryOrFail(502, true, request_idempotent_);
      [[fallthrough]];
    case upstream::UpstreamError::BadResponse:
      releaseUpstream(false);
      if (response_started_) return close();
      return respondLocal(502);
  }
}

void Session::releaseUpstream(bool reusable) {
  if (!up_) return;
  upstream::UpstreamConn* c = up_;
  up_ = nullptr;
  runtime_->removeActive(c->server());
  metricsReleased(c->server());
  runtime_->release(c, reusable);
}

// ---- response events -------------------------------------------------------------------------

http::HeadAction Session::onResponseHead(http::MessageHead& head) {
  if (head.status == 101) {
    if (upgrade_) {  // relayed with the tunnel's first bytes by onUpstreamUpgraded
      down_head_.clear();
      http::writeDownstreamResponseHead(head, downstreamInfo(http::BodyFraming::None, true, false, true), down_head_);
      addAffinityHeaders(head.status);
      response_started_ = true;
      metricsResponseHead(head.status);
    }
    return http::HeadAction::Continue;
  }
  if (head.status >= 100 && head.status < 200) {
    // Interim response (100 Continue, 103 Early Hints): relay to HTTP/1.1 clients right away.
    if (!client_http10_) {
      down_head_.clear();
      http::writeDownstreamResponseHead(head, {http::BodyFraming::None, true, false}, down_head_);
      addOut(down_head_.data(), down_head_.size());
      flushOut();
    }
    return http::HeadAction::NoBody;
  }
  if (head.status == 502 && up_) runtime_->noteFailure(up_->server(), "status_502");
  if (!request_done_) client_keep_alive_ = false;  // answered before the body ended: close after
  if (worker_.ctx().draining) client_keep_alive_ = false;
  framing_ = http::responseFraming(head, request_is_head_, !client_http10_);
  if (framing_ == http::BodyFraming::UntilClose) client_keep_alive_ = false;
  down_head_.clear();
  http::writeDownstreamResponseHead(head, downstreamInfo(framing_, client_keep_alive_, client_http10_, false), down_head_);
  addAffinityHeaders(head.status);
  // A handshake whose sid goes out sealed: the head waits for the open packet (its length changes).
  holding_head_ = affinity_.sealing && up_ && framing_ != http::BodyFraming::None;
  if (!holding_head_) addOut(down_head_.data(), down_head_.size());
  response_started_ = true;
  metricsResponseHead(head.status);
  return http::HeadAction::Continue;
}

void Session::onResponseBody(std::string_view chunk) {
  response_body_bytes_ += chunk.size();
  if (holding_head_) return holdResponseBody(chunk, false);
  if (affinity_.capturing && up_) policy_->sid()->captureSid(affinity_, chunk, up_->server(), uv_now(worker_.ctx().loop));
  sendResponseBody(chunk);
}

// The held handshake response: once the policy has the open packet (or knows it is not one), the
// head goes out with the body's new length, then the body.
void Session::holdResponseBody(std::string_view chunk, bool final) {
  uint32_t server = up_ ? up_->server() : UINT32_MAX;
  if (!policy_->sid()->sealOpenPacket(affinity_, chunk, final, server, uv_now(worker_.ctx().loop), held_body_)) return;
  holding_head_ = false;
  if (framing_ == http::BodyFraming::ContentLength && !http::setContentLength(down_head_, held_body_.size())) {
    common::logError("sid_seal_failed", {{"reason", "no Content-Length in the response head"}});
    return close();
  }
  addOut(down_head_.data(), down_head_.size());
  if (!held_body_.empty()) sendResponseBody(held_body_);
}

void Session::sendResponseBody(std::string_view chunk) {
  if (framing_ == http::BodyFraming::Chunked) {
    OutBatch& b = batch();
    if (b.n + 3 > OutBatch::kMaxIov || b.chunks == OutBatch::kMaxIov) flushOut();
    char* line = b.chunk_lines[b.chunks++];
    addOut(line, http::writeChunkHeader(chunk.size(), line));
    addOut(chunk.data(), chunk.size());
    addOut("\r\n", 2);
    return;
  }
  addOut(chunk.data(), chunk.size());
}

bool Session::onResponseComplete() {
  if (!response_started_) return false;  // an interim response ended
  if (holding_head_) holdResponseBody({}, true);
  if (framing_ == http::BodyFraming::Chunked) {
    // The last chunk, the upstream's trailer fields (those that may be trailers), the end.
    addOut("0\r\n", 3);
    if (up_) {
      std::string_view trailers = up_->responseTrailers();
      addOut(trailers.data(), trailers.size());
    }
    addOut("\r\n", 2);
  }
  response_done_ = true;
  metricsResponseDone();
  return true;
}

void Session::onUpstreamReadDone() {
  if (closing_) return;
  if (!flushOut()) return;
  if (response_done_ && up_) finishExchange();
}

void Session::onUpstreamDrained() {
  if (!closing_ && !parse_blocked_) resumeClientReading();
}

void Session::finishExchange() {
  if (!request_done_ || !client_keep_alive_) {
    releaseUpstream(request_done_ && up_ && up_->reusable());
    return closeAfterWrites();
  }
  releaseUpstream(up_ && up_->reusable());
  resetExchange();
  if (tls_) tls_->releaseIdleBuffers();
  state_ = State::Idle;
  startTimer(static_cast<uint64_t>(worker_.ctx().config->timeouts.keepalive.count()));
  resumeParsing();
}

void Session::resetExchange() {
  runtime_ = nullptr;
  route_ = nullptr;
  if (gen_) parser_.setMaxBodyBytes(config::bodyLimitCeiling(*gen_->config));  // the next head's route is not known yet
  if (gen_) worker_.release(std::exchange(gen_, nullptr));
  policy_ = nullptr;
  tried_.clear();
  attempts_ = 0;
  stale_retry_used_ = body_forwarded_ = request_idempotent_ = false;
  retry_status_ = 502;
  request_done_ = request_has_body_ = request_chunked_ = request_is_head_ = upgrade_ = false;
  response_started_ = response_done_ = holding_head_ = false;
  framing_ = http::BodyFraming::None;
  request_id_.clear();
  real_ip_len_ = 0;
}

void Session::onUpstreamUpgraded(std::string_view rest) {
  if (!upgrade_) {  // a 101 nobody asked for
    releaseUpstream(false);
    return respondLocal(502);
  }
  addOut(down_head_.data(), down_head_.size());
  addOut(rest.data(), rest.size());
  if (!flushOut()) return;
  tunnel_ = new Tunnel(*this, *up_);
  metricsUpgraded();
  state_ = State::Tunnel;
  tunnel_->start();
}

}  // namespace proxy::server
