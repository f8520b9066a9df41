// tether-echo: a small WebSocket echo server on libuv for the benchmarks (and a 200 "ok" for
// plain HTTP). Every message is sent back as it came; pings are answered; a close is echoed.
// usage: tether-echo --port P [--host 127.0.0.1]
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/ws/frame.h"
#include "common/stream_write.h"
#include "common/uv_util.h"

namespace {

struct Conn {
  uv_tcp_t tcp;
  std::string in;
  bool open = false;
};

char g_buf[64 * 1024];

void onClose(uv_handle_t* h) { delete static_cast<Conn*>(h->data); }
void closeConn(Conn* c) { common::closeHandle(&c->tcp, &onClose); }
void onWritten(void*, int, size_t) {}

void send(Conn* c, const uv_buf_t* bufs, unsigned n) {
  if (common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&c->tcp), bufs, n, c, &onWritten) < 0) closeConn(c);
}

std::string acceptKey(const std::string& key) {
  std::string s = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::string headerValue(const std::string& head, const char* name) {
  size_t nlen = std::strlen(name);
  for (size_t pos = head.find("\r\n"); pos != std::string::npos; pos = head.find("\r\n", pos + 2)) {
    if (strncasecmp(head.c_str() + pos + 2, name, nlen) == 0 && head[pos + 2 + nlen] == ':') {
      size_t start = head.find_first_not_of(' ', pos + 3 + nlen);
      return head.substr(start, head.find("\r\n", start) - start);
    }
  }
  return {};
}

void handshake(Conn* c) {
  size_t end = c->in.find("\r\n\r\n");
  if (end == std::string::npos) return;
  std::string head = c->in.substr(0, end);
  c->in.erase(0, end + 4);
  std::string key = headerValue(head, "Sec-WebSocket-Key");
  std::string resp = key.empty() ? "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                                 : "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                   "Sec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n";
  uv_buf_t b = uv_buf_init(resp.data(), static_cast<unsigned>(resp.size()));
  send(c, &b, 1);
  c->open = !key.empty();
}

void echoFrames(Conn* c) {
  size_t off = 0;
  for (;;) {
    bench::ws::Frame f;
    const auto* p = reinterpret_cast<uint8_t*>(c->in.data()) + off;
    size_t avail = c->in.size() - off;
    if (!bench::ws::parseHeader(p, avail, f) || avail < f.header_len + f.payload_len) break;
    auto* payload = const_cast<uint8_t*>(p) + f.header_len;
    if (f.masked) bench::ws::applyMask(payload, f.payload_len, f.mask);
    uint8_t opcode = f.opcode == 9 ? 10 : f.opcode;  // ping -> pong
    uint8_t hdr[14];
    size_t hl = bench::ws::writeHeader(opcode, f.payload_len, nullptr, hdr);
    uv_buf_t bufs[2] = {uv_buf_init(reinterpret_cast<char*>(hdr), static_cast<unsigned>(hl)),
                        uv_buf_init(reinterpret_cast<char*>(payload), static_cast<unsigned>(f.payload_len))};
    send(c, bufs, 2);
    off += f.header_len + f.payload_len;
    if (f.opcode == 8) return closeConn(c);
  }
  c->in.erase(0, off);
}

void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Conn*>(s->data);
  if (nread < 0) return closeConn(c);
  c->in.append(buf->base, static_cast<size_t>(nread));
  if (!c->open) handshake(c);
  if (c->open) echoFrames(c);
}

void onConnection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* c = new Conn();
  c->tcp.data = c;
  if (uv_tcp_init(server->loop, &c->tcp) < 0) {
    delete c;
    return;
  }
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) < 0) return closeConn(c);
  uv_tcp_nodelay(&c->tcp, 1);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp),
                [](uv_handle_t*, size_t, uv_buf_t* b) { *b = uv_buf_init(g_buf, sizeof(g_buf)); }, &onRead);
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--port")) port = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--host")) host = argv[i + 1];
  }
  if (port <= 0) {
    std::fprintf(stderr, "usage: tether-echo --port P [--host 127.0.0.1]\n");
    return 1;
  }
  sockaddr_storage addr;
  std::string err;
  if (!common::parseSockAddr(host + ":" + std::to_string(port), addr, err)) {
    std::fprintf(stderr, "tether-echo: %s\n", err.c_str());
    return 1;
  }
  uv_loop_t* loop = uv_default_loop();
  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  int rc = uv_tcp_bind(&server, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), 4096, &onConnection);
  if (rc < 0) {
    std::fprintf(stderr, "tether-echo: cannot listen on %s:%d: %s\n", host.c_str(), port, uv_strerror(rc));
    return 1;
  }
  return uv_run(loop, UV_RUN_DEFAULT);
}
