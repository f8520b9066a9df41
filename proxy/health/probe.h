// One active health probe in flight: `tcp` (the connect succeeds) or `http` (GET path with the
// Host header; the status line must fall in expect_status), bounded by the check's timeout.
// For an upstream with `tls:` the probe speaks TLS like the upstream's connections do (same
// CAs, server name and client certificate): a tcp check then succeeds once the handshake has,
// an http check sends its request over it, and a certificate that does not verify fails the
// probe with OpenSSL's reason.
//
// start() begins the probe and reports exactly once through the callback, unless abandon() is
// called first (the owner is going away: the probe then closes without reporting). The object
// frees itself once its handles are closed.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <memory>
#include <string>

#include "proxy/config/config.h"

namespace proxy::tls {
class TlsEngine;
}

namespace proxy::health {

class Probe {
 public:
  using Done = void (*)(void* owner, bool ok, const std::string& detail);

  // Starts a probe of `server`; `host` is the Host header of an http check; `tls` the upstream's
  // TLS settings (with its built context). Returns the probe, or null after reporting a failure
  // to start through `done`.
  static Probe* start(uv_loop_t* loop, const config::ServerConfig& server, const config::HealthCheckConfig& hc,
                      const std::string& host, const config::UpstreamTlsConfig& tls, Done done, void* owner);
  ~Probe();
  // The owner no longer wants the result: close without reporting.
  void abandon();

  // Is `status` a success for this check? (exposed for the unit tests)
  static bool statusExpected(const config::HealthCheckConfig& hc, int status);

 private:
  Probe() = default;
  static void onCloseCb(uv_handle_t* h);
  static void onTimeoutCb(uv_timer_t* t);
  static void onConnectCb(uv_connect_t* req, int status);
  static void onWriteDone(void* owner, int status, size_t bytes);
  static void onAllocCb(uv_handle_t* h, size_t, uv_buf_t* out);
  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t*);
  void finish(bool ok, const std::string& detail);
  void onConnected();
  void onResponseBytes(const char* data, size_t len);
  bool send(const char* data, size_t len);
  bool sendTlsOutput();
  void onTlsData(const char* data, size_t len);

  Done done_ = nullptr;
  void* owner_ = nullptr;  // null once abandoned or reported
  config::HealthCheckConfig hc_;
  uv_tcp_t tcp_;
  uv_timer_t timeout_;
  uv_connect_t connect_req_;
  std::unique_ptr<tls::TlsEngine> tls_;  // null for plain upstreams
  std::string request_;
  std::string response_;
  char buf_[512];
  int open_handles_ = 0;
  bool timer_open_ = false;
  bool done_flag_ = false;
};

}  // namespace proxy::health
