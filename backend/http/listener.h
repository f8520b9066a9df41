// A listening TCP socket that hands each accepted connection to a Handler.
//
// Binding to port 0 picks a free port; port() reports the real one so that tests can start the
// server without guessing ports.
#pragma once

#include <uv.h>

#include <string>

#include "backend/http/connection.h"

namespace backend::http {

class Listener {
 public:
  Listener(uv_loop_t* loop, Handler* handler, const Limits& limits);
  // Binds and listens; returns a libuv error (< 0) or 0. Logs failures.
  int start(const std::string& host, int port);
  // Stops accepting (the handle is closed; the Listener must outlive the close callback,
  // i.e. keep it until the loop ends).
  void stop();
  int port() const { return port_; }
  // The X-Served-By value for connections accepted from now on (Limits::servedBy).
  void setServedBy(std::string id) { limits_.servedBy = std::move(id); }
  size_t accepted() const { return accepted_; }

 private:
  static void onConnectionCb(uv_stream_t* server, int status);

  uv_loop_t* loop_;
  uv_tcp_t tcp_{};
  Handler* handler_;
  Limits limits_;
  int port_ = 0;
  size_t accepted_ = 0;
  bool started_ = false;
};

}  // namespace backend::http
