// UpstreamConn: see upstream_conn.h.
#include "proxy/upstream/upstream_conn.h"

#include <cassert>

#include "common/log.h"
#include "common/stream_write.h"
#include "common/uv_util.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/tls_engine.h"
#include "proxy/upstream/upstream_runtime.h"

namespace proxy::upstream {

const char* upstreamErrorName(UpstreamError e) {
  switch (e) {
    case UpstreamError::ConnectFailed: return "connect_failed";
    case UpstreamError::ConnectTimeout: return "connect_timeout";
    case UpstreamError::Closed: return "closed";
    case UpstreamError::ResponseTimeout: return "response_timeout";
    case UpstreamError::BadResponse: return "bad_response";
    case UpstreamError::TlsFailed: return "tls_failed";
  }
  return "?";
}

UpstreamConn::UpstreamConn(loop::LoopContext& ctx, UpstreamRuntime& runtime, uint32_t server)
    : ctx_(ctx), runtime_(runtime), parser_(HTTP_RESPONSE, *this), server_(server) {
  tcp_.data = this;
  timer_.data = this;
  connect_req_.data = this;
}

UpstreamConn::~UpstreamConn() = default;

int UpstreamConn::connect(const sockaddr* addr, UpstreamOwner* owner) {
  int rc = uv_tcp_init(ctx_.loop, &tcp_);
  if (rc < 0) {
    delete this;
    return rc;
  }
  ++open_handles_;
  rc = uv_timer_init(ctx_.loop, &timer_);
  if (rc == 0) ++open_handles_;
  owner_ = owner;
  if (rc == 0) rc = uv_tcp_nodelay(&tcp_, 1);
  if (rc == 0) rc = uv_tcp_connect(&connect_req_, &tcp_, addr, &UpstreamConn::onConnectCb);
  if (rc < 0) {
    owner_ = nullptr;
    close();
    return rc;
  }
  arm(TimerMode::Connect, static_cast<uint64_t>(ctx_.config->timeouts.connect.count()));
  return 0;
}

void UpstreamConn::onConnectCb(uv_connect_t* req, int status) {
  auto* self = static_cast<UpstreamConn*>(req->data);
  if (status == UV_ECANCELED || self->closing_) return;
  self->disarm();
  if (status < 0) {
    common::logDebug("upstream_connect_error", {{"server", self->runtime_.config().servers[self->server_].name}, {"error", common::uvErr(status)}});
    return self->fail(UpstreamError::ConnectFailed);
  }
  self->connected_ = true;
  if (self->runtime_.config().tls.enabled) return self->startTls();
  self->resumeReading();
  if (self->owner_) self->owner_->onUpstreamConnected(*self);
}

// ---- TLS ------------------------------------------------------------------------------------

// Sends the ClientHello; the rest of the handshake runs in onTlsRead, under the connect timeout.
void UpstreamConn::startTls() {
  const config::UpstreamConfig& u = runtime_.config();
  if (u.tls.context) tls_ = u.tls.context->newEngine(u.servers[server_], runtime_.tlsSession(server_));
  if (!tls_) return tlsFailed(u.tls.context ? "cannot create a TLS connection" : "no TLS context");
  handshaking_ = true;
  arm(TimerMode::Connect, static_cast<uint64_t>(ctx_.config->timeouts.connect.count()));
  char none;
  if (tls_->feed(nullptr, 0, &none, 0, [](const char*, size_t) { return true; }) != tls::TlsEngine::Status::Ok)
    return tlsFailed(tls_->lastError());
  if (!sendTlsOutput()) return;
  resumeReading();
}

void UpstreamConn::onTlsRead(const char* data, size_t len) {
  if (!ctx_.upstream_tls_buffer) ctx_.upstream_tls_buffer.reset(new char[loop::LoopContext::kReadBufferSize]);
  auto status = tls_->feed(data, len, ctx_.upstream_tls_buffer.get(), loop::LoopContext::kReadBufferSize, [this](const char* p, size_t n) {
    onPlain(p, n);
    return !closing_;
  });
  // Tickets come before the response that may have closed the connection: keep them regardless.
  if (SSL_SESSION* session = tls_->takeResumableSession()) runtime_.keepTlsSession(server_, session);
  if (closing_) return;
  if (handshaking_) {
    if (status == tls::TlsEngine::Status::Ok && !tls_->handshakeDone()) {
      sendTlsOutput();
      return;
    }
    if (status != tls::TlsEngine::Status::Ok) return tlsFailed(status == tls::TlsEngine::Status::Closed ? "closed by the server" : tls_->lastError());
    handshaking_ = false;
    disarm();
    runtime_.metrics().tlsHandshake(tls_->resumed() ? metrics::UpstreamTlsResult::Resumed : metrics::UpstreamTlsResult::Full);
    if (!sendTlsOutput()) return;
    if (owner_) owner_->onUpstreamConnected(*this);
    return;
  }
  if (status == tls::TlsEngine::Status::Error) {
    common::logDebug("upstream_tls_error", {{"upstream", runtime_.config().name}, {"server", runtime_.config().servers[server_].name},
                                            {"reason", tls_->lastError()}});
    return onEnd(UV_EPROTO);
  }
  if (!sendTlsOutput()) return;
  if (status == tls::TlsEngine::Status::Closed) onEnd(UV_EOF);  // close_notify
}

// Writes what the engine produced (handshake records, encrypted data, alerts). False when the
// connection failed (reported to the owner from the next loop turn, as write() does).
bool UpstreamConn::sendTlsOutput() {
  std::string_view out = tls_->pendingOutput();
  if (out.empty()) return true;
  uv_buf_t b = uv_buf_init(const_cast<char*>(out.data()), static_cast<unsigned>(out.size()));
  long rc = writeSocket(&b, 1);
  tls_->consumeOutput();
  return rc >= 0;
}

void UpstreamConn::tlsFailed(const char* reason) {
  const config::UpstreamConfig& u = runtime_.config();
  common::logWarn("upstream_tls_failed", {{"upstream", u.name}, {"server", u.servers[server_].name}, {"reason", reason}});
  runtime_.metrics().tlsHandshake(metrics::UpstreamTlsResult::Failed);
  handshaking_ = false;
  if (tls_) sendTlsOutput();  // the alert, if any
  disarm();
  reusable_ = false;
  if (owner_) return owner_->onUpstreamError(*this, UpstreamError::TlsFailed);
  close();
}

// ---- writing --------------------------------------------------------------------------------

long UpstreamConn::write(const uv_buf_t* bufs, unsigned n) {
  if (!tls_) return writeSocket(bufs, n);
  assert(!handshaking_);
  if (tls_->write(bufs, n) != tls::TlsEngine::Status::Ok) {
    reusable_ = false;
    arm(TimerMode::Failed, 0);
    return UV_EPROTO;
  }
  std::string_view out = tls_->pendingOutput();
  if (out.empty()) return 0;  // nothing but empty buffers
  uv_buf_t b = uv_buf_init(const_cast<char*>(out.data()), static_cast<unsigned>(out.size()));
  long rc = writeSocket(&b, 1);
  tls_->consumeOutput();
  return rc;
}

long UpstreamConn::writeSocket(const uv_buf_t* bufs, unsigned n) {
  long rc = common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&tcp_), bufs, n, this, &UpstreamConn::onWriteDone);
  last_read_ms_ = uv_now(ctx_.loop);  // sending counts as activity for upstream_response
  if (rc > 0) queued_ += static_cast<size_t>(rc);
  if (rc < 0) {
    // Report the failure from the next loop turn, never from inside the caller's stack (the
    // caller may be in the middle of parsing).
    reusable_ = false;
    arm(TimerMode::Failed, 0);
  }
  return rc;
}

void UpstreamConn::onWriteDone(void* owner, int status, size_t bytes) {
  auto* self = static_cast<UpstreamConn*>(owner);
  self->queued_ -= bytes;
  if (self->closing_) return;
  if (status < 0) {
    if (self->raw_) return self->raw_->onRawEnd(status);
    return self->fail(UpstreamError::Closed);
  }
  if (self->queued_ == 0) {
    if (self->raw_) self->raw_->onRawDrained();
    else if (self->owner_) self->owner_->onUpstreamDrained();
  }
}

void UpstreamConn::expectResponse(bool request_is_head, uint64_t response_timeout_ms) {
  if (timer_mode_ == TimerMode::Failed) return;  // a write failed: the error is on its way
  if (response_done_) parser_.resume();
  head_request_ = request_is_head;
  awaiting_response_ = true;
  response_done_ = false;
  response_bytes_ = 0;
  ++requests_;
  last_read_ms_ = uv_now(ctx_.loop);
  response_timeout_ms_ = response_timeout_ms;
  arm(TimerMode::Response, response_timeout_ms);
}

void UpstreamConn::pauseReading() {
  if (reading_ && !closing_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
}

void UpstreamConn::resumeReading() {
  if (reading_ || closing_ || !connected_) return;
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &loop::LoopContext::allocCb, &UpstreamConn::onReadCb);
  if (rc < 0) {
    common::logWarn("upstream_read_start_failed", {{"error", common::uvErr(rc)}});
    return fail(UpstreamError::Closed);
  }
  reading_ = true;
}

void UpstreamConn::enterIdle() {
  owner_ = nullptr;
  arm(TimerMode::Idle, static_cast<uint64_t>(ctx_.config->timeouts.upstream_keepalive.count()));
  resumeReading();
}

void UpstreamConn::leaveIdle() {
  disarm();
}

void UpstreamConn::startRaw(RawSink* sink) {
  raw_ = sink;
  owner_ = nullptr;
  disarm();
}

int UpstreamConn::shutdownWrite() {
  if (closing_) return UV_ECANCELED;
  if (tls_) {  // close_notify first, then the FIN behind it
    tls_->shutdown();
    if (!sendTlsOutput()) return UV_EPIPE;
  }
  shutdown_req_.data = this;
  // The result comes back through RawSink::onRawShutdown, never from inside the caller's stack.
  return uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), [](uv_shutdown_t* req, int status) {
    auto* self = static_cast<UpstreamConn*>(req->data);
    if (status != UV_ECANCELED && !self->closing_ && self->raw_) self->raw_->onRawShutdown(status);
  });
}

void UpstreamConn::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<UpstreamConn*>(s->data);
  if (nread == 0 || self->closing_) return;
  if (nread < 0) {
    if (self->handshaking_)
      return self->tlsFailed(nread == UV_EOF ? "closed by the server during the handshake" : common::uvErr(static_cast<int>(nread)));
    return self->onEnd(static_cast<int>(nread));
  }
  if (self->ctx_.metrics) self->ctx_.metrics->bytes_upstream_rx.add(static_cast<uint64_t>(nread));
  if (self->tls_) return self->onTlsRead(buf->base, static_cast<size_t>(nread));
  self->onPlain(buf->base, static_cast<size_t>(nread));
}

// Bytes from the server (decrypted, with TLS).
void UpstreamConn::onPlain(const char* data, size_t len) {
  if (raw_) return raw_->onRawData(data, len);
  UpstreamOwner* owner = owner_;
  if (!owner || !awaiting_response_) {
    // Idle (or finished) connection: unsolicited bytes end it.
    reusable_ = false;
    if (!owner) {
      runtime_.forgetIdle(this);
      close();
    }
    return;
  }
  last_read_ms_ = uv_now(ctx_.loop);
  handleData(data, len);
  // Each piece is handed on before the next: with TLS, the next piece reuses the buffer.
  owner->onUpstreamReadDone();
}

// The server's end of the stream: UV_EOF (or close_notify), or an error.
void UpstreamConn::onEnd(int status) {
  if (raw_) return raw_->onRawEnd(status);
  UpstreamOwner* owner = owner_;
  reusable_ = false;
  if (!owner || !awaiting_response_) {
    // Idle (or finished) connection: EOF or an error ends it.
    if (!owner) {
      runtime_.forgetIdle(this);
      close();
    }
    return;
  }
  // A response delimited by the connection's end completes here.
  if (status == UV_EOF && parser_.messageInProgress() && parser_.finish()) return owner->onUpstreamReadDone();
  fail(UpstreamError::Closed);
}

void UpstreamConn::handleData(const char* data, size_t len) {
  http::FeedResult r = parser_.feed(data, len);
  switch (r.status) {
    case http::ParseStatus::Ok: return;
    case http::ParseStatus::Paused:
      if (r.consumed < len) reusable_ = false;  // bytes after the response: never reuse
      return;
    case http::ParseStatus::Upgrade:
      reusable_ = false;
      awaiting_response_ = false;
      disarm();
      if (owner_) owner_->onUpstreamUpgraded({data + r.consumed, len - r.consumed});
      return;
    case http::ParseStatus::Error:
      common::logDebug("upstream_bad_response", {{"reason", parser_.errorReason()}});
      return fail(UpstreamError::BadResponse);
  }
}

http::HeadAction UpstreamConn::onHead(http::MessageHead& head) {
  ++response_bytes_;
  if (!owner_) return http::HeadAction::Continue;
  http::HeadAction a = owner_->onResponseHead(head);
  if (head_request_ && head.status >= 200) return http::HeadAction::NoBody;
  return a;
}

void UpstreamConn::onBody(std::string_view chunk) {
  response_bytes_ += chunk.size();
  if (owner_) owner_->onResponseBody(chunk);
}

bool UpstreamConn::onComplete() {
  bool final_response = parser_.head().status >= 200 || parser_.head().status == 101;
  if (final_response) {
    if (!parser_.head().keep_alive) reusable_ = false;
    if (parser_.head().status == 101) return false;  // llhttp stops with HPE_PAUSED_UPGRADE
    awaiting_response_ = false;
    response_done_ = true;
    disarm();
  }
  if (owner_) owner_->onResponseComplete();
  return final_response;
}

// Lazy timer: arm() only moves the physical timer earlier, never later, and disarm() leaves it
// running; when it fires, the current mode's deadline decides whether this is a timeout or an
// early wake-up to re-arm. A keep-alive exchange therefore costs no timer-heap work per request.
void UpstreamConn::arm(TimerMode mode, uint64_t ms) {
  timer_mode_ = mode;
  uint64_t now = uv_now(ctx_.loop);
  deadline_ms_ = now + ms;
  if (timer_due_ms_ == 0 || timer_due_ms_ > deadline_ms_) {
    uv_timer_start(&timer_, &UpstreamConn::onTimerCb, ms, 0);
    timer_due_ms_ = deadline_ms_;
  }
}

void UpstreamConn::onTimerCb(uv_timer_t* t) {
  auto* self = static_cast<UpstreamConn*>(t->data);
  self->timer_due_ms_ = 0;
  if (self->timer_mode_ == TimerMode::Off) return;
  uint64_t now = uv_now(self->ctx_.loop);
  uint64_t deadline = self->deadline_ms_;
  if (self->timer_mode_ == TimerMode::Response)  // silence is measured from the last activity
    deadline = self->last_read_ms_ + self->response_timeout_ms_;
  if (now < deadline) {
    uv_timer_start(&self->timer_, &UpstreamConn::onTimerCb, deadline - now, 0);
    self->timer_due_ms_ = deadline;
    return;
  }
  switch (self->timer_mode_) {
    case TimerMode::Off: return;
    case TimerMode::Connect: return self->fail(UpstreamError::ConnectTimeout);
    case TimerMode::Failed: return self->fail(UpstreamError::Closed);
    case TimerMode::Idle:
      self->runtime_.forgetIdle(self);
      return self->close();
    case TimerMode::Response: return self->fail(UpstreamError::ResponseTimeout);
  }
}

void UpstreamConn::fail(UpstreamError e) {
  reusable_ = false;
  if (owner_) return owner_->onUpstreamError(*this, e);  // the owner releases or closes us
  runtime_.forgetIdle(this);
  close();
}

void UpstreamConn::close() {
  if (closing_) return;
  closing_ = true;
  owner_ = nullptr;
  raw_ = nullptr;
  runtime_.forgetIdle(this);
  if (open_handles_ >= 1) uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &UpstreamConn::onCloseCb);
  if (open_handles_ >= 2) uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &UpstreamConn::onCloseCb);
}

void UpstreamConn::onCloseCb(uv_handle_t* h) {
  auto* self = static_cast<UpstreamConn*>(h->data);
  if (--self->open_handles_ == 0) delete self;
}

}  // namespace proxy::upstream
