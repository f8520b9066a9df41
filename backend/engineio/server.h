// Engine.IO v4 server: routes HTTP requests under Options::path to sessions, performs the
// handshake (polling or direct WebSocket), the polling GET/POST cycle, the upgrade, and the
// protocol's error answers. Everything else (the page, /health, /metrics) goes to the
// RouteHandler. Errors, as the protocol says (JSON body {"code","message"}):
//   bad EIO -> 400 code 5, bad transport -> 400 code 0, unknown sid -> 400 code 1,
//   handshake by POST -> 400 code 2, bad request/second concurrent GET -> 400 code 3 (and the
//   session closes), body over maxPayload -> 413, over max connections or draining -> 503.
// As the reference server (engine.io 6) does: a client close packet releases a held GET with a
// noop before the session ends, a client ping closes the session (v4 heartbeats go from server
// to client), and a second WebSocket for a session that already has one is accepted, then
// closed at once, leaving the session on its WebSocket.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "backend/engineio/session.h"
#include "backend/http/connection.h"

namespace backend::engineio {

struct Options {
  std::string path = "/socket.io/";
  uint64_t pingInterval = 25000;  // ms
  uint64_t pingTimeout = 20000;   // ms
  size_t maxPayload = 1'000'000;
  size_t maxConnections = 0;      // 0: unlimited
  size_t maxSendQueue = 1 << 20;  // bytes waiting for one client
  size_t volatileThreshold = 16 * 1024;  // volatile messages are dropped above this backlog
};

class SessionListener {
 public:
  virtual ~SessionListener() = default;
  virtual void onOpen(Session& s) = 0;
  virtual void onMessage(Session& s, bool binary, std::string_view data) = 0;
  virtual void onClose(Session& s, std::string_view reason) = 0;
};

class RouteHandler {
 public:
  virtual ~RouteHandler() = default;
  virtual void onRequest(http::Connection& conn, http::Request& request) = 0;
};

struct Counters {
  uint64_t sessionsOpened = 0;
  uint64_t rejectedMaxConnections = 0;
  uint64_t rejectedDraining = 0;
  uint64_t droppedVolatile = 0;
  uint64_t slowConsumerDisconnects = 0;
  uint64_t upgrades = 0;
};

class Server : public http::Handler, public http::WsHandler {
 public:
  Server(uv_loop_t* loop, Options options, SessionListener* listener, RouteHandler* routes);
  ~Server() override;

  // Refuse new sessions from now on (503); existing ones keep working.
  void setDraining(bool draining) { draining_ = draining; }
  bool draining() const { return draining_; }
  uv_loop_t* loop() const { return loop_; }
  // Closes every session with an Engine.IO close.
  void closeAll(std::string_view reason);
  size_t sessionCount() const { return sessions_.size(); }
  const Options& options() const { return options_; }
  const Counters& counters() const { return counters_; }
  Counters& counters() { return counters_; }

  // http::Handler
  void onRequest(http::Connection& conn, http::Request& request) override;
  void onClosed(http::Connection& conn) override;
  // http::WsHandler
  void onWsMessage(http::Connection& conn, common::ws::Opcode op, std::string_view payload) override;

 private:
  friend class Session;
  void handshake(http::Connection& conn, http::Request& request, bool websocket);
  void handlePoll(Session& s, http::Connection& conn, http::Request& request);
  void handlePost(Session& s, http::Connection& conn, http::Request& request);
  void handleUpgrade(Session& s, http::Connection& conn, http::Request& request);
  void handlePacket(Session& s, Packet& p);
  void sessionClosed(Session& s);
  std::string openPacket(const std::string& sid, bool websocket) const;

  uv_loop_t* loop_;
  Options options_;
  SessionListener* listener_;
  RouteHandler* routes_;
  std::unordered_map<std::string, Session*> sessions_;
  Counters counters_;
  bool draining_ = false;
};

// 20 random URL-safe characters (120 bits) for session and socket ids.
std::string randomId();

}  // namespace backend::engineio
