// Conformance echo app; see echo_app.h.
#include "backend/chat/echo_app.h"

namespace backend::chat {

using socketio::json;

void installEchoApp(socketio::Server& io) {
  io.setRawEcho(true);
  auto emitAuth = [](socketio::Socket& s) { s.emit("auth", json::array({s.auth()})); };
  auto& root = io.of("/");
  root.onConnect = emitAuth;
  root.onEvent = [](socketio::Socket& s, const std::string& event, json& args, int64_t ackId) {
    if (event == "message") {
      s.emit("message-back", args);
    } else if (event == "message-with-ack") {
      s.ack(ackId, args);
    }
  };
  io.of("/custom").onConnect = emitAuth;
}

}  // namespace backend::chat
