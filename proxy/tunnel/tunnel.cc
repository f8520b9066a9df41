// Tunnel: see tunnel.h.
#include "proxy/tunnel/tunnel.h"

#include "common/log.h"
#include "common/stream_write.h"
#include "common/uv_util.h"
#include "proxy/server/session.h"
#include "proxy/server/worker.h"

namespace proxy::tunnel {

Tunnel::Tunnel(server::Session& session, upstream::UpstreamConn& up) : session_(session), up_(&up) {
  ++session_.worker_.ctx().tunnels;
}

Tunnel::~Tunnel() { --session_.worker_.ctx().tunnels; }

void Tunnel::start() {
  up_->startRaw(this);
  // The 101 head (and the bytes behind it) may be queued to a slow client: then the upstream
  // stays paused until onClientDrained, as for any other write.
  if (session_.client_queued_ == 0) up_->resumeReading();
  touch();
  session_.startTimer(static_cast<uint64_t>(session_.worker_.ctx().config->timeouts.tunnel_idle.count()));
  // An idle tunnel holds no buffers: drop the heads and the request parser's storage.
  session_.batch_.reset();  // tunnel writes go straight through writeOrQueue
  std::string().swap(session_.up_head_);
  std::string().swap(session_.down_head_);
  session_.parser_.reset();
  std::string early;
  early.swap(session_.pending_);  // pending_ is left without capacity
  session_.parse_blocked_ = false;
  if (!early.empty()) {
    server::Session& s = session_;  // fromClient may close the session, which deletes `this`
    fromClient(early.data(), early.size());
    if (s.closing_) return;
  }
  if (up_->queuedBytes() == 0) session_.resumeClientReading();
}

void Tunnel::touch() { last_activity_ms_ = uv_now(session_.worker_.ctx().loop); }

void Tunnel::fromClient(const char* data, size_t len) {
  touch();
  uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
  long q = up_->write(&b, 1);
  if (q < 0) return closeBoth();
  if (q > 0) session_.pauseClientReading();  // until onRawDrained
}

void Tunnel::onRawData(const char* data, size_t len) {
  touch();
  uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
  long q = common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&session_.client_), &b, 1, &session_,
                                &server::Session::onClientWriteDone);
  if (q < 0) return closeBoth();
  if (q > 0) {
    session_.client_queued_ += static_cast<size_t>(q);
    up_->pauseReading();  // until onClientDrained
  }
}

void Tunnel::onRawDrained() {
  if (!client_eof_) session_.resumeClientReading();
}

void Tunnel::onClientDrained() {
  if (!upstream_eof_) up_->resumeReading();
}

void Tunnel::clientEnded(int status) {
  if (status != UV_EOF) return closeBoth();  // reset: the upstream is closed too
  client_eof_ = true;
  session_.pauseClientReading();
  int rc = up_->shutdownWrite();  // FIN after the queued bytes; onRawShutdown follows
  if (rc < 0) {
    common::logDebug("tunnel_upstream_shutdown_failed", {{"error", common::uvErr(rc)}});
    closeBoth();
  }
}

void Tunnel::onRawEnd(int status) {
  if (status != UV_EOF) return closeBoth();
  upstream_eof_ = true;
  up_->pauseReading();
  uv_shutdown_t* req = &session_.shutdown_req_;
  req->data = &session_;
  int rc = uv_shutdown(req, reinterpret_cast<uv_stream_t*>(&session_.client_), &Tunnel::onClientShutdownCb);
  if (rc < 0) {
    common::logDebug("tunnel_client_shutdown_failed", {{"error", common::uvErr(rc)}});
    closeBoth();
  }
}

void Tunnel::onClientShutdownCb(uv_shutdown_t* req, int status) {
  auto* s = static_cast<server::Session*>(req->data);
  if (status == UV_ECANCELED || s->closing_ || !s->tunnel_) return;  // closing anyway
  if (status < 0) return s->close();
  s->tunnel_->client_shut_ = true;
  s->tunnel_->finishIfBothShut();
}

void Tunnel::onRawShutdown(int status) {
  if (status < 0) return closeBoth();
  upstream_shut_ = true;
  finishIfBothShut();
}

// Both directions ended and both FINs are out (so every queued byte was written): done.
void Tunnel::finishIfBothShut() {
  if (client_shut_ && upstream_shut_) closeBoth();
}

void Tunnel::onIdleTimer() {
  uint64_t timeout = static_cast<uint64_t>(session_.worker_.ctx().config->timeouts.tunnel_idle.count());
  uint64_t silent = uv_now(session_.worker_.ctx().loop) - last_activity_ms_;
  if (silent < timeout) return session_.startTimer(timeout - silent);
  common::logDebug("tunnel_idle_timeout");
  closeBoth();
}

void Tunnel::closeBoth() { session_.close(); }  // Session::close calls destroy()

void Tunnel::destroy() {
  // The session releases (closes) the upstream connection itself.
  delete this;
}

}  // namespace proxy::tunnel
