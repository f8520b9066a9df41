// The chat-sink server: see chat_sink.h.
#include "bench/chat/chat_sink.h"

#include <uv.h>

#include <cassert>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/chat/sink_protocol.h"
#include "bench/chat/sio_packets.h"
#include "bench/common/fd_limit.h"
#include "bench/ws/ws_frame.h"
#include "common/stream_write.h"

namespace bench::chat {
namespace {

constexpr size_t kReadBuffer = 256 * 1024;
constexpr size_t kMaxHead = 16384;
constexpr size_t kKeepCapacity = 16384;  // a partial-frame buffer larger than this is shrunk
constexpr size_t kMaxQueued = 64u << 20;
// Output built since the last flush that triggers a flush before the loop turn ends: a turn with
// thousands of readable connections can be long, and waiting for its end would let the output
// (and the latency) grow without bound under overload.
constexpr size_t kFlushBytes = 256 * 1024;
constexpr uint64_t kPingIntervalMs = 25000;

struct Room;

class Sink;

struct SinkConn {
  uv_tcp_t tcp;
  Sink* sink = nullptr;
  uint32_t id = 0;
  bool upgraded = false;
  bool closing = false;
  bool dirty = false;  // on the flush list
  size_t queued = 0;   // bytes handed to writeOrQueue, not yet written
  size_t index = 0;    // in Sink::conns_
  Room* room = nullptr;
  size_t room_index = 0;  // in room->members
  std::string in;         // a partial head or frame
  std::string out;        // frames for the next flush
};

struct Room {
  std::vector<SinkConn*> members;
};

class Sink {
 public:
  int run(int port);

 private:
  static void onConnectionCb(uv_stream_t* server, int status);
  static void onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf);
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onCheckCb(uv_check_t* h);
  void flushDirty();
  static void onPingCb(uv_timer_t* t);
  static void onSignalCb(uv_signal_t* h, int);
  static void onCloseCb(uv_handle_t* h);
  static void onWriteDoneCb(void* owner, int status, size_t bytes);

  void onData(SinkConn* c, char* data, size_t len);
  bool upgrade(SinkConn* c, std::string_view head);
  // Handles complete frames in p[0..n); returns bytes consumed. False in `alive` when closed.
  size_t frames(SinkConn* c, uint8_t* p, size_t n, bool& alive);
  bool onText(SinkConn* c, std::string_view text);
  void sendText(SinkConn* c, std::string_view payload);
  void markDirty(SinkConn* c);
  void closeConn(SinkConn* c);
  void shutdown();

  uv_loop_t* loop_ = nullptr;
  uv_tcp_t listener_;
  uv_check_t check_;
  uv_timer_t ping_;
  uv_signal_t sigint_, sigterm_;
  char read_buffer_[kReadBuffer];
  std::vector<SinkConn*> conns_;
  std::vector<SinkConn*> dirty_;
  std::unordered_map<std::string, Room> rooms_;
  std::string frame_;  // the broadcast being built
  size_t unflushed_ = 0;  // bytes appended to output buffers since the last flushDirty()
  uint32_t next_id_ = 1;
  uint64_t broadcasts_ = 0, deliveries_ = 0, dropped_ = 0;
  bool stopping_ = false;
};

int fail(const char* what, int rc) {
  std::fprintf(stderr, "tether-bench chat-sink: %s: %s\n", what, uv_strerror(rc));
  return 1;
}

int Sink::run(int port) {
  loop_ = uv_default_loop();
  int rc = uv_tcp_init(loop_, &listener_);
  if (rc < 0) return fail("tcp_init", rc);
  listener_.data = this;
  sockaddr_in addr;
  rc = uv_ip4_addr("127.0.0.1", port, &addr);
  if (rc < 0) return fail("address", rc);
  rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 4096, &Sink::onConnectionCb);
  if (rc < 0) return fail("listen", rc);
  sockaddr_storage bound;
  int len = sizeof bound;
  rc = uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  if (rc < 0) return fail("getsockname", rc);
  if ((rc = uv_check_init(loop_, &check_)) < 0 || (rc = uv_check_start(&check_, &Sink::onCheckCb)) < 0)
    return fail("check", rc);
  if ((rc = uv_timer_init(loop_, &ping_)) < 0 ||
      (rc = uv_timer_start(&ping_, &Sink::onPingCb, kPingIntervalMs, kPingIntervalMs)) < 0)
    return fail("timer", rc);
  if ((rc = uv_signal_init(loop_, &sigint_)) < 0 || (rc = uv_signal_start(&sigint_, &Sink::onSignalCb, SIGINT)) < 0 ||
      (rc = uv_signal_init(loop_, &sigterm_)) < 0 || (rc = uv_signal_start(&sigterm_, &Sink::onSignalCb, SIGTERM)) < 0)
    return fail("signal", rc);
  check_.data = ping_.data = sigint_.data = sigterm_.data = this;
  std::printf("listening 127.0.0.1:%d\n", ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port));
  std::fflush(stdout);
  uv_run(loop_, UV_RUN_DEFAULT);
  std::printf("chat-sink: %llu broadcasts, %llu deliveries, %llu connections dropped for not reading\n",
              static_cast<unsigned long long>(broadcasts_), static_cast<unsigned long long>(deliveries_),
              static_cast<unsigned long long>(dropped_));
  rc = uv_loop_close(loop_);
  assert(rc == 0);
  return 0;
}

void Sink::onConnectionCb(uv_stream_t* server, int status) {
  auto* self = static_cast<Sink*>(server->data);
  if (status < 0) return (void)fail("accept", status);
  auto* c = new SinkConn;
  int rc = uv_tcp_init(self->loop_, &c->tcp);
  if (rc < 0) {
    delete c;
    return (void)fail("tcp_init", rc);
  }
  c->tcp.data = c;
  c->sink = self;
  c->id = self->next_id_++;
  c->index = self->conns_.size();
  self->conns_.push_back(c);
  if ((rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp))) < 0 ||
      (rc = uv_tcp_nodelay(&c->tcp, 1)) < 0 ||
      (rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), &Sink::onAllocCb, &Sink::onReadCb)) < 0) {
    fail("accept", rc);
    self->closeConn(c);
  }
}

void Sink::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<SinkConn*>(h->data)->sink;
  *buf = uv_buf_init(self->read_buffer_, kReadBuffer);
}

void Sink::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<SinkConn*>(s->data);
  Sink* self = c->sink;
  if (nread == 0 || c->closing) return;
  if (nread < 0) return self->closeConn(c);
  self->onData(c, buf->base, static_cast<size_t>(nread));
  if (self->unflushed_ >= kFlushBytes) self->flushDirty();
}

void Sink::onData(SinkConn* c, char* data, size_t len) {
  char* p = data;
  size_t n = len;
  if (!c->in.empty()) {
    c->in.append(data, len);
    p = c->in.data();
    n = c->in.size();
  }
  size_t used = 0;
  if (!c->upgraded) {
    std::string_view v(p, n);
    size_t end = v.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (c->in.empty()) c->in.assign(data, len);
      if (c->in.size() > kMaxHead) closeConn(c);
      return;
    }
    if (!upgrade(c, v.substr(0, end + 2))) return;
    used = end + 4;
  }
  bool alive = true;
  used += frames(c, reinterpret_cast<uint8_t*>(p + used), n - used, alive);
  if (!alive) return;
  if (p == c->in.data()) {
    c->in.erase(0, used);
    if (c->in.capacity() > kKeepCapacity && c->in.size() < kKeepCapacity / 4) std::string(c->in).swap(c->in);  // held per connection
  } else {
    c->in.assign(p + used, n - used);
  }
}

bool Sink::upgrade(SinkConn* c, std::string_view head) {
  c->upgraded = true;
  c->out = upgradeAnswer(head, c->id, kPingIntervalMs);
  if (c->out.empty()) {
    c->out = kSinkBadRequest;
    markDirty(c);
    flushDirty();  // the answer goes out before the close
    closeConn(c);
    return false;
  }
  markDirty(c);
  return true;
}

size_t Sink::frames(SinkConn* c, uint8_t* p, size_t n, bool& alive) {
  size_t pos = 0;
  for (;;) {
    ws::FrameHeader h;
    if (!ws::parseFrameHeader(p + pos, n - pos, h)) break;
    if (!h.masked || !h.fin || h.length > (1u << 20)) {
      closeConn(c);  // unmasked, fragmented or oversized: not what our clients send
      alive = false;
      return pos;
    }
    if (n - pos - h.header_size < h.length) break;
    uint8_t* payload = p + pos + h.header_size;
    size_t len = static_cast<size_t>(h.length);
    ws::applyMask(payload, len, h.mask);
    pos += h.header_size + len;
    bool keep = true;
    if (h.opcode == ws::kText) {
      keep = onText(c, std::string_view(reinterpret_cast<char*>(payload), len));
    } else if (h.opcode == ws::kPing) {
      uint8_t hdr[ws::kMaxHeaderSize];
      c->out.append(reinterpret_cast<char*>(hdr), ws::writeFrameHeader(hdr, ws::kPong, len, nullptr));
      c->out.append(reinterpret_cast<char*>(payload), len);
      markDirty(c);
    } else if (h.opcode != ws::kPong) {
      keep = false;  // close or binary
    }
    if (!keep) {
      closeConn(c);
      alive = false;
      return pos;
    }
  }
  return pos;
}

bool Sink::onText(SinkConn* c, std::string_view text) {
  if (text == "3") return true;
  if (text == "1") return false;
  if (text.substr(0, 2) == "40") {
    sendText(c, "40{\"sid\":\"k" + std::to_string(c->id) + "\"}");
    return true;
  }
  ClientEvent ev;
  if (!parseClientEvent(text, ev)) return text.substr(0, 1) == "4";  // other Socket.IO packets: ignored
  std::string ack;
  if (ev.kind == ClientEvent::Kind::Join) {
    if (c->room) {
      ack = errorAck(ev.ack_id, "one room per connection");
    } else {
      Room& r = rooms_[std::string(ev.room)];
      c->room = &r;
      c->room_index = r.members.size();
      r.members.push_back(c);
      ack = joinAck(ev.ack_id, ev.room, r.members.size());
    }
  } else if (ev.kind == ClientEvent::Kind::Message) {
    auto it = rooms_.find(std::string(ev.room));
    if (it == rooms_.end() || c->room != &it->second) {
      ack = errorAck(ev.ack_id, "not in room");
    } else {
      frame_.clear();
      appendBroadcastFrame(frame_, ev.args);
      for (SinkConn* m : it->second.members) {
        m->out += frame_;
        markDirty(m);
      }
      unflushed_ += frame_.size() * it->second.members.size();
      ++broadcasts_;
      deliveries_ += it->second.members.size();
      ack = messageAck(ev.ack_id, broadcasts_);
    }
  } else {
    ack = errorAck(ev.ack_id, "unknown event");
  }
  if (ev.ack_id >= 0) sendText(c, ack);
  return true;
}

void Sink::sendText(SinkConn* c, std::string_view payload) {
  appendTextFrame(c->out, payload);
  markDirty(c);
}

void Sink::markDirty(SinkConn* c) {
  if (c->dirty || c->closing) return;
  c->dirty = true;
  dirty_.push_back(c);
}

void Sink::onCheckCb(uv_check_t* h) { static_cast<Sink*>(h->data)->flushDirty(); }

void Sink::flushDirty() {
  unflushed_ = 0;
  std::vector<SinkConn*> list;
  list.swap(dirty_);
  for (SinkConn* c : list) {
    c->dirty = false;
    if (c->closing || c->out.empty()) continue;
    uv_buf_t b = uv_buf_init(c->out.data(), static_cast<unsigned>(c->out.size()));
    long q = common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, c, &Sink::onWriteDoneCb);
    c->out.clear();
    if (q < 0) {
      closeConn(c);
      continue;
    }
    c->queued += static_cast<size_t>(q);
    if (c->queued > kMaxQueued) {
      ++dropped_;
      closeConn(c);
    }
  }
  list.clear();
  if (dirty_.empty()) dirty_.swap(list);  // keeps the capacity
}

void Sink::onWriteDoneCb(void* owner, int, size_t bytes) {
  auto* c = static_cast<SinkConn*>(owner);
  assert(c->queued >= bytes);
  c->queued -= bytes;
}

void Sink::onPingCb(uv_timer_t* t) {
  auto* self = static_cast<Sink*>(t->data);
  for (SinkConn* c : self->conns_)
    if (c->upgraded && !c->closing) self->sendText(c, "2");
}

void Sink::closeConn(SinkConn* c) {
  if (c->closing) return;
  c->closing = true;
  if (c->room) {
    auto& m = c->room->members;
    assert(m[c->room_index] == c);
    m[c->room_index] = m.back();
    m[c->room_index]->room_index = c->room_index;
    m.pop_back();
    c->room = nullptr;
  }
  assert(conns_[c->index] == c);
  conns_[c->index] = conns_.back();
  conns_[c->index]->index = c->index;
  conns_.pop_back();
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), &Sink::onCloseCb);
}

void Sink::onCloseCb(uv_handle_t* h) {
  auto* c = static_cast<SinkConn*>(h->data);
  assert(c->queued == 0);
  delete c;
}

void Sink::onSignalCb(uv_signal_t* h, int) { static_cast<Sink*>(h->data)->shutdown(); }

void Sink::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  while (!conns_.empty()) closeConn(conns_.back());
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&ping_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
}

}  // namespace

int chatSinkMain(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fprintf(stderr, "usage: tether-bench chat-sink [--port N]   (see bench/chat/README.md)\n");
      return 0;
    }
    char* end = nullptr;
    long v = i + 1 < argc ? std::strtol(argv[i + 1], &end, 10) : -1;
    if (a != "--port" || !end || *end != '\0' || v < 0 || v > 65535) {
      std::fprintf(stderr, "tether-bench chat-sink: expected --port 0..65535, got %s\n", argv[i]);
      return 2;
    }
    port = static_cast<int>(v);
    ++i;
  }
  if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) std::perror("tether-bench chat-sink: SIGPIPE");  // writes to a closed peer fail, not kill
  raiseFdLimit();
  auto* sink = new Sink;  // 256 KiB read buffer: not on the stack
  int rc = sink->run(port);
  delete sink;
  return rc;
}

}  // namespace bench::chat
