// tether-echo: a small single-threaded libuv WebSocket echo server, the backend for benchmarks.
//
// Accepts the RFC 6455 handshake (common/ws_handshake.h), then echoes every data
// frame back unmasked with the same opcode and FIN bit, answers ping with pong and close with
// close. Framing is bench/ws/ws_frame.h (minimal, no extensions). All frames of one read are
// answered with one write (try_write first, the rest queued by common::writeOrQueue); while a
// write is queued the connection stops reading, so a client that does not read cannot grow
// this process. Listens on 127.0.0.1 only.
//
// usage: tether-echo [--port N]   (0 or absent: any free port; prints "listening 127.0.0.1:N")
#include <sys/resource.h>
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "bench/ws/ws_frame.h"
#include "common/stream_write.h"
#include "common/ws_handshake.h"

namespace {

using namespace bench::ws;

constexpr size_t kReadBuffer = 64 * 1024;
char g_read_buffer[kReadBuffer];
std::string g_out;  // the answers to one read, reused (single thread)

struct EchoConn {
  uv_tcp_t tcp;
  bool open = false;       // handshake done
  bool closing = false;
  bool reading = false;
  size_t queued = 0;
  std::string in;          // a partial head or frame carried to the next read
};

void closeConn(EchoConn* c) {
  if (c->closing) return;
  c->closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), [](uv_handle_t* h) { delete static_cast<EchoConn*>(h->data); });
}

void onAlloc(uv_handle_t*, size_t, uv_buf_t* buf) { *buf = uv_buf_init(g_read_buffer, kReadBuffer); }
void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);

void startReading(EchoConn* c) {
  if (c->reading || c->closing) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), &onAlloc, &onRead) < 0) return closeConn(c);
  c->reading = true;
}

void onWriteDone(void* owner, int status, size_t bytes) {
  auto* c = static_cast<EchoConn*>(owner);
  c->queued -= bytes;
  if (c->closing) return;
  if (status < 0) return closeConn(c);
  if (c->queued == 0) startReading(c);
}

void send(EchoConn* c, const std::string& out) {
  if (out.empty()) return;
  uv_buf_t b = uv_buf_init(const_cast<char*>(out.data()), static_cast<unsigned>(out.size()));
  long q = common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, c, &onWriteDone);
  if (q < 0) return closeConn(c);
  if (q > 0) {
    c->queued += static_cast<size_t>(q);
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    c->reading = false;
  }
}

// Handles complete frames in p[0..n); returns bytes consumed. Answers go to g_out.
size_t handleFrames(EchoConn* c, uint8_t* p, size_t n, bool& close_after) {
  size_t pos = 0;
  for (;;) {
    FrameHeader h;
    if (!parseFrameHeader(p + pos, n - pos, h) || n - pos - h.header_size < h.length) break;
    uint8_t* payload = p + pos + h.header_size;
    size_t len = static_cast<size_t>(h.length);
    if (h.masked) applyMask(payload, len, h.mask);
    uint8_t opcode = h.opcode == kPing ? static_cast<uint8_t>(kPong) : h.opcode;
    if (h.opcode != kPong) {
      uint8_t hdr[kMaxHeaderSize];
      g_out.append(reinterpret_cast<char*>(hdr), writeFrameHeader(hdr, opcode, len, nullptr, h.fin));
      g_out.append(reinterpret_cast<char*>(payload), len);
    }
    pos += h.header_size + len;
    if (h.opcode == kClose) {
      close_after = true;
      break;
    }
  }
  (void)c;
  return pos;
}

void onData(EchoConn* c, char* data, size_t len) {
  char* p = data;
  size_t n = len;
  if (!c->in.empty()) {
    c->in.append(data, len);
    p = c->in.data();
    n = c->in.size();
  }
  size_t used = 0;
  g_out.clear();
  if (!c->open) {
    std::string_view v(p, n);
    size_t end = v.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (c->in.empty()) c->in.assign(data, len);
      if (c->in.size() > 16384) closeConn(c);
      return;
    }
    std::string_view head = v.substr(0, end + 2);
    std::string_view key = common::ws::headerValue(head, "sec-websocket-key");
    if (key.empty()) {
      static const std::string kBad = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      send(c, kBad);
      return closeConn(c);
    }
    g_out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
            common::ws::acceptKey(key) + "\r\n\r\n";
    used = end + 4;
    c->open = true;
  }
  bool close_after = false;
  used += handleFrames(c, reinterpret_cast<uint8_t*>(p + used), n - used, close_after);
  send(c, g_out);
  if (close_after) return closeConn(c);
  std::string rest(p + used, n - used);
  c->in.swap(rest);
}

void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<EchoConn*>(s->data);
  if (nread == 0 || c->closing) return;
  if (nread < 0) return closeConn(c);
  onData(c, buf->base, static_cast<size_t>(nread));
}

void onConnection(uv_stream_t* server, int status) {
  if (status < 0) {
    std::fprintf(stderr, "tether-echo: accept: %s\n", uv_strerror(status));
    return;
  }
  auto* c = new EchoConn();
  c->tcp.data = c;
  if (uv_tcp_init(server->loop, &c->tcp) < 0) {
    delete c;
    return;
  }
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) < 0) return closeConn(c);
  uv_tcp_nodelay(&c->tcp, 1);
  startReading(c);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--port") && i + 1 < argc) port = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: tether-echo [--port N]\n");
      return 2;
    }
  }
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  uv_loop_t* loop = uv_default_loop();
  uv_tcp_t server;
  sockaddr_in addr;
  int rc = uv_ip4_addr("127.0.0.1", port, &addr);
  if (rc == 0) rc = uv_tcp_init(loop, &server);
  if (rc == 0) rc = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), 4096, &onConnection);
  if (rc < 0) {
    std::fprintf(stderr, "tether-echo: cannot listen on 127.0.0.1:%d: %s\n", port, uv_strerror(rc));
    return 1;
  }
  sockaddr_storage bound;
  int len = sizeof(bound);
  uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &len);
  std::printf("listening 127.0.0.1:%d\n", ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port));
  std::fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
