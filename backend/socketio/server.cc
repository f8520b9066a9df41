// Socket.IO server: per-session Client state, packet dispatch, connect timeout; see server.h.
#include "backend/socketio/server.h"

#include <vector>

#include "common/log.h"
#include "common/uv_util.h"

namespace backend::socketio {

struct Client {
  enum class Mode : uint8_t { Unknown, SocketIO, Raw };
  engineio::Session* session;
  uint64_t openedAt;  // uv_now, for the connect timeout
  Mode mode = Mode::Unknown;
  Reassembler reassembler;
  std::map<std::string, Socket*> sockets;  // namespace -> socket
};

Server::Server(uv_loop_t* loop, uint64_t connectTimeoutMs) : loop_(loop), connectTimeoutMs_(connectTimeoutMs) {
  of("/");
}

Server::~Server() = default;

bool Server::start() {
  int rc = uv_timer_init(loop_, &sweep_);
  if (rc < 0) {
    common::logError("timer_init_failed", {{"error", common::uvErr(rc)}});
    return false;
  }
  sweep_.data = this;
  sweepStarted_ = true;
  uint64_t every = connectTimeoutMs_ < 2000 ? (connectTimeoutMs_ / 4 + 1) : 500;
  rc = uv_timer_start(&sweep_, onSweepCb, every, every);
  if (rc < 0) {
    common::logError("timer_start_failed", {{"error", common::uvErr(rc)}});
    return false;
  }
  return true;
}

void Server::stop() {
  if (sweepStarted_) common::closeHandle(&sweep_);
}

Namespace& Server::of(const std::string& name) {
  auto& slot = namespaces_[name];
  if (!slot) slot = std::make_unique<Namespace>(this, name);
  return *slot;
}

size_t Server::socketCount() const {
  size_t n = 0;
  for (const auto& [name, nsp] : namespaces_) n += nsp->socketCount();
  return n;
}

size_t Server::roomCount() const {
  size_t n = 0;
  for (const auto& [name, nsp] : namespaces_) n += nsp->roomCount();
  return n;
}

void Server::onOpen(engineio::Session& s) {
  auto* c = new Client{&s, uv_now(loop_)};
  s.userData = c;
  awaitingConnect_.insert(c);
}

void Server::onSweepCb(uv_timer_t* t) {
  auto* self = static_cast<Server*>(t->data);
  uint64_t now = uv_now(self->loop_);
  for (Client* c : self->awaitingConnect_) {
    if (now - c->openedAt >= self->connectTimeoutMs_) {
      ++self->counters_.connectTimeouts;
      c->session->closeSoon("connect timeout");  // deferred: we are iterating the set
    }
  }
}

void Server::onMessage(engineio::Session& s, bool binary, std::string_view data) {
  auto* c = static_cast<Client*>(s.userData);
  if (!c) return;
  if (c->mode == Client::Mode::Unknown) {
    bool looksLikeConnect = !binary && !data.empty() && data[0] == '0';
    c->mode = (rawEcho_ && !looksLikeConnect) ? Client::Mode::Raw : Client::Mode::SocketIO;
    if (c->mode == Client::Mode::Raw) awaitingConnect_.erase(c);
  }
  if (c->mode == Client::Mode::Raw) {
    s.send(engineio::messageFrame(data, binary));
    return;
  }
  Packet p;
  auto r = binary ? c->reassembler.addBinary(data, p) : c->reassembler.addText(data, p);
  if (r == Reassembler::Result::NeedMore) return;
  if (r == Reassembler::Result::Error) {
    ++counters_.invalidPackets;
    common::logDebug("invalid_socketio_packet", {{"sid", s.id()}});
    s.close("parse error");
    return;
  }
  ++counters_.packetsIn;
  handlePacket(*c, p);
}

void Server::handlePacket(Client& c, Packet& p) {
  if (p.type == PacketType::Connect) return connect(c, p);
  if (p.type == PacketType::ConnectError) {  // only servers send it
    ++counters_.invalidPackets;
    c.session->close("parse error");
    return;
  }
  // Every other packet needs a socket in its namespace; without one the client is out of step
  // with the server, and (as the reference server does) the session is closed.
  auto it = c.sockets.find(p.nsp);
  if (it == c.sockets.end()) {
    ++counters_.invalidPackets;
    common::logDebug("packet_for_unconnected_namespace", {{"sid", c.session->id()}, {"nsp", p.nsp}});
    c.session->close("invalid state");
    return;
  }
  switch (p.type) {
    case PacketType::Disconnect:
      removeSocket(c, p.nsp, "client namespace disconnect");
      return;
    case PacketType::Event:
    case PacketType::BinaryEvent: {
      Socket* socket = it->second;
      // A numeric event name (allowed by the protocol) reaches the handler as its decimal text.
      std::string event = p.data[0].is_string() ? p.data[0].get<std::string>() : p.data[0].dump();
      p.data.erase(p.data.begin());
      if (socket->nsp_->onEvent) socket->nsp_->onEvent(*socket, event, p.data, p.id);
      return;
    }
    case PacketType::Ack:
    case PacketType::BinaryAck:
      return;  // this server never asks clients for acks
    case PacketType::Connect:
    case PacketType::ConnectError:
      return;  // handled above
  }
}

void Server::connect(Client& c, Packet& p) {
  std::vector<std::string> none;
  auto nsIt = namespaces_.find(p.nsp);
  if (nsIt == namespaces_.end()) {
    ++counters_.connectErrors;
    Packet err;
    err.type = PacketType::ConnectError;
    err.nsp = p.nsp;
    err.data = json{{"message", "Invalid namespace"}};
    c.session->send(engineio::messageFrame(encode(err, none), false));
    return;
  }
  if (c.sockets.count(p.nsp)) {  // a second CONNECT to the same namespace: out of step
    ++counters_.invalidPackets;
    c.session->close("invalid state");
    return;
  }
  awaitingConnect_.erase(&c);
  Namespace& nsp = *nsIt->second;
  auto* socket = new Socket(&nsp, c.session, engineio::randomId(), p.hasData() ? p.data : json::object());
  c.sockets[p.nsp] = socket;
  nsp.sockets_.insert(socket);
  socket->join(socket->id());  // every socket is in a room named after its id
  Packet ok;
  ok.type = PacketType::Connect;
  ok.nsp = p.nsp;
  ok.data = json{{"sid", socket->id()}};
  c.session->send(engineio::messageFrame(encode(ok, none), false));
  // On WebSocket the ack leaves now, in a write of its own, before anything the handler emits
  // (those wait for the end of the loop turn, or --write-delay): a client that reads the ack and only
  // then starts listening for events must not get the first event in the same read.
  c.session->flush();
  if (nsp.onConnect) nsp.onConnect(*socket);
}

void Server::removeSocket(Client& c, const std::string& nspName, std::string_view reason) {
  auto it = c.sockets.find(nspName);
  if (it == c.sockets.end()) return;
  Socket* socket = it->second;
  c.sockets.erase(it);
  Namespace& nsp = *socket->nsp_;
  if (nsp.onDisconnect) nsp.onDisconnect(*socket, reason);
  std::vector<std::string> rooms(socket->rooms_.begin(), socket->rooms_.end());
  for (const auto& r : rooms) socket->leave(r);
  nsp.sockets_.erase(socket);
  delete socket;
}

void Server::onClose(engineio::Session& s, std::string_view reason) {
  auto* c = static_cast<Client*>(s.userData);
  if (!c) return;
  s.userData = nullptr;
  awaitingConnect_.erase(c);
  std::vector<std::string> names;
  for (const auto& [name, socket] : c->sockets) names.push_back(name);
  for (const auto& n : names) removeSocket(*c, n, reason);
  delete c;
}

}  // namespace backend::socketio
