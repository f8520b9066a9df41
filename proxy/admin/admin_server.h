// The admin listener (`admin: {address, token, read_token}`): a small HTTP/1.1 server on the main thread's
// libuv loop, never on a public listener and never on a worker loop, so a slow scrape cannot
// delay proxied traffic.
//
// One AdminConnection per client: bytes go through the same pure llhttp wrapper as the proxy
// (http/parser.h, 16 KiB head limit, 64 KiB body limit); at the end of each request the route
// table (admin_routes.h) builds the whole response, which is written with one uv_write, and the
// next keep-alive request is parsed after it. Idle connections close after 30 s. Admin traffic is
// rare and small, so this side favours simplicity (a std::string per response) over the data
// path's zero-copy habits.
#pragma once

#include <uv.h>

#include <string>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "proxy/admin/scrape_sources.h"

namespace proxy::admin {

class AdminConnection;

class AdminServer {
 public:
  AdminServer(uv_loop_t* loop, const config::AdminConfig& cfg, const ScrapeSources& sources);
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens. False with a message (address in use...).
  bool start(std::string& error);
  // Stops accepting and closes open admin connections, so the loop can end. The object must
  // outlive the loop's run.
  void stop();

  const ScrapeSources& sources() const { return sources_; }
  const config::AdminConfig& config() const { return cfg_; }
  // A reload: new tokens apply to the next request (the address stays until a restart).
  void reconfigure(const config::AdminConfig& cfg);

  // Failed authentications per client address: more than kMaxAuthFailures within one second and
  // that address gets 429 (Retry-After: 1) until the second is over.
  bool authThrottled(const std::string& peer, uint64_t now_ms);
  void noteAuthFailure(const std::string& peer, uint64_t now_ms);
  static constexpr unsigned kMaxAuthFailures = 5;
  uv_loop_t* loop() const { return loop_; }

 private:
  static void onConnectionCb(uv_stream_t* server, int status);
  friend class AdminConnection;

  uv_loop_t* loop_;
  config::AdminConfig cfg_;
  const ScrapeSources& sources_;
  uv_tcp_t tcp_;
  bool listening_ = false;
  std::unordered_set<AdminConnection*> connections_;  // open ones, closed by stop()
  struct Failures {
    uint64_t window_start_ms;
    unsigned count;
  };
  std::unordered_map<std::string, Failures> auth_failures_;
};

}  // namespace proxy::admin
