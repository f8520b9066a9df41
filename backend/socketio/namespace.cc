// Sockets, rooms and broadcasts; see namespace.h.
#include "backend/socketio/namespace.h"

#include "backend/socketio/server.h"

namespace backend::socketio {

bool Socket::sendPacket(Packet& p, bool isVolatile) {
  std::vector<std::string> attachments;
  auto r = session_->send(engineio::messageFrame(encode(p, attachments), false), isVolatile && attachments.empty());
  if (r != engineio::SendResult::Queued) return false;
  ++nsp_->server_->counters().packetsOut;
  for (auto& a : attachments) session_->send(engineio::messageFrame(a, true));
  return true;
}

bool Socket::sendEncoded(std::string_view text) {
  if (session_->send(engineio::messageFrame(text, false)) != engineio::SendResult::Queued) return false;
  ++nsp_->server_->counters().packetsOut;
  return true;
}

bool Socket::emit(std::string_view event, const json& args, bool isVolatile) {
  Packet p;
  p.type = PacketType::Event;
  p.nsp = nsp_->name_;
  p.data = json::array();
  p.data.push_back(std::string(event));
  if (args.is_array()) {
    for (const auto& a : args) p.data.push_back(a);
  }
  return sendPacket(p, isVolatile);
}

void Socket::ack(int64_t id, const json& args) {
  if (id < 0) return;
  Packet p;
  p.type = PacketType::Ack;
  p.nsp = nsp_->name_;
  p.id = id;
  p.data = args.is_array() ? args : json::array({args});
  sendPacket(p, false);
}

void Socket::join(const std::string& room) {
  if (rooms_.insert(room).second) nsp_->rooms_[room].insert(this);
}

void Socket::leave(const std::string& room) {
  if (rooms_.erase(room) == 0) return;
  auto it = nsp_->rooms_.find(room);
  if (it == nsp_->rooms_.end()) return;
  it->second.erase(this);
  if (it->second.empty()) nsp_->rooms_.erase(it);
}

size_t Namespace::emitToRoom(const std::string& room, std::string_view event, const json& args,
                             const Socket* except, bool isVolatile) {
  std::vector<http::SharedFrame> bins;
  auto encodeOnce = [&]() {
    std::vector<std::string> attachments;
    auto text = engineio::messageFrame(encodeEvent(name_, event, args, attachments), false);
    for (auto& a : attachments) bins.push_back(engineio::messageFrame(a, true));
    return text;
  };
  return sendTo(room, encodeOnce, bins, isVolatile, [except](Socket& s) { return &s != except; });
}

size_t Namespace::emitEncodedToRoomIf(const std::string& room, std::string_view text,
                                      const std::function<bool(Socket&)>& pick) {
  std::vector<http::SharedFrame> none;
  return sendTo(room, [text]() { return engineio::messageFrame(text, false); }, none, false, pick);
}

// One frame for the whole room, built on the first recipient (nobody picked: nothing built);
// every recipient's session queues a reference to it.
template <typename Encode, typename Pick>
size_t Namespace::sendTo(const std::string& room, const Encode& encodeOnce, const std::vector<http::SharedFrame>& bins,
                         bool isVolatile, const Pick& pick) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return 0;
  http::SharedFrame frame;
  size_t delivered = 0;
  for (Socket* s : it->second) {
    if (!pick(*s)) continue;
    if (!frame) frame = encodeOnce();
    auto r = s->session_->send(frame, isVolatile && bins.empty());
    if (r != engineio::SendResult::Queued) continue;
    for (const auto& b : bins) s->session_->send(b);
    ++delivered;
  }
  server_->counters().packetsOut += delivered;
  return delivered;
}

const std::unordered_set<Socket*>* Namespace::members(const std::string& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? nullptr : &it->second;
}

size_t Namespace::roomSize(const std::string& room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? 0 : it->second.size();
}

}  // namespace backend::socketio
