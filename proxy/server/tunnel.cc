// Tunnel: see tunnel.h.
#include "proxy/server/tunnel.h"

#include "common/log.h"
#include "common/uv_util.h"
#include "proxy/server/session.h"
#include "proxy/server/worker.h"

namespace proxy::server {

Tunnel::Tunnel(Session& session, upstream::UpstreamConn& up) : session_(session), up_(&up) {}

void Tunnel::start() {
  up_->startRaw(this);
  // The 101 head (and the bytes behind it) may still be queued to a slow client: the upstream
  // then stays paused until onClientDrained, as for any other write.
  if (session_.client_queued_ == 0) up_->resumeReading();
  touch();
  session_.startTimer(session_.tunnel_idle_ms_);
  std::string early;
  early.swap(session_.pending_);
  session_.parse_blocked_ = false;
  session_.releaseHttpBuffers();
  up_->releaseHttpBuffers();
  if (!early.empty()) {
    Session& s = session_;  // fromClient may close the session, which deletes `this`
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
  session_.addOut(data, len);
  session_.flushOut();  // pauses the upstream's reading when the client is slow
}

// A side that has ended is never read again (its EOF is final).
void Tunnel::onRawDrained() {
  if (!client_eof_) session_.resumeClientReading();
}
void Tunnel::onClientDrained() {
  if (!upstream_eof_) up_->resumeReading();
}

// Ending works as TCP does: each EOF is passed on as a FIN to the other side (after the bytes
// queued for it), and the tunnel closes once both FINs are out. A reset or an error on either
// side closes both at once.
void Tunnel::clientEnded(int status) {
  if (status != UV_EOF) return closeBoth();
  client_eof_ = true;
  session_.pauseClientReading();
  int rc = up_->shutdownWrite();  // onRawShutdown follows
  if (rc < 0) {
    common::logDebug("tunnel_upstream_shutdown_failed", {{"error", common::uvErr(rc)}});
    closeBoth();
  }
}

void Tunnel::onRawShutdown(int status) {
  if (status < 0) return closeBoth();
  upstream_shut_ = true;
  finishIfBothShut();
}

void Tunnel::onRawEnd(int status) {
  if (status != UV_EOF) return closeBoth();
  upstream_eof_ = true;
  up_->pauseReading();
  int rc = session_.shutdownClient([](Session* s, int st) {
    if (st < 0 || !s->tunnel_) return s->close();
    s->tunnel_->client_shut_ = true;
    s->tunnel_->finishIfBothShut();
  });
  if (rc < 0) {
    common::logDebug("tunnel_client_shutdown_failed", {{"error", common::uvErr(rc)}});
    closeBoth();
  }
}

void Tunnel::finishIfBothShut() {
  if (client_shut_ && upstream_shut_) closeBoth();
}

void Tunnel::onIdleTimer() {
  uint64_t timeout = session_.tunnel_idle_ms_;  // the route's or the global tunnel_idle
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

}  // namespace proxy::server
