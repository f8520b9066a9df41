// WebSocket write side of Connection: when queued frames leave. Every connection with frames
// queued is listed once; a prepare and a check handle on the loop (before blocking in poll and
// after I/O callbacks) write the listed connections whose time has come, each with one writev
// over its shared frames (out_frame.h, frame_queue.h). With Limits::writeDelayMs = 0 that is
// the end of the loop turn in which the first frame was queued. With a delay D, a connection's
// frames wait until D ms after the first of them was queued, so a client in busy rooms gets one
// write per D ms instead of one per turn; one timer per loop (never one per message or per
// connection) wakes the loop for the earliest due connection. Frames never wait beyond 64 KiB
// queued (connection_ws.cc), and explicit flush() calls (the CONNECT ack, close frames) write
// at once. Order is kept: a connection's frames leave in the order they were queued.
#include <cassert>
#include <cstdint>
#include <limits>
#include <vector>

#include "backend/http/connection.h"
#include "common/log.h"
#include "common/uv_util.h"

namespace backend::http {
namespace {

struct Listed {
  Connection* conn;  // null once the connection closed
  uint64_t due;      // uv_now() at which to write; 0: the end of this turn
};

thread_local std::vector<Listed> tListed;  // connections with frames waiting, in listing order
thread_local std::vector<Listed> tReady;   // scratch for flushDue(), kept for its capacity
thread_local uv_loop_t* tLoop = nullptr;
thread_local uv_prepare_t tPrepare;
thread_local uv_check_t tCheck;
thread_local uv_timer_t tDelayTimer;
thread_local uint64_t tTimerDue = 0;  // when tDelayTimer fires; 0: not armed
thread_local bool tFlusherStarted = false;

void onPrepareCb(uv_prepare_t*) { Connection::flushDue(); }
void onCheckCb(uv_check_t*) { Connection::flushDue(); }
void onDelayTimerCb(uv_timer_t*) {
  tTimerDue = 0;
  Connection::flushDue();
}

void armDelayTimer(uint64_t due) {
  if (tTimerDue != 0 && tTimerDue <= due) return;  // already wakes up in time
  uint64_t now = uv_now(tLoop);
  int rc = uv_timer_start(&tDelayTimer, onDelayTimerCb, due > now ? due - now : 0, 0);
  if (rc < 0) {
    common::logError("timer_start_failed", {{"error", common::uvErr(rc)}});
    return;  // the prepare/check handles still write it, on the next turn past its due time
  }
  tTimerDue = due;
}

}  // namespace

void Connection::startFlusher(uv_loop_t* loop) {
  if (tFlusherStarted) return;
  int rc = uv_prepare_init(loop, &tPrepare);
  if (rc == 0) rc = uv_check_init(loop, &tCheck);
  if (rc == 0) rc = uv_timer_init(loop, &tDelayTimer);
  if (rc == 0) rc = uv_prepare_start(&tPrepare, onPrepareCb);
  if (rc == 0) rc = uv_check_start(&tCheck, onCheckCb);
  if (rc < 0) {
    common::logError("flusher_start_failed", {{"error", common::uvErr(rc)}});
    return;  // markDirty() then flushes at once
  }
  // They must not keep the loop alive on their own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&tPrepare));
  uv_unref(reinterpret_cast<uv_handle_t*>(&tCheck));
  uv_unref(reinterpret_cast<uv_handle_t*>(&tDelayTimer));
  tLoop = loop;
  tFlusherStarted = true;
}

void Connection::stopFlusher() {
  flushAll();
  if (!tFlusherStarted) return;
  common::closeHandle(&tPrepare);
  common::closeHandle(&tCheck);
  common::closeHandle(&tDelayTimer);
  tTimerDue = 0;
  tFlusherStarted = false;
}

bool Connection::markDirty() {
  if (!tFlusherStarted) return false;  // no flusher: the caller writes at once
  uint64_t due = limits_.writeDelayMs ? uv_now(tLoop) + limits_.writeDelayMs : 0;
  tListed.push_back({this, due});
  dirty_ = true;
  if (due) armDelayTimer(due);
  return true;
}

void Connection::unlist() {
  dirty_ = false;
  for (auto& l : tListed) {
    if (l.conn == this) l.conn = nullptr;
  }
}

void Connection::flushAll() { flushListed(true); }
void Connection::flushDue() { flushListed(false); }

void Connection::flushListed(bool all) {
  if (tListed.empty()) return;
  uint64_t now = tLoop ? uv_now(tLoop) : 0;
  std::vector<Listed> ready;
  ready.swap(tReady);
  ready.clear();
  uint64_t next = std::numeric_limits<uint64_t>::max();
  size_t keep = 0;
  for (const Listed& l : tListed) {
    if (!l.conn) continue;
    if (all || l.due <= now) {
      ready.push_back(l);
    } else {
      tListed[keep++] = l;
      if (l.due < next) next = l.due;
    }
  }
  tListed.resize(keep);
  // Writing may close a connection (a write error) but never frees one or lists another here:
  // closing is notified, and the object is freed after uv_close.
  for (const Listed& l : ready) {
    l.conn->dirty_ = false;
    l.conn->flush();
  }
  if (keep > 0) armDelayTimer(next);
  if (ready.capacity() <= 4096) tReady.swap(ready);  // keep the storage for the next turn
  if (tListed.empty() && tListed.capacity() > 4096) tListed.shrink_to_fit();
}

void Connection::flush() {
  if (closing_ || inFlight_ > 0 || out_.empty()) return;  // a write in flight: its callback continues
  constexpr size_t kMaxBufs = 128;  // frames per writev; a longer backlog takes several writes
  uv_buf_t bufs[kMaxBufs];
  size_t n = out_.gather(bufs, kMaxBufs);
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (tcp_.write_queue_size == 0) {
    // Common case: the kernel takes it all now; no request, no callback.
    int rc = uv_try_write(stream, bufs, static_cast<unsigned>(n));
    if (rc < 0 && rc != UV_EAGAIN) {
      common::logDebug("write_failed", {{"error", common::uvErr(rc)}, {"peer", peer_}});
      close();
      return;
    }
    if (rc > 0) out_.consume(static_cast<size_t>(rc));
    if (out_.empty()) return;
    n = out_.gather(bufs, kMaxBufs);
  }
  // The rest waits in the kernel's way: one uv_write over the same shared frames, no copy.
  size_t bytes = 0;
  for (size_t i = 0; i < n; ++i) bytes += bufs[i].len;
  wsWrite_.data = this;
  int rc = uv_write(&wsWrite_, stream, bufs, static_cast<unsigned>(n), onWsWriteCb);
  if (rc < 0) {
    common::logDebug("write_failed", {{"error", common::uvErr(rc)}, {"peer", peer_}});
    close();
    return;
  }
  inFlight_ = bytes;
}

void Connection::onWsWriteCb(uv_write_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  if (status == UV_ECANCELED) return;  // the connection is closing; out_ goes with it
  if (status < 0) {
    common::logDebug("write_failed", {{"error", common::uvErr(status)}, {"peer", c->peer_}});
    c->close();
    return;
  }
  assert(c->inFlight_ > 0 && c->inFlight_ <= c->out_.bytes());
  c->out_.consume(c->inFlight_);
  c->inFlight_ = 0;
  if (!c->out_.empty()) {
    c->flush();  // what was queued meanwhile
  } else if (c->closeAfterWrite_ && c->tcp_.write_queue_size == 0) {
    c->close();
  }
}

}  // namespace backend::http
