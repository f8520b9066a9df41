// One client TCP connection of the e2e driver, as a browser's: bound to its own source address
// in 127.0.0.0/8 (so tether sees thousands of distinct clients on one machine), HTTP/1.1
// requests one after the other on it (keep-alive), and, after a 101, WebSocket text frames.
//
// The socket is created by hand so that IP_BIND_ADDRESS_NO_PORT can be set before bind(): the
// port is then chosen at connect() per (source, destination) pair, so many connections from one
// NAT address do not run out of ports. Responses are parsed with llhttp; only what the driver
// needs is kept (status, X-Served-By, Set-Cookie, body). Owner callbacks are never called after
// close(); the object frees itself in its close callback. Every libuv return is checked and a
// failure reaches the owner as onConnError(what, uv error).
#pragma once

#include <llhttp.h>
#include <netinet/in.h>
#include <uv.h>

#include <string>
#include <string_view>
#include <vector>

namespace bench::affinity {

struct HttpResponse {
  int status = 0;
  std::string served_by;                 // X-Served-By, "" when absent
  std::vector<std::string> set_cookies;  // "name=value" of each Set-Cookie
  std::string body;
};

class HttpConnOwner {
 public:
  virtual void onResponse(int conn_tag, const HttpResponse& r) = 0;
  virtual void onWsText(int conn_tag, std::string_view text) = 0;
  virtual void onConnError(int conn_tag, const char* what, int uv_status) = 0;

 protected:
  virtual ~HttpConnOwner() = default;
};

class HttpClientConn {
 public:
  // `tag` is passed back in every callback (which of the owner's connections this is).
  HttpClientConn(uv_loop_t* loop, HttpConnOwner& owner, int tag);
  HttpClientConn(const HttpClientConn&) = delete;
  HttpClientConn& operator=(const HttpClientConn&) = delete;

  // Binds to `source` (port 0) and connects to `target`. 0 or a libuv error (the owner is not
  // called for a synchronous failure).
  int connect(const sockaddr_in& source, const sockaddr_in& target);
  // Sends a full request (head and body); written once connected. Responses arrive in order.
  void send(std::string request);
  // After a 101: one masked text frame.
  void sendWsText(std::string_view text);
  // Closes (idempotent); no callback after this; the object is freed by libuv's close callback.
  void close();

 private:
  ~HttpClientConn() = default;
  static void onConnectCb(uv_connect_t* req, int status);
  static void onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf);
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onWriteCb(uv_write_t* req, int status);
  static void onCloseCb(uv_handle_t* h);
  static int onHeaderFieldCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueCompleteCb(llhttp_t* p);
  static int onBodyCb(llhttp_t* p, const char* at, size_t len);
  static int onMessageCompleteCb(llhttp_t* p);
  void write(std::string bytes);
  void onData(const char* data, size_t len);
  void onWsBytes(const char* data, size_t len);
  void fail(const char* what, int status);

  uv_loop_t* loop_;
  HttpConnOwner& owner_;
  int tag_;
  uv_tcp_t tcp_{};
  uv_connect_t connect_req_{};
  bool handle_open_ = false;
  bool connected_ = false;
  bool closed_ = false;
  bool upgraded_ = false;
  std::string pending_;  // written once connected
  llhttp_settings_t settings_{};
  llhttp_t parser_{};
  std::string field_, value_;
  HttpResponse response_;
  std::string ws_in_;    // undecoded WebSocket bytes
  char read_buf_[16384];
};

}  // namespace bench::affinity
