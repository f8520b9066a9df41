// One simulated chat user: a WebSocket-only Engine.IO v4 / Socket.IO v5 client that connects,
// joins one room and then sends stamped "message" events when its worker says so.
//
// Lifecycle: TCP connect -> HTTP upgrade (GET /socket.io/?EIO=4&transport=websocket, only the
// 101 status line is checked) -> open packet "0{...}" -> "40" -> "40{...}" -> 420["join",room]
// -> ack "430[...]" -> Ready. Server pings "2" are answered "3" at any time.
//
// Receive path: the worker's read buffer is parsed in place; server frames are unmasked, so a
// message's text is a view into that buffer and sio_packets.h finds its stamp by scanning. Only
// the unconsumed tail of a partial frame is copied into the client. Send path: frames (masked
// with the client's key, RFC 6455 5.3) accumulate in `out_` and go out with one write per
// flush(): the worker flushes every client it queued for once per pacing tick, and the client
// flushes its own protocol replies at the end of the read that caused them. Bytes the kernel did
// not take are queued by common::writeOrQueue, so a slow server shows up as latency and backlog.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

#include "bench/common/target.h"

namespace bench::chat {

class ChatClient;

// What a client reports to its worker. Calls happen on the worker's loop thread.
class ClientOwner {
 public:
  virtual void onJoined(ChatClient& c) = 0;
  // A connection failed before it joined, or dropped after. `what` is static text.
  virtual void onFailed(ChatClient& c, const char* what, int uv_status) = 0;
  virtual void onDelivery(ChatClient& c, uint64_t stamp_ns, uint64_t sender, uint64_t now_ns) = 0;
  // An ack of one of the client's messages; `ok` is false when it carried an "error".
  virtual void onAck(ChatClient& c, bool ok) = 0;

 protected:
  ~ClientOwner() = default;
};

class ChatClient {
 public:
  enum class State : uint8_t { Idle, Connecting, Upgrading, WaitOpen, WaitConnect, Joining, Ready, Closed };

  // `read_buffer` is the worker's, shared by its clients (libuv reads right after alloc).
  ChatClient(uv_loop_t* loop, const Target& target, ClientOwner& owner, uint32_t id, uint32_t room,
             char* read_buffer, size_t read_buffer_size);
  ChatClient(const ChatClient&) = delete;
  ChatClient& operator=(const ChatClient&) = delete;

  void start();
  // Queues one "message" event stamped `stamp_ns` with a `size`-byte text; sent by flush().
  void queueMessage(uint64_t stamp_ns, size_t size);
  void flush();
  // Closes the connection without reporting a failure. The object must outlive the loop run.
  void close();

  State state() const { return state_; }
  // True once the join was acknowledged (stays true after a drop).
  bool joined() const { return joined_; }
  uint32_t id() const { return id_; }
  uint32_t room() const { return room_; }
  size_t backlog() const { return out_.size() + queued_; }

 private:
  static void onConnectCb(uv_connect_t* req, int status);
  static void onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf);
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onWriteDoneCb(void* owner, int status, size_t bytes);
  void fail(const char* what, int status);
  void onData(const char* data, size_t len);
  // Consumes the complete frames in [p, p+n); `used` is how far. False when the client closed.
  bool parseFrames(const uint8_t* p, size_t n, size_t& used);
  bool onText(const char* text, size_t len, uint64_t now_ns);
  void queueText(const std::string& payload);

  uv_loop_t* loop_;
  const Target& target_;
  ClientOwner& owner_;
  uint32_t id_;
  uint32_t room_;
  std::string room_name_;  // "room<room_>"
  char* read_buffer_;
  size_t read_buffer_size_;
  uv_tcp_t tcp_;
  uv_connect_t connect_req_;
  State state_ = State::Idle;
  uint8_t mask_[4];
  bool joined_ = false;
  int64_t next_ack_ = 1;  // 0 is the join's
  size_t queued_ = 0;     // bytes handed to writeOrQueue and not yet written
  std::string in_;        // a partial head or frame carried to the next read
  std::string out_;       // frames waiting for the next flush
};

}  // namespace bench::chat
