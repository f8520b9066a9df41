// One accepted TCP connection: HTTP/1.1 requests (llhttp) that may turn into a WebSocket.
//
// Contract with the owner (the Engine.IO server and the page routes):
//  - Handler::onRequest is called once per complete request. Parsing pauses until the request
//    is answered with respond() (or the connection is upgraded/closed), so a long-polling GET
//    can be held open for seconds while the connection keeps reading (to notice the peer
//    going away). Pipelined bytes that arrive meanwhile are kept, bounded by the body limit.
//  - upgradeToWebSocket() writes the 101 answer; from then on bytes go through a server-role
//    ws::Decoder and WsHandler gets messages; pings are answered here, the close handshake is
//    completed here.
//  - close() is idempotent and notifies Handler::onClosed synchronously exactly once; the
//    object itself is freed later in the uv_close callback, so calling close() from inside any
//    callback is safe. No method may be called after onClosed.
// HTTP writes go out with uv_try_write, then uv_write for the rest (head and body as separate
// buffers, one writev). WebSocket frames are shared, immutable buffers (out_frame.h): a
// connection queues references to them (frame_queue.h), never copies, and writes all it has
// with one writev per loop turn (see flushAll()). queuedBytes() is what the peer has not read
// yet, which the caller caps.
#pragma once

#include <uv.h>
#include <llhttp.h>

#include <memory>
#include <string>
#include <string_view>

#include "backend/http/frame_queue.h"
#include "backend/http/out_frame.h"
#include "backend/http/request.h"
#include "common/ws_codec.h"

namespace backend::http {

class Connection;

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void onRequest(Connection& conn, Request& request) = 0;
  virtual void onClosed(Connection& conn) = 0;
};

class WsHandler {
 public:
  virtual ~WsHandler() = default;
  virtual void onWsMessage(Connection& conn, common::ws::Opcode opcode, std::string_view payload) = 0;
  virtual void onWsPong(Connection&) {}
};

using SharedBytes = std::shared_ptr<const std::string>;

// Per-listener settings every accepted connection copies.
struct Limits {
  size_t maxBody = 1'000'000;        // larger request bodies get 413
  size_t maxHeaderBytes = 16 * 1024; // request head larger than this gets 431
  size_t maxWsMessage = 1'000'000;   // WebSocket messages larger than this close with 1009
  // Value of the X-Served-By header on every response, 101 included (the instance id, so that
  // a client behind a balancer sees which instance answered); empty: no header.
  std::string servedBy;
  // WebSocket frames wait up to this long (ms) to leave together with later ones; 0: they leave
  // at the end of the loop turn (connection_flush.cc).
  uint64_t writeDelayMs = 0;
};

class Connection : private common::ws::Sink {
 public:
  // Accepts from `server`; returns null (and logs) on failure.
  static Connection* accept(uv_stream_t* server, Handler* handler, const Limits& limits);

  void respond(int status, std::string_view contentType, std::string body,
               std::string_view extraHeaders = {});
  // Writes the 101 Switching Protocols answer for `request` and switches to WebSocket framing.
  // Returns false (after answering 400) when the request is not a valid WebSocket handshake.
  bool upgradeToWebSocket(const Request& request, WsHandler* wsHandler);
  // Queues a shared frame (a reference: the bytes are not copied); it leaves with the loop
  // turn's other frames in one write.
  void sendFrame(const SharedFrame& frame);
  // Sends one unfragmented frame holding `payload`.
  void sendWs(common::ws::Opcode opcode, std::string_view payload);
  // Sends a close frame and closes once it is written (or after a short grace time). With
  // code ws::close_code::kNoStatus the frame carries no status (an empty close frame).
  void closeWs(uint16_t code, std::string_view reason);
  // Writes the queued WebSocket frames now (one writev); frames sent after this call go in a
  // later write. While an earlier write is still in the kernel's way, its callback continues.
  void flush();

  void close();
  // Closes every live connection of this thread (shutdown).
  static void closeAll();
  static size_t liveCount();

  bool isWebSocket() const { return ws_ != nullptr; }
  bool isClosing() const { return closing_; }
  // Bytes the kernel has not taken: queued HTTP writes, the WebSocket write in flight and the
  // frames waiting for the next one.
  size_t queuedBytes() const { return tcp_.write_queue_size + out_.bytes() - inFlight_; }
  // Writes the queued WebSocket frames of every connection whose time has come (flushDue) or
  // of all of them (flushAll, at shutdown). flushDue runs from a prepare and a check handle on
  // the loop (before blocking in poll and after I/O callbacks) and from one delay timer, so the
  // frames a connection gets in one loop turn (or within Limits::writeDelayMs) leave in one
  // writev: a client in several busy rooms gets one write per turn instead of one per message.
  static void flushAll();
  static void flushDue();
  // Closes the prepare/check handles (shutdown, before uv_loop_close).
  static void stopFlusher();
  const std::string& peer() const { return peer_; }

  void* userData = nullptr;  // owner's per-connection state (e.g. the Engine.IO session)

 private:
  Connection(Handler* handler, const Limits& limits);
  ~Connection() override;

  void onRead(const char* data, size_t len);
  void parseHttp(const char* data, size_t len);
  void resumeHttp();
  void write(std::string head, SharedBytes payload);
  void failHttp(int status, std::string_view reason);
  void closeWhenFlushed();
  bool markDirty();
  void unlist();
  static void flushListed(bool all);
  static void startFlusher(uv_loop_t* loop);

  // ws::Sink
  bool onMessage(common::ws::Opcode op, std::string_view payload) override;
  bool onPing(std::string_view payload) override;
  bool onPong(std::string_view payload) override;
  bool onClose(uint16_t code, std::string_view reason) override;

  static void onAllocCb(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onWriteCb(uv_write_t* req, int status);
  static void onWsWriteCb(uv_write_t* req, int status);
  static void onCloseCb(uv_handle_t* h);
  static void onGraceTimerCb(uv_timer_t* t);
  static const llhttp_settings_t* settings();
  static int onUrlCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderFieldCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueCb(llhttp_t* p, const char* at, size_t len);
  static int onHeadersCompleteCb(llhttp_t* p);
  static int onBodyCb(llhttp_t* p, const char* at, size_t len);
  static int onMessageCompleteCb(llhttp_t* p);

  uv_tcp_t tcp_{};
  uv_timer_t graceTimer_{};
  int handlesOpen_ = 0;
  Handler* handler_;
  WsHandler* ws_ = nullptr;
  Limits limits_;
  llhttp_t parser_{};
  Request request_;
  size_t headBytes_ = 0;
  bool lastWasValue_ = false;
  bool requestPending_ = false;  // a complete request waits for respond()
  bool parsing_ = false;         // inside parseHttp(): resumeHttp() lets its loop continue
  int httpError_ = 0;            // status to answer when the parser callbacks reject input
  std::string leftover_;         // bytes received while a request is pending
  FrameQueue out_;               // WebSocket frames not yet taken by the kernel, in order
  size_t inFlight_ = 0;          // bytes at the front of out_ handed to wsWrite_
  uv_write_t wsWrite_{};         // the one WebSocket write in flight (inFlight_ > 0)
  bool dirty_ = false;           // listed for the end-of-turn flush
  std::unique_ptr<common::ws::Decoder> decoder_;
  bool closing_ = false;
  bool closeSent_ = false;
  bool closeAfterWrite_ = false;
  std::string peer_;
};

}  // namespace backend::http
