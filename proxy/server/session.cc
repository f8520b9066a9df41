// Session, client side: accept, read, parse, local responses, timers, close. The upstream half of
// the exchange is in session_exchange.cc. See session.h for the design.
#include "proxy/server/session.h"

#include <algorithm>

#include <utility>

#include "common/log.h"
#include "common/stream_write.h"
#include "common/uv_util.h"
#include "proxy/config/cidr.h"
#include "proxy/edge/client_limiter.h"
#include "proxy/edge/proxy_protocol.h"
#include "proxy/h2/h2_session.h"
#include "proxy/http/error_response.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/server/worker.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_engine.h"
#include "proxy/server/tunnel.h"

namespace proxy::server {

Session::Session(Worker& worker)
    : worker_(worker),
      parser_(HTTP_REQUEST, *this,
              http::ParserLimits{worker.ctx().config->limits.max_header_bytes, config::bodyLimitCeiling(*worker.ctx().config)}) {
  client_.data = this;
  timer_.data = this;
}

Session::~Session() {
  delete h2_;
  delete tls_;
}

void Session::accept(uv_stream_t* listener, const config::ListenerConfig& lc, const std::shared_ptr<const tls::TlsContext>& tls) {
  LoopContext& ctx = worker_.ctx();
  int rc = uv_tcp_init(ctx.loop, &client_);
  if (rc < 0) {
    common::logError("accept_init_failed", {{"error", common::uvErr(rc)}});
    delete this;
    return;
  }
  ++open_handles_;
  rc = uv_timer_init(ctx.loop, &timer_);
  if (rc == 0) ++open_handles_;
  ctx.connections->fetch_add(1, std::memory_order_relaxed);
  metricsAccepted();
  worker_.addSession(this);
  if (rc == 0) rc = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&client_));
  if (rc < 0) {
    common::logWarn("accept_failed", {{"error", common::uvErr(rc)}});
    return close();
  }
  uv_tcp_nodelay(&client_, 1);
  if (ctx.connections->load(std::memory_order_relaxed) > ctx.config->limits.max_connections) {
    // Existing connections are unaffected. A plain client is told to come back; a TLS one is
    // closed (a handshake is the last thing to spend CPU on at the limit).
    common::logDebug("connection_limit_reached");
    if (tls) return close();
    return respondLocal(503);
  }
  if (tls) {
    tls_ = new tls::TlsEngine(tls);
    if (!tls_->ok()) {
      common::logError("tls_session_failed");
      return close();
    }
  }
  sockaddr_storage peer;
  int len = sizeof(peer);
  if (uv_tcp_getpeername(&client_, reinterpret_cast<sockaddr*>(&peer), &len) == 0)
    client_ip_len_ = common::formatIp(reinterpret_cast<sockaddr*>(&peer), client_ip_, sizeof(client_ip_));
  state_ = State::Idle;
  redirect_https_ = lc.redirect_https;
  if (lc.http2.enabled) {
    h2cfg_ = lc.http2;
    h2_possible_ = true;
  }
  if (lc.proxy_protocol) {
    if (!lc.trusted_proxies.empty() && !config::cidrContains(lc.trusted_proxies, std::string_view(client_ip_, client_ip_len_))) {
      common::logDebug("proxy_protocol_untrusted_peer", {{"client", std::string_view(client_ip_, client_ip_len_)}});
      return close();
    }
    awaiting_proxy_ = true;  // the client is known once the header is read
  } else if (!admitClient()) {
    return;
  }
  startTimer(static_cast<uint64_t>(ctx.config->timeouts.client_header.count()));
  resumeClientReading();
}

// Counts the connection against limits.per_client.connections. Over the cap, a plain client gets
// 429 at once; a TLS one after its handshake, at its first request (reject_status_).
bool Session::admitClient() {
  uint32_t max = worker_.ctx().config->limits.per_client.connections;
  if (max == 0) return true;
  std::string_view ip(client_ip_, client_ip_len_);
  int32_t slot = edge::ClientLimiter::global().openConnection(edge::clientKey(ip), max, uv_now(worker_.ctx().loop));
  if (slot != edge::ClientLimiter::kRejected) {
    limiter_slot_ = slot;
    return true;
  }
  common::logDebug("client_connection_limit", {{"client", ip}});
  if (tls_) {
    reject_status_ = 429;
    return true;
  }
  respondLocal(429);
  return false;
}

// proxy_protocol: gathers the header (it may arrive in pieces), takes its source as the client,
// then hands what followed it to TLS or HTTP. A connection that does not start with a valid
// header is closed without an answer: it may not even be speaking HTTP.
void Session::onProxyHeader(const char* data, size_t len) {
  pending_.append(data, len);
  edge::ProxyHeader h;
  const char* why = "";
  edge::ProxyParse r = edge::parseProxyHeader(pending_.data(), pending_.size(), h, &why);
  if (r == edge::ProxyParse::NeedMore) return;
  if (r == edge::ProxyParse::Error) {
    common::logDebug("proxy_protocol_error", {{"client", std::string_view(client_ip_, client_ip_len_)}, {"reason", why}});
    return close();
  }
  awaiting_proxy_ = false;
  if (h.has_source) client_ip_len_ = common::formatIp(reinterpret_cast<const sockaddr*>(&h.source), client_ip_, sizeof(client_ip_));
  std::string rest;
  rest.swap(pending_);
  if (!admitClient()) return;
  if (rest.size() == h.length) return;
  if (tls_) return onTlsData(rest.data() + h.length, rest.size() - h.length);
  onPlain(rest.data() + h.length, rest.size() - h.length);
}

// Shutdown: the current response says Connection: close. An idle keep-alive connection is not cut
// at once: a request may already be on its way on it (a polling client's next request), and
// closing under it fails that request with no way for the client to know whether it ran. It
// stays open for a short grace (1 s, or the keep-alive timeout if shorter) and a request that
// arrives in time is served, with Connection: close.
constexpr uint64_t kDrainIdleGraceMs = 1000;

void Session::drain() {
  if (h2_) return h2_->drain();
  client_keep_alive_ = false;
  if (state_ != State::Idle) return;
  uint64_t keepalive = static_cast<uint64_t>(worker_.ctx().config->timeouts.keepalive.count());
  startTimer(std::min<uint64_t>(kDrainIdleGraceMs, keepalive));
}

void Session::listenerChanged() {
  if (h2_) h2_->drain();
}

// ---- reading ---------------------------------------------------------------------------------

void Session::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Session*>(s->data);
  if (nread == 0 || self->closing_) return;
  if (nread > 0) self->worker_.ctx().metrics->bytes_downstream_rx.add(static_cast<uint64_t>(nread));
  if (self->lingering_) {
    if (nread < 0) self->close();
    return;  // answered and half-closed: discard what the client still sends
  }
  if (nread < 0) {
    if (self->state_ == State::Tunnel) return self->tunnel_->clientEnded(static_cast<int>(nread));
    return self->onClientEnd();
  }
  if (self->awaiting_proxy_) return self->onProxyHeader(buf->base, static_cast<size_t>(nread));
  if (self->tls_) return self->onTlsData(buf->base, static_cast<size_t>(nread));
  self->onPlain(buf->base, static_cast<size_t>(nread));
}

void Session::onPlain(const char* data, size_t len) {
  if (state_ == State::Tunnel) return tunnel_->fromClient(data, len);
  if (h2_) {
    if (!h2_->feed(data, len)) close();
    return;
  }
  if (h2_possible_ && detectH2(data, len)) return;
  if (state_ == State::Idle) {
    state_ = State::Head;
    startTimer(static_cast<uint64_t>(worker_.ctx().config->timeouts.client_header.count()));
  }
  if (parse_blocked_) return appendPending(data, len);
  feedClient(data, len);
}

// TLS: ALPN decided in the handshake. Plain: a connection whose first bytes are the 24-byte
// preface speaks h2c with prior knowledge; a prefix of it is held until it is whole or differs.
bool Session::detectH2(const char* data, size_t len) {
  if (tls_) {
    h2_possible_ = false;
    if (!tls_->alpnH2()) return false;
    startH2(data, len);
    return true;
  }
  std::string_view preface = h2::H2Session::kPreface;
  size_t held = pending_.size();
  size_t n = std::min(len, preface.size() - held);
  if (std::string_view(data, n) != preface.substr(held, n)) {
    h2_possible_ = false;
    if (held == 0) return false;
    std::string bytes;  // HTTP/1.1 after all: the held bytes first
    bytes.swap(pending_);
    bytes.append(data, len);
    onPlain(bytes.data(), bytes.size());
    return true;
  }
  if (held + n < preface.size()) {
    pending_.append(data, len);
    if (state_ == State::Idle) {
      state_ = State::Head;
      startTimer(static_cast<uint64_t>(worker_.ctx().config->timeouts.client_header.count()));
    }
    return true;
  }
  h2_possible_ = false;
  std::string bytes;
  bytes.swap(pending_);
  bytes.append(data, len);
  startH2(bytes.data(), bytes.size());
  return true;
}

void Session::startH2(const char* data, size_t len) {
  if (reject_status_) return close();  // over the per-client connection cap
  h2_ = new h2::H2Session(*this, worker_, h2cfg_);
  if (!h2_->ok()) {
    common::logError("h2_session_failed");
    return close();
  }
  state_ = State::H2;
  releaseHttpBuffers();
  if (!h2_->feed(data, len)) close();
}

// Decrypts into the loop's second buffer and handles the plaintext as if it had been read.
// Handshake records are sent right away; the handshake itself runs under client_header.
void Session::onTlsData(const char* data, size_t len) {
  LoopContext& ctx = worker_.ctx();
  bool handshaking = !tls_->handshakeDone();
  auto status = tls_->feed(data, len, ctx.tls_buffer, LoopContext::kReadBufferSize, [this](const char* p, size_t n) {
    onPlain(p, n);
    return !closing_ && !lingering_;
  });
  if (handshaking) {
    if (tls_->handshakeDone()) {
      ctx.metrics->tls_handshakes[tls_->resumed() ? 1 : 0][tls_->version() == TLS1_3_VERSION ? 1 : 0].add(1);
      if (state_ == State::Idle) tls_->releaseIdleBuffers();  // no request yet: idle until one comes
    } else if (status == tls::TlsEngine::Status::Error) {
      ctx.metrics->tls_handshake_failures.add(1);
      if (tls_->clientCertFailed()) {
        ctx.metrics->tls_client_cert_failures.add(1);
        common::logWarn("tls_client_cert_rejected", {{"client", std::string_view(client_ip_, client_ip_len_)},
                                                     {"reason", tls_->lastError()}});
      }
    }
  }
  if (closing_) return;
  if (status == tls::TlsEngine::Status::Error) {
    common::logDebug("tls_error", {{"client", std::string_view(client_ip_, client_ip_len_)}, {"reason", tls_->lastError()}});
    sendTlsOutput();  // the alert, if any
    return close();
  }
  if (!sendTlsOutput()) return;
  if (status == tls::TlsEngine::Status::Closed) {
    if (state_ == State::Tunnel) return tunnel_->clientEnded(UV_EOF);
    onClientEnd();
  }
}

bool Session::sendTlsOutput() {
  std::string_view out = tls_->pendingOutput();
  if (out.empty()) return true;
  uv_buf_t b = uv_buf_init(const_cast<char*>(out.data()), static_cast<unsigned>(out.size()));
  long q = common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&client_), &b, 1, this, &Session::onClientWriteDone);
  tls_->consumeOutput();
  if (q < 0) {
    if (up_) releaseUpstream(false);
    close();
    return false;
  }
  if (q > 0) {
    client_queued_ += static_cast<size_t>(q);
    if (up_) up_->pauseReading();
  }
  return true;
}

void Session::feedClient(const char* data, size_t len) {
  http::FeedResult r = parser_.feed(data, len);
  if (closing_ || state_ == State::Closing) return;
  switch (r.status) {
    case http::ParseStatus::Ok: return;
    case http::ParseStatus::Paused:
    case http::ParseStatus::Upgrade:
      parse_blocked_ = true;
      appendPending(data + r.consumed, len - r.consumed);
      // The response may have completed before the request did (an early answer).
      if (request_done_ && response_done_) finishExchange();
      return;
    case http::ParseStatus::Error: {
      common::logDebug("bad_request", {{"client", std::string_view(client_ip_, client_ip_len_)}, {"reason", parser_.errorReason()}});
      int status = parser_.error() == http::ParseError::HeaderTooLarge        ? 431
                   : parser_.error() == http::ParseError::BodyTooLarge        ? 413
                   : parser_.error() == http::ParseError::VersionNotSupported ? 505
                                                                               : 400;
      if (response_started_ || up_) {  // mid-exchange: the upstream side cannot be saved
        releaseUpstream(false);
        if (response_started_) return close();
      }
      return respondLocal(status);
    }
  }
}

void Session::appendPending(const char* data, size_t len) {
  if (len == 0) return;
  pending_.append(data, len);
  if (pending_.size() >= kMaxPending) pauseClientReading();
}

// Resumes a paused parser over the bytes that waited in pending_.
void Session::resumeParsing() {
  parse_blocked_ = false;
  parser_.resume();
  // Feed even when nothing is pending: a parser paused at the end of a bodiless head completes
  // the message only when it runs again.
  std::string data;
  data.swap(pending_);
  feedClient(data.data(), data.size());
  if (pending_.empty()) {
    data.clear();
    pending_.swap(data);  // keep the capacity
  }
  if (!closing_ && !parse_blocked_ && state_ != State::Tunnel) resumeClientReading();
}

void Session::pauseClientReading() {
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&client_));
    reading_ = false;
  }
}

void Session::resumeClientReading() {
  if (reading_ || closing_ || close_after_write_ || (state_ == State::Closing && !lingering_)) return;
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&client_), &LoopContext::allocCb, &Session::onReadCb);
  if (rc < 0) {
    common::logWarn("client_read_start_failed", {{"error", common::uvErr(rc)}});
    return close();
  }
  reading_ = true;
}

void Session::onClientEnd() {
  // The client went away (EOF or reset). Nothing it could still receive matters.
  if (up_) releaseUpstream(false);
  close();
}

// ---- timers ----------------------------------------------------------------------------------

// Lazy timer (as in UpstreamConn): a new deadline only moves the physical timer earlier, and
// clearing a deadline leaves it running; when it fires, the state's deadline decides.
void Session::startTimer(uint64_t ms) {
  if (closing_) return;
  uint64_t now = uv_now(worker_.ctx().loop);
  deadline_ms_ = now + ms;
  if (timer_due_ms_ == 0 || timer_due_ms_ > deadline_ms_) {
    uv_timer_start(&timer_, &Session::onTimerCb, ms, 0);
    timer_due_ms_ = deadline_ms_;
  }
}

void Session::onTimerCb(uv_timer_t* t) {
  auto* self = static_cast<Session*>(t->data);
  self->timer_due_ms_ = 0;
  if (self->deadline_ms_ == 0 || self->closing_) return;
  uint64_t now = uv_now(self->worker_.ctx().loop);
  if (now < self->deadline_ms_) {
    uv_timer_start(&self->timer_, &Session::onTimerCb, self->deadline_ms_ - now, 0);
    self->timer_due_ms_ = self->deadline_ms_;
    return;
  }
  self->deadline_ms_ = 0;
  switch (self->state_) {
    case State::Idle: return self->close();  // keep-alive expired, or connected and sent nothing
    case State::Head:
      common::logDebug("client_header_timeout", {{"client", std::string_view(self->client_ip_, self->client_ip_len_)}});
      return self->respondLocal(408);
    case State::Tunnel: return self->tunnel_->onIdleTimer();
    case State::H2: return self->h2_->onTimer();
    case State::Closing:
      if (self->lingering_) self->close();
      return;
    default: return;
  }
}

// ---- writing ---------------------------------------------------------------------------------

OutBatch& Session::batch() {
  OutBatch& b = worker_.ctx().out;
  if (b.n && b.owner != this) b.owner->flushOut();  // defensive: batches never interleave
  b.owner = this;
  return b;
}

void Session::addOut(const char* data, size_t len) {
  if (len == 0) return;
  OutBatch& b = batch();
  if (b.n == OutBatch::kMaxIov) flushOut();
  b.iov[b.n++] = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
}

bool Session::flushOut() {
  OutBatch& b = worker_.ctx().out;
  if (b.owner != this || b.n == 0 || closing_) {
    if (b.owner == this) b.n = b.chunks = 0;
    return !closing_;
  }
  unsigned n = b.n;
  b.n = b.chunks = 0;
  if (tls_) {  // encrypt the batch; the ciphertext leaves through the same queue
    if (tls_->write(b.iov, n) == tls::TlsEngine::Status::Ok) return sendTlsOutput();
    if (up_) releaseUpstream(false);
    close();
    return false;
  }
  long q = common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&client_), b.iov, n, this, &Session::onClientWriteDone);
  if (q < 0) {
    common::logDebug("client_write_failed", {{"error", common::uvErr(static_cast<int>(q))}});
    if (up_) releaseUpstream(false);
    close();
    return false;
  }
  if (q > 0) {
    client_queued_ += static_cast<size_t>(q);
    if (up_) up_->pauseReading();  // backpressure: the client is slower than the upstream
  }
  return true;
}

void Session::releaseHttpBuffers() {
  std::string().swap(up_head_);
  std::string().swap(down_head_);
  std::string().swap(pending_);
  parser_.head().release();
  if (tls_) tls_->releaseIdleBuffers();
}

void Session::onClientWriteDone(void* owner, int status, size_t bytes) {
  auto* self = static_cast<Session*>(owner);
  self->client_queued_ -= bytes;
  if (self->closing_) return;
  if (status < 0) {
    if (self->up_) self->releaseUpstream(false);
    return self->close();
  }
  if (self->client_queued_ > 0) return;
  if (self->close_after_write_) return self->closeAfterWrites();
  if (self->state_ == State::Tunnel) return self->tunnel_->onClientDrained();
  if (self->state_ == State::H2) return self->h2_->onClientDrained();
  if (self->up_) self->up_->resumeReading();
}

void Session::respondLocal(int status) {
  pauseClientReading();
  parse_blocked_ = true;
  state_ = State::Closing;
  metricsLocalResponse(status);
  std::string_view r = http::errorResponse(status, true);
  std::string with_id;  // flushOut below copies what the kernel does not take at once
  if (!request_id_.empty()) {  // the request's id goes back on tether's own answers too
    http::withHeader(r, requestIdName(), request_id_, with_id);
    r = with_id;
  }
  addOut(r.data(), r.size());
  if (flushOut()) closeAfterWrites();
}

void Session::closeAfterWrites() {
  state_ = State::Closing;
  pauseClientReading();
  if (client_queued_ > 0) {
    close_after_write_ = true;  // onClientWriteDone comes back here
    return;
  }
  close_after_write_ = false;
  startLingering();
}

// Lingering close (as nginx): after the last response, send FIN and discard whatever the client
// still sends for a short while. Closing at once with unread input would make the kernel send a
// reset, and the client could lose the response it has not read yet (a 413 during an upload).
void Session::startLingering() {
  if (lingering_ || closing_) return;
  lingering_ = true;
  int rc = shutdownClient([](Session* s, int status) {
    if (status < 0) s->close();
  });
  if (rc < 0) return close();
  resumeClientReading();
  startTimer(kLingerMs);
}

int Session::shutdownClient(void (*done)(Session*, int status)) {
  struct Req {
    uv_shutdown_t req;
    Session* session;
    void (*done)(Session*, int);
  };
  auto* pending = new Req{{}, this, done};
  int rc = uv_shutdown(&pending->req, reinterpret_cast<uv_stream_t*>(&client_), [](uv_shutdown_t* req, int status) {
    auto* r = reinterpret_cast<Req*>(req);
    // Cancelled means the session is closing: it is still allocated until its close callback.
    if (status != UV_ECANCELED && !r->session->closing_) r->done(r->session, status);
    delete r;
  });
  if (rc < 0) delete pending;
  return rc;
}

// ---- closing ---------------------------------------------------------------------------------

void Session::close() {
  if (closing_) return;
  closing_ = true;
  state_ = State::Closing;
  metricsClosed();
  if (tunnel_) {
    Tunnel* t = tunnel_;
    tunnel_ = nullptr;
    t->destroy();
  }
  if (up_) releaseUpstream(false);
  if (h2_) h2_->closeAll();
  if (gen_) worker_.release(std::exchange(gen_, nullptr));
  edge::ClientLimiter::global().closeConnection(std::exchange(limiter_slot_, -1));
  worker_.removeSession(this);
  worker_.ctx().connections->fetch_sub(1, std::memory_order_relaxed);
  if (open_handles_ >= 1) uv_close(reinterpret_cast<uv_handle_t*>(&client_), &Session::onCloseCb);
  if (open_handles_ >= 2) uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Session::onCloseCb);
}

void Session::onCloseCb(uv_handle_t* h) {
  auto* self = static_cast<Session*>(h->data);
  if (--self->open_handles_ == 0) delete self;
}

}  // namespace proxy::server
