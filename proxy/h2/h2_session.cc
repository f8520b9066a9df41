// H2Session: nghttp2 callbacks, output, timers and flood caps; see h2_session.h.
#include "proxy/h2/h2_session.h"

#include <algorithm>
#include <cassert>

#include "common/log.h"
#include "proxy/h2/h2_stream.h"
#include "proxy/h2/server_settings.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/server/session.h"
#include "proxy/server/worker.h"
#include "proxy/tls/tls_engine.h"

namespace proxy::h2 {
namespace {

H2Session& self(void* user) { return *static_cast<H2Session*>(user); }

H2Stream* streamOf(nghttp2_session* ng, int32_t id) {
  return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng, id));
}

std::string_view view(nghttp2_rcbuf* b) {
  nghttp2_vec v = nghttp2_rcbuf_get_buf(b);
  return {reinterpret_cast<const char*>(v.base), v.len};
}

}  // namespace

void HeaderBlock::add(nghttp2_rcbuf* name, nghttp2_rcbuf* value) {
  nghttp2_rcbuf_incref(name);
  nghttp2_rcbuf_incref(value);
  refs_.push_back(name);
  refs_.push_back(value);
  fields_.push_back({view(name), view(value)});
}

void HeaderBlock::clear() {
  for (nghttp2_rcbuf* b : refs_) nghttp2_rcbuf_decref(b);
  refs_.clear();
  fields_.clear();
}

H2Session::H2Session(server::Session& session, server::Worker& worker, const config::Http2Config& cfg)
    : session_(session), worker_(worker), cfg_(cfg) {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return;
  nghttp2_session_callbacks_set_send_callback(cbs, &H2Session::onSendCb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &H2Session::onBeginHeadersCb);
  nghttp2_session_callbacks_set_on_header_callback2(cbs, &H2Session::onHeaderCb);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &H2Session::onFrameRecvCb);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &H2Session::onDataChunkRecvCb);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &H2Session::onStreamCloseCb);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &H2Session::onFrameSendCb);
  ng_ = newServerSession(cbs, this, cfg_);
  nghttp2_session_callbacks_del(cbs);
  if (!ng_) return;
  worker_.ctx().metrics->h2_connections.add(1);
  last_progress_ms_ = uv_now(worker_.ctx().loop);
}

H2Session::~H2Session() {
  closeAll();
  reap();
  worker_.ctx().turn_end->cancel(this);  // after closeAll, whose Scope may have queued it
  block_.clear();  // its buffers belong to the nghttp2 session
  if (ng_) {
    nghttp2_session_del(ng_);
    worker_.ctx().metrics->h2_connections.add(-1);
  }
}

bool H2Session::feed(const char* data, size_t len) {
  if (failed_) return false;
  Scope scope(*this);
  last_progress_ms_ = uv_now(worker_.ctx().loop);
  ssize_t n = nghttp2_session_mem_recv(ng_, reinterpret_cast<const uint8_t*>(data), len);
  if (n < 0) {
    // A fatal error: nghttp2 cannot be used any more; the GOAWAY is written by hand.
    int rc = static_cast<int>(n);
    common::logDebug("h2_protocol_error", {{"client", session_.logClient()}, {"reason", nghttp2_strerror(rc)}});
    bool flood = calm_ || rc == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS || rc == NGHTTP2_ERR_FLOODED;
    if (flood && !calm_) worker_.ctx().metrics->h2_flood_closes.add(1);
    uint32_t last = static_cast<uint32_t>(std::max(nghttp2_session_get_last_proc_stream_id(ng_), 0));
    uint32_t code = flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR;
    char goaway[17] = {0, 0, 8, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; ++i) {
      goaway[9 + i] = static_cast<char>(last >> (24 - 8 * i));
      goaway[13 + i] = static_cast<char>(code >> (24 - 8 * i));
    }
    fatal_ = failed_ = true;
    session_.addOut(goaway, sizeof goaway);
    if (session_.flushOut()) session_.closeAfterWrites();
  }
  return true;
}

void H2Session::leave() {
  assert(depth_ > 0);
  if (--depth_ > 0) return;
  reap();
  worker_.ctx().turn_end->queue(this);
}

void H2Session::onTurnEnd() {
  ++depth_;  // nothing is freed under flush's callbacks
  flush();
  --depth_;
  reap();
}

void H2Session::reap() {
  if (closed_.empty()) return;
  for (H2Stream* s : closed_) delete s;
  closed_.clear();
  if (streams_.empty() && session_.tls_) session_.tls_->releaseIdleBuffers();  // the connection went idle
}

// The gathered frames go to the client connection's write queue; false: the connection failed.
bool H2Session::writeOut() {
  session_.addOut(out_.data(), out_.size());
  bool ok = session_.flushOut();
  out_.clear();
  return ok;
}

void H2Session::flush() {
  if (!ng_ || fatal_ || flushing_ || session_.closing_) return;
  flushing_ = true;
  for (;;) {
    if (session_.client_queued_ >= kMaxQueued) break;  // onClientDrained comes back
    const uint8_t* p = nullptr;
    ssize_t n = nghttp2_session_mem_send(ng_, &p);
    if (n < 0) {
      common::logDebug("h2_send_error", {{"reason", nghttp2_strerror(static_cast<int>(n))}});
      failed_ = true;
      break;
    }
    if (n == 0) break;
    out_.append(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    if (out_.size() >= 64 * 1024 && !writeOut()) {
      flushing_ = false;
      return;
    }
  }
  if (!out_.empty()) {
    if (!writeOut()) {
      flushing_ = false;
      return;
    }
    last_progress_ms_ = uv_now(worker_.ctx().loop);
  }
  flushing_ = false;
  bool done = failed_ || (!nghttp2_session_want_read(ng_) && !nghttp2_session_want_write(ng_));
  if (done) {
    // A GOAWAY, the last responses: out; the session half-closes after its write queue.
    session_.closeAfterWrites();
    return;
  }
  armTimer();
}

void H2Session::armTimer() {
  const config::Config& cfg = *worker_.ctx().config;
  uint64_t ms = streams_.empty() && preface_done_ ? static_cast<uint64_t>(cfg.timeouts.keepalive.count())
                                                 : static_cast<uint64_t>(cfg.timeouts.client_header.count());
  if (draining_ && streams_.empty()) ms = 0;
  session_.startTimer(ms);
}

// Idle (no stream) past keepalive: GOAWAY and close. Streams open and output waiting for
// client_header with nothing leaving: a zero window or a client that stopped reading.
void H2Session::onTimer() {
  uint64_t now = uv_now(worker_.ctx().loop);
  const config::Config& cfg = *worker_.ctx().config;
  if (!preface_done_) {  // the preface (or the client's SETTINGS) did not come in time
    common::logDebug("h2_preface_timeout", {{"client", session_.logClient()}});
    return session_.close();
  }
  if (streams_.empty()) {
    if (!draining_ && now - last_progress_ms_ < static_cast<uint64_t>(cfg.timeouts.keepalive.count())) return armTimer();
    Scope scope(*this);
    nghttp2_session_terminate_session(ng_, NGHTTP2_NO_ERROR);
    return;
  }
  {
    Scope scope(*this);  // idle tunnels are reset
    streams_.forEach([now](H2Stream* s) { s->checkTunnelIdle(now); });
  }
  onTurnEnd();  // their frames go out now: the stall check below counts only what cannot
  bool stalled = session_.client_queued_ > 0 || nghttp2_session_want_write(ng_);
  streams_.forEach([&stalled](H2Stream* s) { stalled = stalled || s->responsePending(); });
  if (!stalled || now - last_progress_ms_ < static_cast<uint64_t>(cfg.timeouts.client_header.count())) return armTimer();
  common::logDebug("h2_send_stalled", {{"client", session_.logClient()}});
  session_.close();
}

void H2Session::drain() {
  if (draining_ || !ng_) return;
  draining_ = true;
  Scope scope(*this);
  nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng_), NGHTTP2_NO_ERROR, nullptr, 0);
}

void H2Session::closeAll() {
  streams_.forEach([this](H2Stream* s) {
    streams_.remove(s);
    s->onClosed(NGHTTP2_CANCEL);
    closed_.push_back(s);
  });
}

void H2Session::streamClosed(H2Stream* s) {
  streams_.remove(s);
  closed_.push_back(s);
  if (depth_ == 0) reap();
}

bool H2Session::countFrame(uint32_t& count, uint32_t cap) {
  uint64_t now = uv_now(worker_.ctx().loop);
  if (now - window_start_ms_ >= 1000) {
    window_start_ms_ = now;
    resets_ = control_frames_ = 0;
  }
  return ++count <= cap;
}

void H2Session::enhanceYourCalm(const char* why) {
  common::logWarn("h2_flood", {{"client", session_.logClient()}, {"frames", why}});
  if (calm_) return;
  calm_ = true;
  worker_.ctx().metrics->h2_flood_closes.add(1);
  nghttp2_session_terminate_session(ng_, NGHTTP2_ENHANCE_YOUR_CALM);
  failed_ = true;
}

// ---- nghttp2 callbacks ------------------------------------------------------------------------

ssize_t H2Session::onSendCb(nghttp2_session*, const uint8_t*, size_t, int, void*) {
  return NGHTTP2_ERR_CALLBACK_FAILURE;  // output is taken with mem_send only
}

int H2Session::onBeginHeadersCb(nghttp2_session* ng, const nghttp2_frame* frame, void* user) {
  H2Session& c = self(user);
  c.block_.clear();  // what an unfinished block (a reset stream's) left
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  if (c.draining_) return 0;  // after GOAWAY: nghttp2 ignores streams past the last one
  auto* s = new H2Stream(c, frame->hd.stream_id);
  if (nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, s) != 0) {
    delete s;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  c.streams_.pushBack(s);
  return 0;
}

int H2Session::onHeaderCb(nghttp2_session* ng, const nghttp2_frame* frame, nghttp2_rcbuf* name, nghttp2_rcbuf* value, uint8_t,
                          void* user) {
  H2Session& c = self(user);
  H2Stream* s = streamOf(ng, frame->hd.stream_id);
  if (!s || frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    if (s->countField(view(name).size(), view(value).size())) c.block_.add(name, value);
    else c.block_.clear();
  } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
    s->addTrailer(view(name), view(value));  // the request's trailers
  }
  // A block decoding to many times the limit (an HPACK bomb): the connection goes.
  if (s->headerBytes() > 16ULL * c.cfg_.max_header_list_bytes) {
    c.enhanceYourCalm("header_list");
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int H2Session::onFrameRecvCb(nghttp2_session* ng, const nghttp2_frame* frame, void* user) {
  H2Session& c = self(user);
  bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  c.preface_done_ = true;
  switch (frame->hd.type) {
    case NGHTTP2_RST_STREAM:
      if (!c.countFrame(c.resets_, kMaxResetsPerSecond)) c.enhanceYourCalm("rst_stream");
      return 0;
    case NGHTTP2_PING:
    case NGHTTP2_SETTINGS:
    case NGHTTP2_PRIORITY:
      if (!c.countFrame(c.control_frames_, kMaxControlFramesPerSecond)) c.enhanceYourCalm("control");
      return 0;
    case NGHTTP2_DATA:
      if (frame->hd.length == 0 && !end_stream && !c.countFrame(c.control_frames_, kMaxControlFramesPerSecond)) {
        c.enhanceYourCalm("empty_data");
        return 0;
      }
      if (end_stream)
        if (H2Stream* s = streamOf(ng, frame->hd.stream_id)) s->onRequestEnd();
      return 0;
    case NGHTTP2_HEADERS: {
      H2Stream* s = streamOf(ng, frame->hd.stream_id);
      if (!s) return 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        s->onRequestHeaders(c.block_.fields(), end_stream);
        c.block_.clear();
      }
      else if (end_stream) s->onRequestEnd();  // trailers end the body
      return 0;
    }
    default: return 0;
  }
}

int H2Session::onDataChunkRecvCb(nghttp2_session* ng, uint8_t, int32_t stream_id, const uint8_t* data, size_t len, void*) {
  if (H2Stream* s = streamOf(ng, stream_id)) {
    s->onRequestData(data, len);
  } else {
    nghttp2_session_consume(ng, stream_id, len);
  }
  return 0;
}

int H2Session::onStreamCloseCb(nghttp2_session* ng, int32_t stream_id, uint32_t error_code, void* user) {
  H2Session& c = self(user);
  H2Stream* s = streamOf(ng, stream_id);
  if (!s) return 0;
  nghttp2_session_set_stream_user_data(ng, stream_id, nullptr);
  s->onClosed(error_code);
  c.streamClosed(s);
  return 0;
}

int H2Session::onFrameSendCb(nghttp2_session* ng, const nghttp2_frame* frame, void*) {
  if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    if (H2Stream* s = streamOf(ng, frame->hd.stream_id)) s->onResponseSent();
  return 0;
}

}  // namespace proxy::h2
