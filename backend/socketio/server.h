// Socket.IO v5 server on top of Engine.IO sessions: CONNECT (with auth) / DISCONNECT / EVENT /
// ACK / BINARY_* per namespace, CONNECT_ERROR for unknown namespaces, invalid packets close
// the session, and sessions that never CONNECT are closed after connectTimeout.
// As in the reference server (socket.io 4.8): the CONNECT ack is written before the namespace's
// connection handler runs (on WebSocket in a write of its own); a packet for a namespace the
// client is not connected to, or a second CONNECT to one it is, closes the session; leaving
// every namespace (DISCONNECT) keeps the Engine.IO session, which may CONNECT again.
//
// With rawEcho (the Engine.IO conformance app), a session whose first message is not a
// Socket.IO CONNECT is treated as plain Engine.IO and every message is echoed back.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>

#include "backend/engineio/server.h"
#include "backend/socketio/namespace.h"

namespace backend::socketio {

struct Counters {
  uint64_t packetsIn = 0;   // Socket.IO packets received
  uint64_t packetsOut = 0;  // packets handed to sessions (one per recipient for broadcasts)
  uint64_t connectErrors = 0;
  uint64_t invalidPackets = 0;
  uint64_t connectTimeouts = 0;
};

class Server : public engineio::SessionListener {
 public:
  Server(uv_loop_t* loop, uint64_t connectTimeoutMs);
  ~Server() override;
  bool start();  // starts the connect-timeout sweep
  void stop();

  // Registers (or returns) a namespace; "/" always exists.
  Namespace& of(const std::string& name);
  void setRawEcho(bool on) { rawEcho_ = on; }
  Counters& counters() { return counters_; }
  size_t socketCount() const;
  size_t roomCount() const;

  // engineio::SessionListener
  void onOpen(engineio::Session& s) override;
  void onMessage(engineio::Session& s, bool binary, std::string_view data) override;
  void onClose(engineio::Session& s, std::string_view reason) override;

 private:
  void handlePacket(Client& c, Packet& p);
  void connect(Client& c, Packet& p);
  void removeSocket(Client& c, const std::string& nsp, std::string_view reason);
  static void onSweepCb(uv_timer_t* t);

  uv_loop_t* loop_;
  uint64_t connectTimeoutMs_;
  uv_timer_t sweep_{};
  bool sweepStarted_ = false;
  bool rawEcho_ = false;
  std::map<std::string, std::unique_ptr<Namespace>> namespaces_;
  std::unordered_set<Client*> awaitingConnect_;
  Counters counters_;
};

}  // namespace backend::socketio
