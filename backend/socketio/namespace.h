// Socket.IO namespaces, sockets and rooms.
//
// A Socket is one client's membership in one namespace (a client may join several namespaces
// over one Engine.IO session). Rooms live in their Namespace as room -> members; a broadcast
// encodes its packet and WebSocket frame once and every member's session queues a reference
// to that one shared frame (backend/http/out_frame.h), which is what makes a 5000-member room
// cheap. Sending never closes a session synchronously (slow
// consumers are closed on the next loop turn), so iterating a room while sending is safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backend/engineio/session.h"
#include "backend/socketio/packet.h"

namespace backend::socketio {

class Namespace;
class Server;
struct Client;

class Socket {
 public:
  const std::string& id() const { return id_; }
  Namespace& nsp() const { return *nsp_; }
  const json& auth() const { return auth_; }
  engineio::Session& session() const { return *session_; }
  const std::unordered_set<std::string>& rooms() const { return rooms_; }

  // Emits `event` with `args` (a JSON array; binary values become attachments). Returns false
  // when the message was dropped (volatile, or the client is over its send queue cap).
  bool emit(std::string_view event, const json& args, bool isVolatile = false);
  // Sends a packet already encoded for this namespace (text form, see packet.h). Returns false
  // when the client is over its send queue cap.
  bool sendEncoded(std::string_view text);
  // Answers the client's ack request `id` with `args` (a JSON array).
  void ack(int64_t id, const json& args);
  void join(const std::string& room);
  void leave(const std::string& room);

  std::string name;  // application data (the chat nickname)
  void* appData = nullptr;  // application data (the chat app's per-socket state)

 private:
  friend class Namespace;
  friend class Server;
  Socket(Namespace* nsp, engineio::Session* session, std::string id, json auth)
      : nsp_(nsp), session_(session), id_(std::move(id)), auth_(std::move(auth)) {}
  bool sendPacket(Packet& p, bool isVolatile);

  Namespace* nsp_;
  engineio::Session* session_;
  std::string id_;
  json auth_;
  std::unordered_set<std::string> rooms_;
};

class Namespace {
 public:
  using ConnectHandler = std::function<void(Socket&)>;
  // args excludes the event name; ackId is -1 when the client wants no ack.
  using EventHandler = std::function<void(Socket&, const std::string& event, json& args, int64_t ackId)>;
  using DisconnectHandler = std::function<void(Socket&, std::string_view reason)>;

  Namespace(Server* server, std::string name) : server_(server), name_(std::move(name)) {}
  const std::string& name() const { return name_; }

  ConnectHandler onConnect;
  EventHandler onEvent;
  DisconnectHandler onDisconnect;

  // Emits to every member of `room` except `except`; returns the number of deliveries.
  size_t emitToRoom(const std::string& room, std::string_view event, const json& args,
                    const Socket* except = nullptr, bool isVolatile = false);
  // Sends the packet `text`, already encoded for this namespace (no attachments), to the
  // members of `room` for which pick(member) is true; its frame is built once. pick may change
  // application state but must not join, leave or close sockets.
  size_t emitEncodedToRoomIf(const std::string& room, std::string_view text, const std::function<bool(Socket&)>& pick);
  size_t roomSize(const std::string& room) const;
  // The members of `room`, or null when it has none.
  const std::unordered_set<Socket*>* members(const std::string& room) const;
  size_t roomCount() const { return rooms_.size(); }
  size_t socketCount() const { return sockets_.size(); }

 private:
  friend class Socket;
  friend class Server;
  template <typename Encode, typename Pick>
  size_t sendTo(const std::string& room, const Encode& encodeOnce, const std::vector<http::SharedFrame>& bins,
                bool isVolatile, const Pick& pick);
  Server* server_;
  std::string name_;
  std::unordered_map<std::string, std::unordered_set<Socket*>> rooms_;
  std::unordered_set<Socket*> sockets_;
};

}  // namespace backend::socketio
