// Conn: see ws_bench_conn.h.
#include "bench/ws/ws_bench_conn.h"

#include <cstring>
#include <random>

#include "bench/ws/upgrade_answer.h"
#include "bench/ws/ws_frame.h"
#include "common/ws_handshake.h"

namespace bench::ws {
namespace {

std::string randomKeyBase64(std::mt19937& rng) {
  uint8_t raw[16];
  for (auto& b : raw) b = static_cast<uint8_t>(rng());
  return common::ws::makeClientKey(raw);
}

std::mt19937& rng() {
  static std::mt19937 r{std::random_device{}()};
  return r;
}

}  // namespace

Conn::Conn(uv_loop_t* loop, const Target& target, ConnOwner& owner, char* read_buffer, size_t read_buffer_size)
    : loop_(loop), target_(target), owner_(owner), read_buffer_(read_buffer), read_buffer_size_(read_buffer_size) {
  tcp_.data = this;
  connect_req_.data = this;
  write_req_.data = this;
  uint32_t m = rng()();
  std::memcpy(mask_, &m, 4);
}

void Conn::start() {
  int rc = uv_tcp_init(loop_, &tcp_);
  if (rc < 0) {
    state_ = State::Closed;  // never initialized: nothing to close
    return owner_.onFailed("tcp_init", rc);
  }
  state_ = State::Connecting;
  uv_tcp_nodelay(&tcp_, 1);
  rc = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&target_.addr), &Conn::onConnectCb);
  if (rc < 0) fail("connect", rc);
}

void Conn::onConnectCb(uv_connect_t* req, int status) {
  auto* self = static_cast<Conn*>(req->data);
  if (self->state_ != State::Connecting) return;
  if (status < 0) return self->fail("connect", status);
  self->state_ = State::Handshake;
  self->out_ = "GET " + self->target_.path + " HTTP/1.1\r\nHost: " + self->target_.host +
               "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + randomKeyBase64(rng()) +
               "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), &Conn::onAllocCb, &Conn::onReadCb);
  if (rc < 0) return self->fail("read_start", rc);
  self->flush();
}

void Conn::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Conn*>(h->data);
  *buf = uv_buf_init(self->read_buffer_, static_cast<unsigned>(self->read_buffer_size_));
}

void Conn::queueMessage(uint64_t stamp_ns, size_t size) {
  uint8_t header[kMaxHeaderSize];
  size_t hl = writeFrameHeader(header, kBinary, size, mask_);
  size_t at = out_.size();
  out_.append(reinterpret_cast<const char*>(header), hl);
  out_.resize(at + hl + size, 'x');
  uint8_t* payload = reinterpret_cast<uint8_t*>(out_.data() + at + hl);
  std::memcpy(payload, &stamp_ns, 8);
  applyMask(payload, size, mask_);
}

void Conn::flush() {
  if (writing_ || out_.empty() || (state_ != State::Open && state_ != State::Handshake)) return;
  uv_buf_t b = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  int rc = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
  if (rc == UV_EAGAIN) rc = 0;
  if (rc < 0) return fail("write", rc);
  out_.erase(0, static_cast<size_t>(rc));
  if (out_.empty()) return;
  inflight_.swap(out_);
  out_.clear();
  b = uv_buf_init(inflight_.data(), static_cast<unsigned>(inflight_.size()));
  rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, &Conn::onWriteCb);
  if (rc < 0) return fail("write", rc);
  writing_ = true;
}

void Conn::onWriteCb(uv_write_t* req, int status) {
  auto* self = static_cast<Conn*>(req->data);
  self->writing_ = false;
  self->inflight_.clear();
  if (status == UV_ECANCELED || self->state_ == State::Closed) return;
  if (status < 0) return self->fail("write", status);
  self->flush();
}

void Conn::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Conn*>(s->data);
  if (nread == 0 || self->state_ == State::Closed) return;
  if (nread < 0) return self->fail(nread == UV_EOF ? "closed by peer" : "read", static_cast<int>(nread));
  self->onData(buf->base, static_cast<size_t>(nread));
}

void Conn::onData(const char* data, size_t len) {
  const char* p = data;
  size_t n = len;
  if (!in_.empty()) {
    in_.append(data, len);
    p = in_.data();
    n = in_.size();
  }
  size_t used = 0;
  if (state_ == State::Handshake) {
    switch (readUpgradeAnswer({p, n}, 16384, used)) {
      case UpgradeAnswer::Incomplete:
        if (in_.empty()) in_.assign(data, len);
        return;
      case UpgradeAnswer::TooLarge: return fail("handshake: head too large", 0);
      case UpgradeAnswer::Refused: return fail("handshake: no 101", 0);
      case UpgradeAnswer::Accepted: break;
    }
    state_ = State::Open;
    owner_.onOpen();
    if (state_ != State::Open) return;
  }
  size_t frames_used = 0;
  if (!parseFrames(reinterpret_cast<const uint8_t*>(p + used), n - used, frames_used)) return;
  used += frames_used;
  std::string rest(p + used, n - used);  // p may point into in_
  in_.swap(rest);
}

// Consumes complete frames; stops at a partial one. False when the connection ended.
bool Conn::parseFrames(const uint8_t* p, size_t n, size_t& used) {
  size_t pos = 0;
  for (;;) {
    FrameHeader h;
    if (!parseFrameHeader(p + pos, n - pos, h)) break;
    if (n - pos - h.header_size < h.length) break;
    const uint8_t* payload = p + pos + h.header_size;
    if (h.opcode == kBinary && h.length >= 8) {
      uint64_t stamp;
      std::memcpy(&stamp, payload, 8);
      owner_.onEcho(stamp);
    } else if (h.opcode == kClose) {
      fail("close frame from peer", 0);
      return false;
    }
    pos += h.header_size + static_cast<size_t>(h.length);
  }
  used = pos;
  return true;
}

void Conn::fail(const char* what, int status) {
  if (state_ == State::Closed) return;
  close();
  owner_.onFailed(what, status);
}

void Conn::close() {
  if (state_ == State::Closed || state_ == State::Idle) {
    state_ = State::Closed;
    return;
  }
  state_ = State::Closed;
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), nullptr);
}

}  // namespace bench::ws
