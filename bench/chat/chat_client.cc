// ChatClient: see chat_client.h.
#include "bench/chat/chat_client.h"

#include <cassert>
#include <cstring>
#include <random>

#include "bench/chat/sio_packets.h"
#include "bench/ws/upgrade_answer.h"
#include "bench/ws/ws_frame.h"
#include "common/stream_write.h"
#include "common/ws_handshake.h"

namespace bench::chat {
namespace {

constexpr size_t kMaxHead = 16384;
constexpr size_t kKeepCapacity = 16384;  // a partial-frame buffer larger than this is shrunk

std::mt19937& rng() {
  thread_local std::mt19937 r{std::random_device{}()};
  return r;
}

// The payload of the frame being built; one per thread, reused.
std::string& scratch() {
  thread_local std::string s;
  return s;
}

}  // namespace

ChatClient::ChatClient(uv_loop_t* loop, const Target& target, ClientOwner& owner, uint32_t id, uint32_t room,
                       char* read_buffer, size_t read_buffer_size)
    : loop_(loop),
      target_(target),
      owner_(owner),
      id_(id),
      room_(room),
      room_name_("room" + std::to_string(room)),
      read_buffer_(read_buffer),
      read_buffer_size_(read_buffer_size) {
  tcp_.data = this;
  connect_req_.data = this;
  uint32_t m = rng()();
  std::memcpy(mask_, &m, 4);
}

void ChatClient::start() {
  assert(state_ == State::Idle);
  int rc = uv_tcp_init(loop_, &tcp_);
  if (rc < 0) {
    state_ = State::Closed;  // never initialized: nothing to close
    return owner_.onFailed(*this, "tcp_init", rc);
  }
  state_ = State::Connecting;
  rc = uv_tcp_nodelay(&tcp_, 1);
  if (rc < 0) return fail("nodelay", rc);
  rc = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&target_.addr), &ChatClient::onConnectCb);
  if (rc < 0) fail("connect", rc);
}

void ChatClient::onConnectCb(uv_connect_t* req, int status) {
  auto* self = static_cast<ChatClient*>(req->data);
  if (self->state_ != State::Connecting) return;
  if (status < 0) return self->fail("connect", status);
  self->state_ = State::Upgrading;
  uint8_t raw[16];
  for (auto& b : raw) b = static_cast<uint8_t>(rng()());
  std::string path = self->target_.path;
  if (path.empty() || path.back() != '/') path += '/';
  self->out_ = "GET " + path + "?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + self->target_.host +
               "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + common::ws::makeClientKey(raw) +
               "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), &ChatClient::onAllocCb, &ChatClient::onReadCb);
  if (rc < 0) return self->fail("read_start", rc);
  self->flush();
}

void ChatClient::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<ChatClient*>(h->data);
  *buf = uv_buf_init(self->read_buffer_, static_cast<unsigned>(self->read_buffer_size_));
}

void ChatClient::queueText(const std::string& payload) {
  uint8_t header[ws::kMaxHeaderSize];
  size_t hl = ws::writeFrameHeader(header, ws::kText, payload.size(), mask_);
  size_t at = out_.size();
  out_.append(reinterpret_cast<const char*>(header), hl);
  out_.append(payload);
  ws::applyMask(reinterpret_cast<uint8_t*>(out_.data() + at + hl), payload.size(), mask_);
}

void ChatClient::queueMessage(uint64_t stamp_ns, size_t size) {
  assert(state_ == State::Ready);
  std::string& p = scratch();
  p.clear();
  appendMessage(p, room_name_, stamp_ns, id_, size, next_ack_++);
  queueText(p);
}

void ChatClient::flush() {
  if (out_.empty() || state_ == State::Closed || state_ == State::Connecting || state_ == State::Idle) return;
  uv_buf_t b = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  long rc = common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, this, &ChatClient::onWriteDoneCb);
  if (rc < 0) return fail("write", static_cast<int>(rc));
  queued_ += static_cast<size_t>(rc);
  out_.clear();
}

void ChatClient::onWriteDoneCb(void* owner, int status, size_t bytes) {
  auto* self = static_cast<ChatClient*>(owner);
  assert(self->queued_ >= bytes);
  self->queued_ -= bytes;
  if (status < 0 && status != UV_ECANCELED) self->fail("write", status);
}

void ChatClient::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<ChatClient*>(s->data);
  if (nread == 0 || self->state_ == State::Closed) return;
  if (nread < 0) return self->fail(nread == UV_EOF ? "closed by server" : "read", static_cast<int>(nread));
  self->onData(buf->base, static_cast<size_t>(nread));
  self->flush();  // replies to pings and handshake steps
}

void ChatClient::onData(const char* data, size_t len) {
  const char* p = data;
  size_t n = len;
  if (!in_.empty()) {
    in_.append(data, len);
    p = in_.data();
    n = in_.size();
  }
  size_t used = 0;
  if (state_ == State::Upgrading) {
    switch (ws::readUpgradeAnswer({p, n}, kMaxHead, used)) {
      case ws::UpgradeAnswer::Incomplete:
        if (in_.empty()) in_.assign(data, len);
        return;
      case ws::UpgradeAnswer::TooLarge: return fail("upgrade: response head too large", 0);
      case ws::UpgradeAnswer::Refused: return fail("upgrade: no 101", 0);
      case ws::UpgradeAnswer::Accepted: break;
    }
    state_ = State::WaitOpen;
  }
  size_t frames_used = 0;
  if (!parseFrames(reinterpret_cast<const uint8_t*>(p + used), n - used, frames_used)) return;
  used += frames_used;
  if (p == in_.data()) {
    in_.erase(0, used);
    if (in_.capacity() > kKeepCapacity && in_.size() < kKeepCapacity / 4) std::string(in_).swap(in_);  // held per connection
  } else {
    in_.assign(p + used, n - used);
  }
}

bool ChatClient::parseFrames(const uint8_t* p, size_t n, size_t& used) {
  uint64_t now = uv_hrtime();  // every frame of one read arrived together
  size_t pos = 0;
  for (;;) {
    ws::FrameHeader h;
    if (!ws::parseFrameHeader(p + pos, n - pos, h)) break;
    if (h.length > (1u << 20)) {
      fail("frame over 1 MiB", 0);
      return false;
    }
    if (n - pos - h.header_size < h.length) break;
    const char* payload = reinterpret_cast<const char*>(p + pos + h.header_size);
    pos += h.header_size + static_cast<size_t>(h.length);
    if (h.masked || !h.fin) {
      fail(h.masked ? "masked frame from server" : "fragmented frame (not supported)", 0);
      return false;
    }
    if (h.opcode == ws::kText) {
      if (!onText(payload, static_cast<size_t>(h.length), now)) return false;
    } else if (h.opcode == ws::kClose) {
      fail("close frame from server", 0);
      return false;
    } else if (h.opcode == ws::kPing) {
      uint8_t header[ws::kMaxHeaderSize];
      size_t hl = ws::writeFrameHeader(header, ws::kPong, h.length, mask_);
      size_t at = out_.size();
      out_.append(reinterpret_cast<const char*>(header), hl);
      out_.append(payload, static_cast<size_t>(h.length));
      ws::applyMask(reinterpret_cast<uint8_t*>(out_.data() + at + hl), static_cast<size_t>(h.length), mask_);
    } else if (h.opcode != ws::kPong) {
      fail("binary frame from server", 0);
      return false;
    }
  }
  used = pos;
  return true;
}

bool ChatClient::onText(const char* text, size_t len, uint64_t now_ns) {
  Parsed m;
  switch (classify(std::string_view(text, len), m)) {
    case Packet::Message:
      if (state_ == State::Ready) owner_.onDelivery(*this, m.stamp_ns, m.sender, now_ns);
      return state_ != State::Closed;
    case Packet::Ping: {
      static const std::string kPong = "3";
      queueText(kPong);
      return true;
    }
    case Packet::Open:
      if (state_ != State::WaitOpen) break;
      state_ = State::WaitConnect;
      queueText("40");
      return true;
    case Packet::Connected: {
      if (state_ != State::WaitConnect) break;
      state_ = State::Joining;
      std::string& p = scratch();
      p.clear();
      appendJoin(p, room_name_, 0);
      queueText(p);
      return true;
    }
    case Packet::Ack:
      if (m.ack_id == 0 && state_ == State::Joining) {
        if (std::string_view(text, len).find("\"error\"") != std::string_view::npos) break;
        state_ = State::Ready;
        joined_ = true;
        owner_.onJoined(*this);
      } else if (m.ack_id > 0 && state_ == State::Ready) {
        owner_.onAck(*this, std::string_view(text, len).find("\"error\"") == std::string_view::npos);
      } else {
        break;
      }
      return state_ != State::Closed;
    case Packet::Pong:
    case Packet::OtherEvent:
      return true;
    case Packet::Close:
    case Packet::Disconnect:
    case Packet::ConnectError:
    case Packet::Unknown:
      break;
  }
  fail(state_ == State::Ready ? "unexpected packet" : "unexpected packet during the handshake", 0);
  return false;
}

void ChatClient::fail(const char* what, int status) {
  if (state_ == State::Closed) return;
  close();
  owner_.onFailed(*this, what, status);
}

void ChatClient::close() {
  if (state_ == State::Closed || state_ == State::Idle) {
    state_ = State::Closed;
    return;
  }
  state_ = State::Closed;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), nullptr);
}

}  // namespace bench::chat
