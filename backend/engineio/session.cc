// Engine.IO session: sending, polling flush, heartbeat and closing; see session.h.
#include "backend/engineio/session.h"

#include "backend/engineio/server.h"
#include "common/log.h"
#include "common/uv_util.h"

namespace backend::engineio {

using common::ws::Opcode;

http::SharedFrame messageFrame(std::string_view data, bool binary) {
  return binary ? http::makeFrame(Opcode::Binary, {}, data) : http::makeFrame(Opcode::Text, "4", data);
}

namespace {
// The heartbeat is the same frame for every session of the loop.
const http::SharedFrame& pingFrame() {
  static thread_local const http::SharedFrame ping = http::makeFrame(Opcode::Text, "2", {});
  return ping;
}
}  // namespace

Session::Session(Server* server, std::string id, std::string peer)
    : server_(server), id_(std::move(id)), peer_(std::move(peer)) {}

bool Session::start(uv_loop_t* loop) {
  int rc = uv_timer_init(loop, &timer_);
  if (rc < 0) {
    common::logError("timer_init_failed", {{"error", common::uvErr(rc)}});
    return false;
  }
  timer_.data = this;
  armTimer(TimerState::PingInterval, server_->options_.pingInterval);
  return true;
}

size_t Session::queuedBytes() const {
  size_t n = queueBytes_;
  if (wsConn_ && transport_ == Transport::WebSocket) n += wsConn_->queuedBytes();
  return n;
}

SendResult Session::send(const http::SharedFrame& frame, bool isVolatile) {
  if (closed_) return SendResult::Dropped;
  const auto& opt = server_->options_;
  size_t backlog = queuedBytes();
  if (isVolatile) {
    bool writable = transport_ == Transport::WebSocket ? backlog < opt.volatileThreshold
                                                       : (pollConn_ != nullptr && queue_.empty());
    if (!writable) {
      ++server_->counters_.droppedVolatile;
      return SendResult::Dropped;
    }
  }
  if (backlog + frame->size() > opt.maxSendQueue) {
    if (timerState_ != TimerState::CloseSoon) {
      ++server_->counters_.slowConsumerDisconnects;
      common::logInfo("slow_consumer_disconnect", {{"sid", id_}, {"queued", backlog}});
      closeSoon("send queue overflow");
    }
    return SendResult::Overflow;
  }
  sendPacket(frame);
  return SendResult::Queued;
}

void Session::sendPacket(const http::SharedFrame& frame) {
  if (transport_ == Transport::WebSocket && wsConn_) {
    wsConn_->sendFrame(frame);
    return;
  }
  queue_.push_back(frame);
  queueBytes_ += frame->payload().size() + 1;
  if (pollConn_ && !upgrading_) flushPolling();
}

void Session::flushPolling() {
  if (!pollConn_ || queue_.empty()) return;
  std::string payload;
  payload.reserve(queueBytes_);
  for (const auto& f : queue_) {
    std::string_view p = f->payload();
    if (f->opcode() == Opcode::Binary) {
      appendToPayload(payload, PacketType::Message, true, p);
    } else {  // the packet as it is: type digit, then data
      if (!payload.empty()) payload.push_back(kRecordSeparator);
      payload.append(p);
    }
  }
  queue_.clear();
  if (queue_.capacity() > 64) queue_.shrink_to_fit();  // idle sessions hold no big buffers
  queueBytes_ = 0;
  http::Connection* conn = pollConn_;
  pollConn_ = nullptr;
  conn->userData = nullptr;
  conn->respond(200, "text/plain; charset=UTF-8", std::move(payload));
}

void Session::releasePoll() {
  if (!pollConn_) return;
  http::Connection* conn = pollConn_;
  pollConn_ = nullptr;
  conn->userData = nullptr;
  conn->respond(200, "text/plain; charset=UTF-8", "6");
}

void Session::flush() {
  if (transport_ == Transport::WebSocket && wsConn_) wsConn_->flush();
}

void Session::flushToWebSocket() {
  std::vector<http::SharedFrame> pending;
  pending.swap(queue_);
  queueBytes_ = 0;
  for (const auto& f : pending) sendPacket(f);
}

void Session::armTimer(TimerState state, uint64_t ms) {
  timerState_ = state;
  int rc = uv_timer_start(&timer_, onTimerCb, ms, 0);
  if (rc < 0) common::logError("timer_start_failed", {{"error", common::uvErr(rc)}});
}

void Session::onPong() {
  if (timerState_ == TimerState::WaitPong) armTimer(TimerState::PingInterval, server_->options_.pingInterval);
}

void Session::onTimerCb(uv_timer_t* t) {
  auto* s = static_cast<Session*>(t->data);
  switch (s->timerState_) {
    case TimerState::PingInterval:
      s->sendPacket(pingFrame());
      s->armTimer(TimerState::WaitPong, s->server_->options_.pingTimeout);
      break;
    case TimerState::WaitPong:
      s->close("ping timeout");
      break;
    case TimerState::CloseSoon:
      s->close(s->closeReason_);
      break;
  }
}

void Session::closeSoon(std::string_view reason) {
  if (closed_ || timerState_ == TimerState::CloseSoon) return;
  closeReason_ = reason;
  armTimer(TimerState::CloseSoon, 0);
}

void Session::close(std::string_view reason) {
  if (closed_) return;
  closed_ = true;
  if (reason.data() != closeReason_.data()) closeReason_.assign(reason);
  common::logDebug("session_closed", {{"sid", id_}, {"reason", reason}});
  // Tell the client first so it reconnects instead of waiting for a heartbeat to fail.
  if (wsConn_) {
    http::Connection* ws = wsConn_;
    wsConn_ = nullptr;
    ws->userData = nullptr;
    if (transport_ == Transport::WebSocket) ws->sendWs(Opcode::Text, "1");
    ws->closeWs(common::ws::close_code::kNormal, {});
  }
  queue_.clear();
  queueBytes_ = 0;
  if (pollConn_) {
    http::Connection* conn = pollConn_;
    pollConn_ = nullptr;
    conn->userData = nullptr;
    conn->respond(200, "text/plain; charset=UTF-8", "1");
  }
  server_->sessionClosed(*this);
  common::closeHandle(&timer_, onTimerCloseCb);
}

void Session::onTimerCloseCb(uv_handle_t* h) { delete static_cast<Session*>(h->data); }

}  // namespace backend::engineio
