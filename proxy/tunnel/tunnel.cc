// Tunnel: see tunnel.h.
#include "proxy/tunnel/tunnel.h"

#include "common/log.h"
#include "proxy/server/session.h"
#include "proxy/server/worker.h"

namespace proxy::tunnel {

Tunnel::Tunnel(server::Session& session, upstream::UpstreamConn& up) : session_(session), up_(&up) {}

void Tunnel::start() {
  up_->startRaw(this);
  up_->resumeReading();
  touch();
  session_.startTimer(static_cast<uint64_t>(session_.worker_.ctx().config->timeouts.tunnel_idle.count()));
  if (!session_.pending_.empty()) {
    std::string early;
    early.swap(session_.pending_);
    fromClient(early.data(), early.size());
  }
  session_.parse_blocked_ = false;
  session_.releaseHttpBuffers();
  up_->releaseHttpBuffers();
  session_.resumeClientReading();
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

void Tunnel::onRawDrained() { session_.resumeClientReading(); }
void Tunnel::onClientDrained() { up_->resumeReading(); }

void Tunnel::clientEnded(int status) {
  if (status != UV_EOF) return closeBoth();
  client_eof_ = true;
  session_.pauseClientReading();
  if (upstream_eof_) return closeBoth();
  up_->shutdownWrite();
}

void Tunnel::onRawEnd(int status) {
  if (status != UV_EOF) return closeBoth();
  upstream_eof_ = true;
  up_->pauseReading();
  if (client_eof_) return closeBoth();
  if (session_.shutdownClient([](server::Session* s) { s->close(); }) < 0) closeBoth();
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
