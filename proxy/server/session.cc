// Session, client side: accept, read, parse, local responses, timers, close. The upstream half of
// the exchange is in session_exchange.cc. See session.h for the design.
#include "proxy/server/session.h"

#include <new>

#include "common/log.h"
#include "common/stream_write.h"
#include "common/uv_util.h"
#include "proxy/http/error_response.h"
#include "proxy/server/worker.h"
#include "proxy/tunnel/tunnel.h"

namespace proxy::server {

Session::Session(Worker& worker)
    : worker_(worker),
      parser_(new (std::nothrow) http::Parser(HTTP_REQUEST, *this,
              http::ParserLimits{worker.ctx().config->limits.max_header_bytes, worker.ctx().config->limits.max_body_bytes})) {
  client_.data = this;
  timer_.data = this;
}

void Session::accept(uv_stream_t* listener) {
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
  worker_.addSession(this);
  if (rc == 0) rc = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&client_));
  if (rc == 0 && !parser_) rc = UV_ENOMEM;
  if (rc < 0) {
    common::logWarn("accept_failed", {{"error", common::uvErr(rc)}});
    return close();
  }
  if (ctx.connections->load(std::memory_order_relaxed) > ctx.config->limits.max_connections) {
    common::logDebug("connection_limit_reached");
    return close();  // existing connections are unaffected
  }
  uv_tcp_nodelay(&client_, 1);
  sockaddr_storage peer;
  int len = sizeof(peer);
  if (uv_tcp_getpeername(&client_, reinterpret_cast<sockaddr*>(&peer), &len) == 0)
    client_ip_len_ = common::formatIp(reinterpret_cast<sockaddr*>(&peer), client_ip_, sizeof(client_ip_));
  state_ = State::Idle;
  startTimer(static_cast<uint64_t>(ctx.config->timeouts.client_header.count()));
  resumeClientReading();
}

void Session::drain() {
  if (state_ == State::Idle) return close();
  client_keep_alive_ = false;  // the current response will say Connection: close
}

// ---- reading ---------------------------------------------------------------------------------

void Session::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Session*>(s->data);
  if (nread == 0 || self->closing_) return;
  if (self->lingering_) {
    if (nread < 0) self->close();
    return;  // answered and half-closed: discard what the client still sends
  }
  if (self->state_ == State::Tunnel) {
    if (nread < 0) return self->tunnel_->clientEnded(static_cast<int>(nread));
    return self->tunnel_->fromClient(buf->base, static_cast<size_t>(nread));
  }
  if (nread < 0) return self->onClientEnd();
  if (self->state_ == State::Idle) {
    self->state_ = State::Head;
    self->startTimer(static_cast<uint64_t>(self->worker_.ctx().config->timeouts.client_header.count()));
  }
  if (self->parse_blocked_) return self->appendPending(buf->base, static_cast<size_t>(nread));
  self->feedClient(buf->base, static_cast<size_t>(nread));
}

void Session::feedClient(const char* data, size_t len) {
  http::FeedResult r = parser_->feed(data, len);
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
      common::logDebug("bad_request", {{"client", std::string_view(client_ip_, client_ip_len_)}, {"reason", parser_->errorReason()}});
      int status = parser_->error() == http::ParseError::HeaderTooLarge ? 431
                   : parser_->error() == http::ParseError::BodyTooLarge ? 413 : 400;
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
  parser_->resume();
  if (!pending_.empty()) {
    std::string data;
    data.swap(pending_);
    feedClient(data.data(), data.size());
    if (pending_.empty()) pending_.swap(data), pending_.clear();  // keep the capacity
  } else {
    // Nothing waited, but a parser paused inside onHead has not reached the end of a bodyless
    // message yet (llhttp runs the steps after a callback only when fed again): an empty feed
    // completes it now, so request_done_ is known before the response (else a GET on a fresh
    // upstream connection, or a refused upgrade, would be answered with Connection: close).
    static const char kNothing = 0;
    feedClient(&kNothing, 0);
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

void Session::startTimer(uint64_t ms) {
  if (closing_) return;
  uv_timer_start(&timer_, &Session::onTimerCb, ms, 0);
}

void Session::onTimerCb(uv_timer_t* t) {
  auto* self = static_cast<Session*>(t->data);
  switch (self->state_) {
    case State::Idle: return self->close();  // keep-alive expired, or connected and sent nothing
    case State::Head:
      common::logDebug("client_header_timeout", {{"client", std::string_view(self->client_ip_, self->client_ip_len_)}});
      return self->respondLocal(408);
    case State::Tunnel: return self->tunnel_->onIdleTimer();
    case State::Closing:
      if (self->lingering_) self->close();
      return;
    default: return;
  }
}

// ---- writing ---------------------------------------------------------------------------------

// The batch is allocated at the first response and kept for the connection's life; a connection
// whose first request upgrades never needs one (onUpstreamUpgraded writes directly).
bool Session::ensureBatch() {
  if (batch_) return true;
  batch_.reset(new (std::nothrow) OutBatch);
  if (batch_) return true;
  common::logError("out_of_memory", {{"what", "output batch"}});
  close();
  return false;
}

void Session::addOut(const char* data, size_t len) {
  if (len == 0 || closing_ || !ensureBatch()) return;
  if (out_n_ == kMaxIov) flushOut();
  batch_->bufs[out_n_++] = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
}

bool Session::flushOut() {
  if (out_n_ == 0 || closing_) {
    out_n_ = 0;
    chunk_n_ = 0;
    return !closing_;
  }
  long q = common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&client_), batch_->bufs, out_n_, this, &Session::onClientWriteDone);
  out_n_ = 0;
  chunk_n_ = 0;
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
  if (self->up_) self->up_->resumeReading();
}

void Session::respondLocal(int status) {
  pauseClientReading();
  parse_blocked_ = true;
  state_ = State::Closing;
  std::string_view r = http::errorResponse(status, true);
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
  shutdown_req_.data = this;
  int rc = uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&client_), &Session::onShutdownCb);
  if (rc < 0) return close();
  resumeClientReading();
  startTimer(kLingerMs);
}

void Session::onShutdownCb(uv_shutdown_t* req, int status) {
  auto* self = static_cast<Session*>(req->data);
  if (status < 0 && !self->closing_) self->close();
}

// ---- closing ---------------------------------------------------------------------------------

void Session::close() {
  if (closing_) return;
  closing_ = true;
  state_ = State::Closing;
  if (tunnel_) {
    tunnel::Tunnel* t = tunnel_;
    tunnel_ = nullptr;
    t->destroy();
  }
  if (up_) releaseUpstream(false);
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
