// Engine.IO server: request routing, handshake, polling cycle, upgrade; see server.h.
#include "backend/engineio/server.h"

#include <openssl/rand.h>

#include <vector>

#include "common/log.h"

namespace backend::engineio {

using common::ws::Opcode;

namespace {
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kText = "text/plain; charset=UTF-8";

void protocolError(http::Connection& conn, int code, std::string_view message) {
  std::string body = "{\"code\":" + std::to_string(code) + ",\"message\":\"" + std::string(message) + "\"}";
  conn.respond(400, kJson, std::move(body));
}
}  // namespace

std::string randomId() {
  static constexpr char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char bytes[20];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Cannot happen on Linux with getrandom; fall back to the clock rather than crash.
    uint64_t t = uv_hrtime();
    for (size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<unsigned char>((t >> (i % 8)) + i * 131);
  }
  std::string id(20, 'A');
  for (size_t i = 0; i < sizeof bytes; ++i) id[i] = kChars[bytes[i] & 63];
  return id;
}

Server::Server(uv_loop_t* loop, Options options, SessionListener* listener, RouteHandler* routes)
    : loop_(loop), options_(std::move(options)), listener_(listener), routes_(routes) {}

Server::~Server() = default;

std::string Server::openPacket(const std::string& sid, bool websocket) const {
  // "upgrades" lists the upgrades from the current transport: none from WebSocket. Listing
  // websocket there makes clients probe a second WebSocket with the sid, which a proxy that
  // learns sids from polling handshakes cannot route (tether answered it from another server).
  return "{\"sid\":\"" + sid + (websocket ? "\",\"upgrades\":[]" : "\",\"upgrades\":[\"websocket\"]") +
         ",\"pingInterval\":" +
         std::to_string(options_.pingInterval) + ",\"pingTimeout\":" + std::to_string(options_.pingTimeout) +
         ",\"maxPayload\":" + std::to_string(options_.maxPayload) + "}";
}

void Server::onRequest(http::Connection& conn, http::Request& request) {
  if (request.path() != options_.path) {
    routes_->onRequest(conn, request);
    return;
  }
  if (request.queryParam("EIO") != "4") return protocolError(conn, 5, "Unsupported protocol version");
  std::string_view transport = request.queryParam("transport");
  bool websocket = transport == "websocket";
  if (!websocket && transport != "polling") return protocolError(conn, 0, "Transport unknown");
  if (websocket && !request.upgrade) return protocolError(conn, 3, "Bad request");
  bool hasSid = false;
  std::string sid(request.queryParam("sid", &hasSid));
  if (!hasSid) return handshake(conn, request, websocket);
  auto it = sessions_.find(sid);
  if (it == sessions_.end() || it->second->isClosed()) return protocolError(conn, 1, "Session ID unknown");
  Session& s = *it->second;
  if (websocket) return handleUpgrade(s, conn, request);
  if (s.transport_ != Session::Transport::Polling) return protocolError(conn, 3, "Bad request");
  if (request.method == "GET") return handlePoll(s, conn, request);
  if (request.method == "POST") return handlePost(s, conn, request);
  protocolError(conn, 2, "Bad handshake method");
}

void Server::handshake(http::Connection& conn, http::Request& request, bool websocket) {
  if (request.method != "GET") return protocolError(conn, 2, "Bad handshake method");
  if (draining_) {
    ++counters_.rejectedDraining;
    return conn.respond(503, kText, "draining");
  }
  if (options_.maxConnections && sessions_.size() >= options_.maxConnections) {
    ++counters_.rejectedMaxConnections;
    return conn.respond(503, kText, "too many connections");
  }
  std::string sid = randomId();
  auto* s = new Session(this, sid, conn.peer());
  if (!s->start(loop_)) {
    delete s;
    return conn.respond(500, kText, "internal error");
  }
  sessions_.emplace(sid, s);
  ++counters_.sessionsOpened;
  std::string open = openPacket(sid, websocket);
  if (websocket) {
    if (!conn.upgradeToWebSocket(request, this)) {
      s->close("bad handshake");
      return;
    }
    s->transport_ = Session::Transport::WebSocket;
    s->wsConn_ = &conn;
    conn.userData = s;
    conn.sendWs(Opcode::Text, "0" + open);
  } else {
    conn.respond(200, kText, "0" + open);
  }
  listener_->onOpen(*s);
}

void Server::handlePoll(Session& s, http::Connection& conn, http::Request&) {
  if (s.pollConn_) {
    // Two GETs at once: the protocol calls this a fatal error for the session.
    protocolError(conn, 3, "Bad request");
    s.close("concurrent polling requests");
    return;
  }
  if (s.upgrading_ && s.probed_) {  // let the client's polling loop pause for the upgrade
    conn.respond(200, kText, "6");
    return;
  }
  s.pollConn_ = &conn;
  conn.userData = &s;
  if (!s.upgrading_) s.flushPolling();
}

void Server::handlePost(Session& s, http::Connection& conn, http::Request& request) {
  std::vector<Packet> packets;
  if (!decodePayload(request.body, packets)) {
    protocolError(conn, 3, "Bad request");
    s.close("parse error");
    return;
  }
  conn.respond(200, "text/html", "ok");
  for (auto& p : packets) {
    if (s.isClosed()) break;
    handlePacket(s, p);
  }
}

void Server::handleUpgrade(Session& s, http::Connection& conn, http::Request& request) {
  if (s.transport_ != Session::Transport::Polling || s.upgrading_) {
    // The session already has its WebSocket (or is probing one): like the reference server,
    // accept this handshake and close the new WebSocket at once. The connection stays
    // unbound to the session, so its messages and its end do not touch it.
    if (conn.upgradeToWebSocket(request, this)) conn.closeWs(common::ws::close_code::kNoStatus, {});
    return;
  }
  if (!conn.upgradeToWebSocket(request, this)) return;
  s.upgrading_ = true;
  s.probed_ = false;
  s.wsConn_ = &conn;
  conn.userData = &s;
}

void Server::onWsMessage(http::Connection& conn, Opcode op, std::string_view payload) {
  auto* s = static_cast<Session*>(conn.userData);
  if (!s || s->isClosed()) return;
  if (s->upgrading_) {
    // Probe phase: only "2probe" then "5" are allowed on the new transport.
    if (op == Opcode::Text && payload == "2probe") {
      s->probed_ = true;
      conn.sendWs(Opcode::Text, "3probe");
      s->releasePoll();  // the client's polling loop pauses so that it can finish the upgrade
    } else if (op == Opcode::Text && payload == "5" && s->probed_) {
      s->upgrading_ = false;
      s->transport_ = Session::Transport::WebSocket;
      ++counters_.upgrades;
      s->releasePoll();
      s->flushToWebSocket();
    } else {
      s->wsConn_ = nullptr;
      s->upgrading_ = false;
      conn.userData = nullptr;
      conn.closeWs(common::ws::close_code::kProtocolError, "bad upgrade");
    }
    return;
  }
  Packet p;
  if (op == Opcode::Binary) {
    p.type = PacketType::Message;
    p.binary = true;
    p.data.assign(payload);
  } else if (!decodeTextPacket(payload, p)) {
    s->close("parse error");
    return;
  }
  handlePacket(*s, p);
}

void Server::handlePacket(Session& s, Packet& p) {
  switch (p.type) {
    case PacketType::Message:
      listener_->onMessage(s, p.binary, p.data);
      break;
    case PacketType::Pong:
      s.onPong();
      break;
    case PacketType::Ping:  // v4 heartbeats go from server to client only
      s.close("invalid heartbeat direction");
      break;
    case PacketType::Close:
      // The client ends the session: a held GET returns with a noop (the client is not
      // waiting for a close packet), then the session is gone.
      s.releasePoll();
      s.close("client close");
      break;
    case PacketType::Noop:
      break;
    case PacketType::Open:
    case PacketType::Upgrade:
      s.close("unexpected packet");
      break;
  }
}

void Server::onClosed(http::Connection& conn) {
  auto* s = static_cast<Session*>(conn.userData);
  conn.userData = nullptr;
  if (!s || s->isClosed()) return;
  if (s->pollConn_ == &conn) {
    s->pollConn_ = nullptr;
    s->closeSoon("poll connection closed prematurely");
  } else if (s->wsConn_ == &conn) {
    s->wsConn_ = nullptr;
    if (s->upgrading_) {  // the probe failed: stay on polling, deliver what waited
      s->upgrading_ = false;
      s->probed_ = false;
      s->flushPolling();
    } else {
      s->closeSoon("transport close");  // deferred: we may be inside a broadcast
    }
  }
}

void Server::sessionClosed(Session& s) {
  sessions_.erase(s.id_);
  listener_->onClose(s, s.closeReason_);
}

void Server::closeAll(std::string_view reason) {
  std::vector<Session*> all;
  all.reserve(sessions_.size());
  for (auto& [id, s] : sessions_) all.push_back(s);
  for (Session* s : all) s->close(reason);
}

}  // namespace backend::engineio
