// One client connection speaking HTTP/2: nghttp2's session API driven by our loop, no event loop
// of its own.
//
// The HTTP/1 Session still owns the socket, TLS, the PROXY header, per-client limits and the
// close; once a connection turns out to be h2 (ALPN chose h2, or a plain connection started with
// the 24-byte preface) the session hands every plaintext byte to feed() and sends what flush()
// produces through its own write path (so TLS and the write queue work unchanged). Each stream
// is an H2Stream that runs the ordinary upstream path (h2_stream.h).
//
// Backpressure: flush() stops taking frames from nghttp2 while the client's write queue holds
// more than kMaxQueued bytes; streams then keep their response bytes, and their upstreams stop
// being read past a stream buffer's worth. Request bodies are acknowledged (WINDOW_UPDATE) only
// as the upstream accepts them, so a slow upstream slows the client's sending.
//
// Protections, per connection: RST_STREAM from the client (rapid reset, CVE-2023-44487) and
// control frames (PING, SETTINGS, PRIORITY, empty DATA) are counted per second; past the caps the
// connection gets GOAWAY(ENHANCE_YOUR_CALM) and closes. nghttp2 caps CONTINUATION frames per
// header block, SETTINGS entries and queued ACKs; a header list past max_header_list_bytes is
// answered 431 (its fields are not kept), and a block decoding to many times that ends the
// connection.
//
// Timers: the session's timer runs the preface timeout (client_header); then, with no open
// stream, the keepalive timeout; with streams open and nothing leaving for client_header while
// output waits (a zero window or a client that stopped reading), the connection is closed; each
// tick also resets WebSocket streams silent past their tunnel_idle.
//
// Lifetime: streams are freed only when no h2 code is on the stack (Scope), so a stream can call
// into the connection from its upstream callbacks.
//
// Output: leaving the outermost Scope queues the connection for the end of the loop turn
// (loop/turn_end.h), where flush() sends what every callback of the turn produced in one go:
// responses that several upstream reads completed in one turn share a TLS record and a write.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/intrusive_list.h"
#include "proxy/config/config.h"
#include "proxy/h2/h2_head.h"
#include "proxy/loop/turn_end.h"

namespace proxy::server {
class Session;
class Worker;
}

namespace proxy::h2 {

class H2Stream;

// The fields of the header block being received. Blocks of different streams never interleave
// (RFC 9113 6.10), so one per connection serves every stream; the fields are views into
// nghttp2's reference-counted buffers (held until clear()), so none is copied, and the vectors
// keep their capacity from block to block.
class HeaderBlock {
 public:
  HeaderBlock() = default;
  ~HeaderBlock() { clear(); }
  HeaderBlock(const HeaderBlock&) = delete;
  HeaderBlock& operator=(const HeaderBlock&) = delete;

  void add(nghttp2_rcbuf* name, nghttp2_rcbuf* value);
  void clear();
  std::span<const Field> fields() const { return fields_; }

 private:
  std::vector<Field> fields_;
  std::vector<nghttp2_rcbuf*> refs_;
};

class H2Session final : private loop::TurnEnd::Task {
 public:
  static constexpr size_t kMaxQueued = 256 * 1024;  // client write queue past which flush() stops
  static constexpr uint32_t kMaxResetsPerSecond = 100;
  static constexpr uint32_t kMaxControlFramesPerSecond = 500;

  // The preface: a plain connection starting with these 24 bytes speaks h2c with prior knowledge.
  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

  H2Session(server::Session& session, server::Worker& worker, const config::Http2Config& cfg);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  bool ok() const { return ng_ != nullptr; }
  // Plaintext from the client; false when the connection must close (the session closes it).
  bool feed(const char* data, size_t len);
  // Sends what nghttp2 has to send, as far as the client's write queue allows.
  void flush();
  void onClientDrained() { Scope scope(*this); }
  // The session's timer fired.
  void onTimer();
  // Shutdown, or a reload that removed or changed the listener: GOAWAY(NO_ERROR), in-flight
  // streams finish, then the connection closes.
  void drain();
  // The connection is closing: every stream lets go of its upstream and generation.
  void closeAll();

  // For streams.
  nghttp2_session* ng() { return ng_; }
  server::Session& session() { return session_; }
  server::Worker& worker() { return worker_; }
  const config::Http2Config& config() const { return cfg_; }
  void streamClosed(H2Stream* s);
  // Reused for each response head: its fields, and nghttp2's name/value pairs for them (emptied
  // on each call).
  std::vector<Field>& scratchFields() { scratch_fields_.clear(); return scratch_fields_; }
  std::vector<nghttp2_nv>& scratchNv() { scratch_nv_.clear(); return scratch_nv_; }

  // Holds off freeing closed streams while h2 code is on the stack; the outermost one flushes.
  class Scope {
   public:
    explicit Scope(H2Session& s) : s_(s) { ++s_.depth_; }
    ~Scope() { s_.leave(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    H2Session& s_;
  };

 private:
  static ssize_t onSendCb(nghttp2_session*, const uint8_t*, size_t, int, void*);
  static int onBeginHeadersCb(nghttp2_session*, const nghttp2_frame*, void*);
  static int onHeaderCb(nghttp2_session*, const nghttp2_frame*, nghttp2_rcbuf*, nghttp2_rcbuf*, uint8_t, void*);
  static int onFrameRecvCb(nghttp2_session*, const nghttp2_frame*, void*);
  static int onDataChunkRecvCb(nghttp2_session*, uint8_t, int32_t, const uint8_t*, size_t, void*);
  static int onStreamCloseCb(nghttp2_session*, int32_t, uint32_t, void*);
  static int onFrameSendCb(nghttp2_session*, const nghttp2_frame*, void*);
  bool countFrame(uint32_t& count, uint32_t cap);
  void enhanceYourCalm(const char* why);
  void leave();
  void onTurnEnd() override;
  void reap();
  void armTimer();
  bool writeOut();

  server::Session& session_;
  server::Worker& worker_;
  config::Http2Config cfg_;
  nghttp2_session* ng_ = nullptr;
  common::IntrusiveList<H2Stream> streams_;
  std::vector<H2Stream*> closed_;  // freed by reap()
  std::string out_;                // frames gathered by flush() for one write
  HeaderBlock block_;              // the header block being received
  std::vector<Field> scratch_fields_;
  std::vector<nghttp2_nv> scratch_nv_;
  unsigned depth_ = 0;
  bool flushing_ = false;
  bool failed_ = false;            // the connection ends once the last frames are out
  bool calm_ = false;              // closing with ENHANCE_YOUR_CALM
  bool fatal_ = false;             // nghttp2 reported a fatal error: it is not called again
  bool draining_ = false;
  uint64_t window_start_ms_ = 0;   // the current one-second counting window
  uint32_t resets_ = 0;
  uint32_t control_frames_ = 0;
  uint64_t last_progress_ms_ = 0;  // last time bytes left for the client, or a frame arrived
  bool preface_done_ = false;      // the client's first frame (SETTINGS) arrived
};

}  // namespace proxy::h2
