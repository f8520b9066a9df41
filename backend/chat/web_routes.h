// Everything tether-chat serves outside the Engine.IO path:
//   GET /                  the chat page (backend/web/index.html with the instance id filled in)
//   GET /socket.io.min.js  the socket.io client, from the npm install of scripts/install-deps
//                          (<web-root>/node_modules/socket.io-client/dist/socket.io.min.js)
//   GET /health            200 "ok", 503 "draining" after SIGTERM (tether's health checks).
//                          With --redis and Redis unreachable: still 200 (local delivery
//                          goes on) but "ok (redis down)". /health?detail: JSON
//                          {status, draining, redis: {configured, up, down_for_ms, ...}}
//   GET /metrics           Prometheus text format
// Files are read once at startup; a missing client library is reported then and answered 404.
#pragma once

#include <string>

#include "backend/chat/chat_app.h"
#include "backend/engineio/server.h"
#include "backend/socketio/server.h"

namespace backend::chat {

class WebRoutes : public engineio::RouteHandler {
 public:
  WebRoutes(std::string serverId, const std::string& webRoot);
  void attach(engineio::Server* engine, socketio::Server* io, const ChatApp* chat, const bus::FleetBus* bus) {
    engine_ = engine;
    io_ = io;
    chat_ = chat;
    bus_ = bus;
  }
  void onRequest(http::Connection& conn, http::Request& request) override;
  std::string renderMetrics() const;
  bool hasClientLibrary() const { return !clientJs_.empty(); }

 private:
  std::string serverId_;
  std::string page_;
  std::string clientJs_;
  engineio::Server* engine_ = nullptr;
  socketio::Server* io_ = nullptr;
  const ChatApp* chat_ = nullptr;
  const bus::FleetBus* bus_ = nullptr;
  std::string healthDetail(bool draining) const;
};

// Escapes &, <, >, " and ' for HTML text and attributes.
std::string htmlEscape(std::string_view text);

}  // namespace backend::chat
