// Chat application: rooms, messages, typing; see chat_app.h.
#include "backend/chat/chat_app.h"

#include <chrono>

#include "backend/bus/bus_codec.h"
#include "common/ws_codec.h"

namespace backend::chat {

using socketio::json;

bool validRoomName(std::string_view room, size_t max) {
  if (room.empty() || room.size() > max || !common::ws::isValidUtf8(room)) return false;
  for (char c : room) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

namespace {
// A string argument (or an object's string field), empty optional otherwise.
const std::string* stringAt(const json& v) { return v.is_string() ? v.get_ptr<const std::string*>() : nullptr; }
const std::string* field(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : stringAt(*it);
}
int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

ChatApp::ChatApp(socketio::Server& io, std::string serverId, bus::FleetBus* bus, ChatLimits limits)
    : io_(io), serverId_(std::move(serverId)), limits_(limits), feed_(io_.of("/"), serverId_, bus) {
  if (bus) bus->setListener(&feed_);
  auto& nsp = io_.of("/");
  nsp.onConnect = [this](socketio::Socket& s) {
    const std::string* name = field(s.auth(), "name");
    if (name && !name->empty() && name->size() <= limits_.maxName && common::ws::isValidUtf8(*name)) {
      s.name = *name;
    } else {
      s.name = "anon-" + s.id().substr(0, 6);
    }
    feed_.attach(s);
    s.emit("hello", json::array({json{{"server", serverId_}}}));
  };
  nsp.onDisconnect = [this](socketio::Socket& s, std::string_view) { feed_.detach(s); };
  nsp.onEvent = [this](socketio::Socket& s, const std::string& event, json& args, int64_t ackId) {
    onEvent(s, event, args, ackId);
  };
}

void ChatApp::reject(socketio::Socket& s, int64_t ackId, std::string_view error) {
  ++counters_.rejected;
  s.ack(ackId, json::array({json{{"error", error}}}));
}

void ChatApp::onEvent(socketio::Socket& s, const std::string& event, json& args, int64_t ackId) {
  const json& a0 = args.empty() ? json() : args[0];
  if (event == "join") {
    // join(room) or join({room, since}): since (an integer >= 0) asks for a replay.
    const std::string* room = a0.is_object() ? field(a0, "room") : stringAt(a0);
    int64_t since = -1;
    if (a0.is_object() && a0.contains("since")) {
      const json& v = a0["since"];
      if (!v.is_number_integer() || v.get<int64_t>() < 0) return reject(s, ackId, "invalid since");
      since = v.get<int64_t>();
    }
    if (!room || !validRoomName(*room, limits_.maxRoomName) || *room == s.id()) return reject(s, ackId, "invalid room");
    if (s.rooms().size() > limits_.maxRoomsPerSocket && !s.rooms().count(*room)) {
      return reject(s, ackId, "too many rooms");
    }
    feed_.join(s, *room, since, ackId);
  } else if (event == "leave") {
    const std::string* room = stringAt(a0);
    if (!room || *room == s.id()) return reject(s, ackId, "invalid room");
    bool was = s.rooms().count(*room) != 0;
    feed_.leave(s, *room);
    s.ack(ackId, json::array({json{{"room", *room}, {"left", was}}}));
  } else if (event == "message") {
    const std::string* room = field(a0, "room");
    const std::string* text = field(a0, "text");
    const std::string* cid = field(a0, "cid");
    if (!room || !validRoomName(*room, limits_.maxRoomName)) return reject(s, ackId, "invalid room");
    if (!text || text->empty() || text->size() > limits_.maxText || !common::ws::isValidUtf8(*text)) {
      return reject(s, ackId, "invalid text");
    }
    if (a0.contains("cid") && (!cid || !bus::validCid(*cid))) return reject(s, ackId, "invalid cid");
    if (!s.rooms().count(*room) || *room == s.id()) return reject(s, ackId, "not in room");
    ++counters_.messagesIn;
    std::string id = serverId_ + "-" + std::to_string(++nextMessage_);
    json msg = {{"room", *room}, {"text", *text}, {"from", s.name}, {"server", serverId_}, {"id", id}, {"ts", nowMs()}};
    feed_.send(s, *room, std::move(msg), cid ? *cid : std::string(), ackId);
  } else if (event == "presence") {
    const std::string* room = stringAt(a0);
    if (!room || !validRoomName(*room, limits_.maxRoomName) || *room == s.id()) return reject(s, ackId, "invalid room");
    if (ackId < 0) return;
    feed_.presence(s, *room, ackId);
  } else if (event == "rooms") {
    json list = json::array();
    for (const auto& r : s.rooms()) {
      if (r != s.id()) list.push_back(r);
    }
    s.ack(ackId, json::array({list}));
  } else if (event == "typing") {
    const std::string* room = field(a0, "room");
    if (!room || !s.rooms().count(*room) || *room == s.id()) return;
    feed_.typing(s, *room);
  } else if (ackId >= 0) {
    reject(s, ackId, "unknown event");
  }
}

}  // namespace backend::chat
