// WebSocket side of Connection: the RFC 6455 handshake answer, frame output through the pure
// codec (common/ws_codec.h) and the close handshake. Pings are answered here; messages go to
// the WsHandler.
#include "backend/http/connection.h"

#include "common/log.h"
#include "common/uv_util.h"
#include "common/ws_handshake.h"

namespace backend::http {

namespace ws = common::ws;

namespace {
constexpr size_t kMaxCorked = 64 * 1024;  // queued bytes that trigger an early write
}  // namespace

bool Connection::upgradeToWebSocket(const Request& request, WsHandler* wsHandler) {
  std::string_view key = request.header("Sec-WebSocket-Key");
  if (request.method != "GET" || !ws::headerHasToken(request.header("Upgrade"), "websocket") ||
      !ws::headerHasToken(request.header("Connection"), "upgrade") ||
      request.header("Sec-WebSocket-Version") != "13" || !ws::isValidClientKey(key)) {
    request_.keepAlive = false;
    respond(400, "text/plain", "Bad WebSocket handshake");
    return false;
  }
  std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " + ws::acceptKey(key) + "\r\n";
  if (!limits_.servedBy.empty()) head.append("X-Served-By: ").append(limits_.servedBy).append("\r\n");
  head.append("\r\n");
  write(std::move(head), nullptr);
  if (closing_) return false;
  ws_ = wsHandler;
  decoder_ = std::make_unique<ws::Decoder>(ws::Role::Server, limits_.maxWsMessage);
  requestPending_ = false;
  request_.clear();
  if (!leftover_.empty()) {  // frames sent right behind the handshake
    std::string pending;
    pending.swap(leftover_);
    onRead(pending.data(), pending.size());
  }
  return true;
}

void Connection::sendFrame(const SharedFrame& frame) {
  if (closing_ || closeSent_ || !ws_) return;
  out_.push(frame);
  // Queued: the frames of one loop turn leave in one write (see flushAll()).
  if (!dirty_ && !markDirty()) {
    flush();
  } else if (out_.bytes() - inFlight_ >= kMaxCorked) {
    flush();  // a burst: let the kernel take it now so that only a slow reader builds a backlog
  }
}

void Connection::sendWs(ws::Opcode opcode, std::string_view payload) { sendFrame(makeFrame(opcode, {}, payload)); }

void Connection::closeWs(uint16_t code, std::string_view reason) {
  if (closing_ || closeSent_) return;
  if (!ws_) {
    close();
    return;
  }
  sendWs(ws::Opcode::Close, code == ws::close_code::kNoStatus ? std::string() : ws::closePayload(code, reason));
  flush();
  closeSent_ = true;
  // Wait for the peer's close frame (then close at once) but not forever.
  int rc = uv_timer_start(&graceTimer_, onGraceTimerCb, 2000, 0);
  if (rc < 0) {
    common::logWarn("timer_start_failed", {{"error", common::uvErr(rc)}});
    close();
  }
}

bool Connection::onMessage(ws::Opcode op, std::string_view payload) {
  if (closeSent_) return true;  // closing: drop data
  ws_->onWsMessage(*this, op, payload);
  return !closing_;
}

bool Connection::onPing(std::string_view payload) {
  if (!closeSent_) sendWs(ws::Opcode::Pong, payload);
  return !closing_;
}

bool Connection::onPong(std::string_view) {
  if (ws_) ws_->onWsPong(*this);
  return !closing_;
}

bool Connection::onClose(uint16_t code, std::string_view) {
  if (closeSent_) {  // the peer answered our close frame
    close();
    return false;
  }
  // Echo the status (RFC 6455 5.5.1) and close once it is written.
  sendWs(ws::Opcode::Close, code == ws::close_code::kNoStatus ? std::string() : ws::closePayload(code));
  closeSent_ = true;
  closeWhenFlushed();
  return false;
}

}  // namespace backend::http
