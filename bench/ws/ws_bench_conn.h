// One load-generator WebSocket connection: connect, handshake, send stamped binary frames, read
// the echoes and report each message's round-trip time to its runner.
//
// Client-side framing is the minimal one of ws_frame.h (masked frames, a per-connection random
// masking key). The handshake checks only the 101 status line (the echo backend and the proxies
// under test are ours or well known; Sec-WebSocket-Accept is not verified). Every payload starts
// with an 8-byte stamp: the message's *scheduled* send time in ns (uv_hrtime clock), so queueing
// delay in the generator itself counts as latency (no coordinated omission).
//
// Writes: try_write first; bytes the kernel did not take wait in `out_` and go out with one
// uv_write at a time, so a slow path shows up as growing latency, never as lost messages.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "bench/common/target.h"

namespace bench::ws {

class ConnOwner {
 public:
  virtual void onOpen() = 0;
  virtual void onEcho(uint64_t stamp_ns) = 0;
  virtual void onFailed(const char* what, int status) = 0;

 protected:
  ~ConnOwner() = default;
};

class Conn {
 public:
  enum class State : uint8_t { Idle, Connecting, Handshake, Open, Closed };

  Conn(uv_loop_t* loop, const Target& target, ConnOwner& owner, char* read_buffer, size_t read_buffer_size);
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  void start();
  // Queues one binary message of `size` bytes (>= 8) stamped `stamp_ns`; sent at flush().
  void queueMessage(uint64_t stamp_ns, size_t size);
  void flush();
  void close();  // the object stays valid; it is freed by its runner after the loop ends
  State state() const { return state_; }
  size_t backlog() const { return out_.size() + inflight_.size(); }

 private:
  static void onConnectCb(uv_connect_t* req, int status);
  static void onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf);
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onWriteCb(uv_write_t* req, int status);
  void fail(const char* what, int status);
  void onData(const char* data, size_t len);
  bool parseFrames(const uint8_t* p, size_t n, size_t& used);

  uv_loop_t* loop_;
  const Target& target_;
  ConnOwner& owner_;
  char* read_buffer_;
  size_t read_buffer_size_;
  uv_tcp_t tcp_;
  uv_connect_t connect_req_;
  uv_write_t write_req_;
  State state_ = State::Idle;
  bool writing_ = false;
  uint8_t mask_[4];
  std::string in_;        // a partial frame (or head) carried to the next read
  std::string out_;       // frames waiting for the current write to finish
  std::string inflight_;  // the bytes of the current uv_write
};

}  // namespace bench::ws
