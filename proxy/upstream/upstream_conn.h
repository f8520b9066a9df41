// One TCP connection to an upstream server, with its HTTP response parser.
//
// Lifecycle: created by UpstreamRuntime, connect()ed, then attached to one downstream session
// at a time. While attached it reports to its UpstreamOwner: connected, response events (head,
// body pieces, complete), "end of this read" (so the owner can flush what it gathered in one
// writev), write-queue drained, and errors. When the exchange ends the owner hands it back to
// the runtime, which keeps it idle for reuse or closes it. The object frees itself in its close
// callback, so nobody may touch it after close(); an attached owner is never called back after
// it calls close() or detach().
//
// With the upstream's `tls:` the connection speaks TLS (a client TlsEngine between the socket and
// the parser): the handshake runs after connect, within the same connect timeout, and the owner
// hears onUpstreamConnected only once it has finished and the server's certificate verified. A
// handshake failure is logged with the upstream, server and OpenSSL's reason and reported as
// UpstreamError::TlsFailed; nothing is ever sent in plaintext. Writes are encrypted, reads
// decrypted, in HTTP and raw (tunnel) mode alike, and a pooled connection keeps its TLS state.
//
// Timeouts use one uv_timer: connect timeout while connecting, then upstream_response while a
// response is due. The latter is lazy: reads only record the time, and the timer re-arms itself
// for the remaining silence when it fires early, so a streamed body costs no timer work per read.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "common/intrusive_list.h"
#include "proxy/http/parser.h"
#include "proxy/loop/loop_context.h"

namespace proxy::tls {
class TlsEngine;
}

namespace proxy::upstream {

enum class UpstreamError : uint8_t {
  ConnectFailed,    // refused, unreachable
  ConnectTimeout,
  Closed,           // EOF or reset before the response completed
  ResponseTimeout,  // silence longer than timeouts.upstream_response
  BadResponse,      // the response could not be parsed
  TlsFailed,        // the TLS handshake failed (certificate not verified, protocol error)
};
const char* upstreamErrorName(UpstreamError e);

class UpstreamConn;

class UpstreamOwner {
 public:
  virtual void onUpstreamConnected(UpstreamConn& conn) = 0;
  virtual void onUpstreamError(UpstreamConn& conn, UpstreamError error) = 0;
  virtual http::HeadAction onResponseHead(http::MessageHead& head) = 0;
  virtual void onResponseBody(std::string_view chunk) = 0;
  // Returns true when this was the final response (not a 1xx): parsing then stops.
  virtual bool onResponseComplete() = 0;
  virtual void onUpstreamReadDone() = 0;
  virtual void onUpstreamDrained() = 0;
  // The response asked to switch protocols and this side is now a raw byte stream; `rest` are
  // the bytes that followed the 101 head in the same read.
  virtual void onUpstreamUpgraded(std::string_view rest) = 0;

 protected:
  ~UpstreamOwner() = default;
};

class UpstreamRuntime;

class UpstreamConn final : public common::ListNode, private http::ParserHandler {
  enum class TimerMode : uint8_t { Off, Connect, Response, Idle, Failed };

 public:
  UpstreamConn(loop::LoopContext& ctx, UpstreamRuntime& runtime, uint32_t server);
  ~UpstreamConn();
  UpstreamConn(const UpstreamConn&) = delete;
  UpstreamConn& operator=(const UpstreamConn&) = delete;

  // Starts connecting; the owner hears onUpstreamConnected or onUpstreamError. Returns a libuv
  // error if the attempt could not even start (then the object is already closing).
  int connect(const sockaddr* addr, UpstreamOwner* owner);
  void attach(UpstreamOwner* owner) { owner_ = owner; }
  void detach() { owner_ = nullptr; }

  // Queues bytes to the upstream: returns bytes queued (0 = all written) or a libuv error; an
  // error is also reported to the owner as UpstreamError::Closed on the next loop turn.
  long write(const uv_buf_t* bufs, unsigned n);
  // A request has been (or is being) sent: start waiting for a response.
  // `response_timeout_ms`: upstream_response for this exchange (the route's or the global one).
  void expectResponse(bool request_is_head, uint64_t response_timeout_ms);
  void pauseReading();
  void resumeReading();
  // Becomes an idle pooled connection (reading for EOF, idle timer) or back from it.
  void enterIdle();
  void leaveIdle();
  void close();
  // Sends FIN after the queued bytes (tunnel half-close); 0 or a libuv error. Completion is
  // reported through RawSink::onRawShutdown.
  int shutdownWrite();
  void releaseHttpBuffers() { parser_.head().release(); }
  // Raw byte mode after a 101: the owner receives onUpstreamRawData for every read.
  void startRaw(class RawSink* sink);

  uint32_t server() const { return server_; }
  bool reused() const { return requests_ > 1; }
  bool connected() const { return connected_; }
  bool responseStarted() const { return response_bytes_ > 0; }
  bool reusable() const { return reusable_; }
  // The trailer block of the response being completed (http/trailers.h), for the owner's
  // onResponseComplete; empty without trailers.
  std::string_view responseTrailers() const { return parser_.trailers(); }
  size_t queuedBytes() const { return queued_; }
  uv_tcp_t* handle() { return &tcp_; }

 private:
  static void onConnectCb(uv_connect_t* req, int status);
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onTimerCb(uv_timer_t* t);
  static void onCloseCb(uv_handle_t* h);
  static void onWriteDone(void* owner, int status, size_t bytes);
  void fail(UpstreamError e);
  void arm(TimerMode mode, uint64_t ms);
  void disarm() { timer_mode_ = TimerMode::Off; }
  void handleData(const char* data, size_t len);
  void onPlain(const char* data, size_t len);
  void onEnd(int status);
  long writeSocket(const uv_buf_t* bufs, unsigned n);
  // TLS (upstreams with `tls:`).
  void startTls();
  void onTlsRead(const char* data, size_t len);
  bool sendTlsOutput();
  void tlsFailed(const char* reason);

  http::HeadAction onHead(http::MessageHead& head) override;
  void onBody(std::string_view chunk) override;
  bool onComplete() override;


  loop::LoopContext& ctx_;
  UpstreamRuntime& runtime_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  union {  // never in flight together: shutdown only happens on a connected tunnel
    uv_connect_t connect_req_;
    uv_shutdown_t shutdown_req_;
  };
  http::Parser parser_;
  UpstreamOwner* owner_ = nullptr;
  class RawSink* raw_ = nullptr;
  std::unique_ptr<tls::TlsEngine> tls_;  // null for plain upstreams
  uint64_t last_read_ms_ = 0;   // last read or write: activity for upstream_response
  uint64_t response_timeout_ms_ = 0;  // this exchange's upstream_response
  uint64_t deadline_ms_ = 0;     // of the current timer mode
  uint64_t timer_due_ms_ = 0;    // when the physical timer fires (0: not running)
  size_t queued_ = 0;
  uint64_t response_bytes_ = 0;
  uint32_t server_;
  uint32_t requests_ = 0;
  uint8_t open_handles_ = 0;
  TimerMode timer_mode_ = TimerMode::Off;
  bool connected_ = false;      // TCP connected (with TLS, the handshake may still be running)
  bool handshaking_ = false;
  bool reading_ = false;
  bool closing_ = false;
  bool reusable_ = true;
  bool awaiting_response_ = false;
  bool response_done_ = false;
  bool head_request_ = false;
};

// Receives raw bytes in tunnel mode (server/tunnel.h implements it).
class RawSink {
 public:
  virtual void onRawData(const char* data, size_t len) = 0;
  virtual void onRawEnd(int status) = 0;  // UV_EOF or an error
  virtual void onRawDrained() = 0;
  virtual void onRawShutdown(int status) = 0;  // our FIN to the upstream went out (or failed)

 protected:
  ~RawSink() = default;
};

}  // namespace proxy::upstream
