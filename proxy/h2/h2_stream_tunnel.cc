// H2Stream's WebSocket tunnel (RFC 8441): the key of the HTTP/1.1 handshake an extended CONNECT
// becomes upstream; once the upstream answers it with 101, the stream is answered 200 and carries
// the upstream connection's raw bytes both ways (the upstream side through RawSink), until either
// side ends it, an error resets it, or it stays silent past the route's tunnel_idle. The exchange
// before the 101 is in h2_stream.cc; see h2_stream.h.
#include <openssl/rand.h>
#include <uv.h>

#include <string>
#include <string_view>

#include "common/base64.h"
#include "common/log.h"
#include "proxy/h2/h2_session.h"
#include "proxy/h2/h2_stream.h"
#include "proxy/server/session.h"
#include "proxy/server/worker.h"

namespace proxy::h2 {

// The Sec-WebSocket-Key of the HTTP/1.1 handshake sent upstream: 16 random bytes, base64.
bool H2Stream::webSocketKey(std::string& key) {
  unsigned char nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return false;
  key = common::base64Encode(std::string_view(reinterpret_cast<const char*>(nonce), sizeof nonce));
  return true;
}

// Called inside the upstream's read; its onUpstreamReadDone follows and flushes (a Scope here
// could free this stream before that call).
void H2Stream::onUpstreamUpgraded(std::string_view rest) {
  if (websocket_ && response_started_ && up_ && !closed_) return startTunnel(rest);
  // A 101 nobody asked for: only WebSocket streams ask.
  releaseUpstream(false);
  if (!response_started_) respondLocal(502);
  else nghttp2_submit_rst_stream(conn_.ng(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_INTERNAL_ERROR);
}

// The upstream answered 101: the stream is answered 200 and carries the upstream's raw bytes.
void H2Stream::startTunnel(std::string_view rest) {
  tunnel_ = true;
  state_ = State::Exchange;
  loop::LoopContext& ctx = conn_.worker().ctx();
  last_activity_ms_ = uv_now(ctx.loop);
  up_->startRaw(this);
  up_->releaseHttpBuffers();
  tunnel_gauge_ = &runtime_->serverMetrics(response_server_).tunnels_active;
  tunnel_gauge_->add(1);
  runtime_->metrics().tunnels_total.add();
  runtime_->metrics().request_duration.observeNs(uv_hrtime() - start_ns_);
  finishLog(200, response_server_);
  submitResponse(down_head_, true, true);
  std::string().swap(down_head_);
  appendResponse(rest);
  if (request_done_ && up_ && up_->shutdownWrite() < 0) resetTunnel();
}

void H2Stream::onRawData(const char* data, size_t len) {
  H2Session::Scope scope(conn_);
  last_activity_ms_ = uv_now(conn_.worker().ctx().loop);
  response_bytes_ += len;
  appendResponse({data, len});  // pauses the upstream past kMaxBuffered
}

// The upstream's EOF ends the stream once its bytes are out; an error resets it.
void H2Stream::onRawEnd(int status) {
  H2Session::Scope scope(conn_);
  if (status != UV_EOF) return resetTunnel();
  if (up_) up_->pauseReading();
  response_done_ = true;
  if (!closed_) nghttp2_session_resume_data(conn_.ng(), id_);
}

void H2Stream::onRawDrained() {
  H2Session::Scope scope(conn_);
  if (unacked_) {
    consume(unacked_);
    unacked_ = 0;
  }
}

void H2Stream::onRawShutdown(int status) {
  if (status < 0) {
    H2Session::Scope scope(conn_);
    resetTunnel();
  }
}

void H2Stream::resetTunnel() {
  releaseUpstream(false);
  if (!closed_) nghttp2_submit_rst_stream(conn_.ng(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
}

void H2Stream::checkTunnelIdle(uint64_t now_ms) {
  if (!tunnel_ || closed_ || !up_ || now_ms - last_activity_ms_ < tunnel_idle_ms_) return;
  common::logDebug("tunnel_idle_timeout", {{"stream", static_cast<uint64_t>(id_)}});
  resetTunnel();
}

}  // namespace proxy::h2
