// tether-bench ws: an open-loop WebSocket load generator.
//
// Opens N connections to a ws:// URL at a bounded rate, then sends `size`-byte binary messages at
// a fixed aggregate rate, spread round-robin over the connections, to an echo server (tether-echo,
// directly or through a proxy). Each message carries its *intended* send time, so a stalled proxy
// cannot hide latency by making the generator send later (no coordinated omission). Prints
// messages/s received and RTT percentiles from a log-linear histogram. Bounded in time; refuses
// targets that are not on the loopback interface.
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/ws/frame.h"
#include "bench/ws/histogram.h"
#include "common/stream_write.h"
#include "common/uv_util.h"

namespace {

struct Options {
  std::string host = "127.0.0.1", path = "/";
  int port = 0;
  int connections = 100, connect_rate = 2000, size = 64, duration_s = 10;
  long rate = 10000;
};

struct Conn;
struct Run {
  Options opt;
  uv_loop_t* loop;
  sockaddr_storage addr;
  std::vector<Conn*> conns;
  bench::Histogram rtt;
  uint64_t start_ns = 0, sent = 0, received = 0, send_failed = 0, opened = 0, failed = 0;
  int next_conn = 0, launched = 0;
  bool sending = false, stopping = false;
  uv_timer_t connect_timer, send_timer, stop_timer;
} g;

struct Conn {
  uv_tcp_t tcp;
  uv_connect_t req;
  std::string in;
  bool open = false, closed = false;
};

char g_buf[64 * 1024];

void onWritten(void*, int, size_t) {}

bool parseUrl(const std::string& url, Options& o) {
  if (url.rfind("ws://", 0) != 0) return false;
  std::string rest = url.substr(5);
  size_t slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  o.path = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return false;
  o.host = hostport.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[') o.host = o.host.substr(1, o.host.size() - 2);
  o.port = std::atoi(hostport.c_str() + colon + 1);
  return o.port > 0;
}

bool isLoopback(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return (ntohl(reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr) >> 24) == 127;
  if (a.ss_family == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr);
  return false;
}

void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);

void fail(Conn* c) {
  if (c->closed) return;
  c->closed = true;
  if (!c->open) ++g.failed;
  c->open = false;
  common::closeHandle(&c->tcp);
}

void onConnect(uv_connect_t* req, int status) {
  auto* c = static_cast<Conn*>(req->data);
  if (status < 0) return fail(c);
  std::string up = "GET " + g.opt.path + " HTTP/1.1\r\nHost: " + g.opt.host +
                   "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  uv_buf_t b = uv_buf_init(up.data(), static_cast<unsigned>(up.size()));
  if (common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, c, &onWritten) < 0) return fail(c);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp),
                [](uv_handle_t*, size_t, uv_buf_t* bb) { *bb = uv_buf_init(g_buf, sizeof(g_buf)); }, &onRead);
}

void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Conn*>(s->data);
  if (nread < 0) return fail(c);
  c->in.append(buf->base, static_cast<size_t>(nread));
  if (!c->open) {
    size_t end = c->in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (c->in.compare(0, 12, "HTTP/1.1 101") != 0) return fail(c);
    c->in.erase(0, end + 4);
    c->open = true;
    ++g.opened;
  }
  uint64_t now = uv_hrtime();
  size_t off = 0;
  for (;;) {
    bench::ws::Frame f;
    const auto* p = reinterpret_cast<const uint8_t*>(c->in.data()) + off;
    size_t avail = c->in.size() - off;
    if (!bench::ws::parseHeader(p, avail, f) || avail < f.header_len + f.payload_len) break;
    if (f.opcode == 2 && f.payload_len >= 8) {
      uint64_t ts;
      std::memcpy(&ts, p + f.header_len, 8);
      g.rtt.record(now > ts ? now - ts : 0);
      ++g.received;
    }
    off += f.header_len + f.payload_len;
  }
  c->in.erase(0, off);
}

void launchSome(uv_timer_t*) {
  int batch = std::max(1, g.opt.connect_rate / 100);  // the timer ticks every 10 ms
  for (int i = 0; i < batch && g.launched < g.opt.connections; ++i, ++g.launched) {
    auto* c = new Conn();
    c->tcp.data = c;
    c->req.data = c;
    g.conns.push_back(c);
    if (uv_tcp_init(g.loop, &c->tcp) < 0 ||
        uv_tcp_connect(&c->req, &c->tcp, reinterpret_cast<sockaddr*>(&g.addr), &onConnect) < 0)
      fail(c);
    else
      uv_tcp_nodelay(&c->tcp, 1);
  }
  if (g.launched >= g.opt.connections) uv_timer_stop(&g.connect_timer);
}

// Open loop: every millisecond, send what the schedule says is due, stamped with when it was due.
void sendDue(uv_timer_t*) {
  if (!g.sending) {
    if (g.opened + g.failed < static_cast<uint64_t>(g.opt.connections)) return;  // still connecting
    g.sending = true;
    g.start_ns = uv_hrtime();
    uv_timer_start(&g.stop_timer, [](uv_timer_t*) { g.stopping = true; uv_stop(g.loop); },
                   static_cast<uint64_t>(g.opt.duration_s) * 1000 + 1000, 0);
  }
  uint64_t now = uv_hrtime();
  double elapsed = static_cast<double>(now - g.start_ns) / 1e9;
  if (elapsed > g.opt.duration_s) return;
  uint64_t due = static_cast<uint64_t>(elapsed * static_cast<double>(g.opt.rate));
  std::vector<uint8_t> msg(static_cast<size_t>(g.opt.size) + 14);
  static const uint8_t kMask[4] = {0x12, 0x34, 0x56, 0x78};
  int tries = 0;
  while (g.sent < due && tries < g.opt.connections) {
    Conn* c = g.conns[static_cast<size_t>(g.next_conn++ % g.opt.connections)];
    if (!c->open) {
      ++tries;
      continue;
    }
    tries = 0;
    uint64_t intended = g.start_ns + static_cast<uint64_t>(static_cast<double>(g.sent) * 1e9 / static_cast<double>(g.opt.rate));
    size_t hl = bench::ws::writeHeader(2, static_cast<uint64_t>(g.opt.size), kMask, msg.data());
    uint8_t* payload = msg.data() + hl;
    std::memset(payload, 'x', static_cast<size_t>(g.opt.size));
    std::memcpy(payload, &intended, 8);
    bench::ws::applyMask(payload, static_cast<size_t>(g.opt.size), kMask);
    uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(msg.data()), static_cast<unsigned>(hl + static_cast<size_t>(g.opt.size)));
    if (common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, c, &onWritten) < 0) ++g.send_failed;
    ++g.sent;
  }
}

int usage() {
  std::fprintf(stderr,
               "usage: tether-bench ws --url ws://127.0.0.1:PORT/PATH [--connections 100] [--connect-rate 2000]\n"
               "                       [--rate 10000 msgs/s] [--size 64 bytes] [--duration 10 s]\n");
  return 2;
}

}  // namespace

int runWsBench(int argc, char** argv) {
  Options& o = g.opt;
  std::string url;
  for (int i = 0; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--url") url = v;
    else if (k == "--connections") o.connections = std::atoi(v);
    else if (k == "--connect-rate") o.connect_rate = std::atoi(v);
    else if (k == "--rate") o.rate = std::atol(v);
    else if (k == "--size") o.size = std::atoi(v);
    else if (k == "--duration") o.duration_s = std::atoi(v);
    else return usage();
  }
  if (!parseUrl(url, o) || o.connections < 1 || o.rate < 1 || o.size < 8 || o.duration_s < 1 || o.duration_s > 600) return usage();
  std::string err;
  std::string hostport = (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) + ":" + std::to_string(o.port);
  if (!common::parseSockAddr(hostport, g.addr, err)) {
    std::fprintf(stderr, "tether-bench ws: %s\n", err.c_str());
    return 2;
  }
  if (!isLoopback(g.addr)) {
    std::fprintf(stderr, "tether-bench ws: refusing %s: only loopback targets (127.0.0.0/8, ::1)\n", hostport.c_str());
    return 2;
  }
  g.loop = uv_default_loop();
  uv_timer_init(g.loop, &g.connect_timer);
  uv_timer_init(g.loop, &g.send_timer);
  uv_timer_init(g.loop, &g.stop_timer);
  uv_timer_start(&g.connect_timer, &launchSome, 0, 10);
  uv_timer_start(&g.send_timer, &sendDue, 1, 1);
  uv_run(g.loop, UV_RUN_DEFAULT);
  double secs = static_cast<double>(o.duration_s);
  auto ms = [](uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  std::printf("connections %d opened %llu failed %llu\n", o.connections, static_cast<unsigned long long>(g.opened),
              static_cast<unsigned long long>(g.failed));
  std::printf("messages sent %llu received %llu (%.0f msg/s received, target %ld msg/s)\n",
              static_cast<unsigned long long>(g.sent), static_cast<unsigned long long>(g.received),
              static_cast<double>(g.received) / secs, o.rate);
  std::printf("rtt ms p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f\n", ms(g.rtt.quantile(0.5)), ms(g.rtt.quantile(0.9)),
              ms(g.rtt.quantile(0.99)), ms(g.rtt.quantile(0.999)), ms(g.rtt.max()));
  return g.opened == static_cast<uint64_t>(o.connections) ? 0 : 1;
}
