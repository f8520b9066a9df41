// One Engine.IO v4 session driven the way a browser's socket.io-client drives it, over real
// connections, recording which server answered each request (X-Served-By).
//
// Requests, each a separate pick in the proxy:
//   1. GET  ?EIO=4&transport=polling                 handshake: open packet, the sid
//   2. POST ?...&sid=S  "40"                          Socket.IO CONNECT
//   3. GET  ?...&sid=S                                the CONNECT answer ("40{...}")
//   4. GET  ?...&sid=S                                the poll the client holds open during the upgrade
//   5. GET  ?EIO=4&transport=websocket&sid=S + Upgrade  101, "2probe" -> "3probe"; request 4 is
//      released (usually "6"), then "5" completes the upgrade
// 1-4 share one keep-alive connection, 5 has its own, both bound to the client's source address.
// Every request carries X-Client-Id (consistent_hash's key) and, when the client keeps cookies,
// the cookies earlier answers set.
//
// Outcome: `broken` when any answer came from another server than the handshake's, or was a 400
// "Session ID unknown"; `failed` for anything else that went wrong (timeout, connection error,
// 5xx, unexpected body). Latencies: handshake (connect to open packet), upgrade (websocket
// connect to "3probe"), in microseconds.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bench/affinity/http_client.h"
#include "bench/affinity/strategy_spec.h"

namespace bench::affinity {

struct SessionParams {
  sockaddr_in source{};       // the client's address, port 0
  sockaddr_in target{};       // tether (or the target)
  std::string host;           // Host header
  std::string path = "/socket.io/";
  std::string client_id;      // X-Client-Id
  // The client's cookie jar (name, value), sent with every request; with keep_cookies, every
  // Set-Cookie updates it at once, as a browser's does.
  std::vector<std::pair<std::string, std::string>> cookies;
  bool keep_cookies = true;
};

// Sets name=value (a Set-Cookie's first part) in `jar`, replacing a cookie of the same name.
void storeCookie(std::vector<std::pair<std::string, std::string>>& jar, const std::string& name_value);

struct SessionOutcome {
  std::string server;         // the handshake's X-Served-By ("" when not known)
  bool handshake_ok = false;  // a 200 open packet arrived
  bool broken = false;
  bool broken_polling = false;  // broken at requests 2-4 (else at the upgrade)
  bool failed = false;
  bool upgraded = false;
  std::string error;          // what broke or failed
  uint64_t handshake_us = 0, upgrade_us = 0;
  std::vector<std::pair<std::string, std::string>> cookies;  // the jar at the end
};

class EioSession : private HttpConnOwner {
 public:
  using DoneCb = std::function<void(EioSession&, const SessionOutcome&)>;
  EioSession(uv_loop_t* loop, SessionParams params, DoneCb done);
  EioSession(const EioSession&) = delete;
  EioSession& operator=(const EioSession&) = delete;
  ~EioSession() override;

  void start();
  // Ends the session as failed ("timeout"); no-op once done.
  void timeout();
  bool done() const { return done_; }
  // True once the handshake was answered (or the session ended).
  bool pastHandshake() const { return done_ || step_ != Step::Handshake; }
  uint64_t startedNs() const { return started_ns_; }

 private:
  enum class Step { Handshake, Connect, ConnectAnswer, Upgrade, Done };
  void onResponse(int tag, const HttpResponse& r) override;
  void onWsText(int tag, std::string_view text) override;
  void onConnError(int tag, const char* what, int uv_status) override;
  std::string pollingRequest(const char* method, std::string_view body) const;
  std::string cookieHeader() const;
  // True when `r` came from the session's server; otherwise ends the session.
  bool sameServer(const HttpResponse& r, const char* what, bool polling);
  void startUpgrade();
  void maybeFinishUpgrade();
  void finish();
  void fail(const std::string& error);

  uv_loop_t* loop_;
  SessionParams params_;
  DoneCb done_cb_;
  HttpClientConn* poll_ = nullptr;
  HttpClientConn* ws_ = nullptr;
  Step step_ = Step::Handshake;
  std::string sid_;
  SessionOutcome out_;
  uint64_t started_ns_ = 0, ws_started_ns_ = 0;
  bool probed_ = false, held_answered_ = false;
  bool done_ = false;
};

}  // namespace bench::affinity
