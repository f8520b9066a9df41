// Engine.IO / Socket.IO packet helpers for the chat load generator: see sio_packets.h.
#include "bench/chat/sio_packets.h"

#include <cassert>
#include <cstring>

namespace bench::chat {
namespace {

// Reads decimal digits at `pos`; false when there are none or more than 19.
bool readNumber(std::string_view s, size_t& pos, uint64_t& value) {
  size_t start = pos;
  uint64_t v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 19) v = v * 10 + static_cast<uint64_t>(s[pos++] - '0');
  value = v;
  return pos > start && (pos == s.size() || s[pos] < '0' || s[pos] > '9');
}

void appendNumber(std::string& out, uint64_t v) {
  char buf[24];
  size_t n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) out.push_back(buf[--n]);
}

// The JSON string starting at `pos` (at its opening quote), without escapes; empty on failure.
std::string_view plainString(std::string_view s, size_t pos) {
  if (pos >= s.size() || s[pos] != '"') return {};
  size_t end = s.find('"', pos + 1);
  if (end == std::string_view::npos) return {};
  std::string_view v = s.substr(pos + 1, end - pos - 1);
  return v.find('\\') == std::string_view::npos ? v : std::string_view{};
}

constexpr std::string_view kMessageEvent = "[\"message\",";
constexpr std::string_view kJoinEvent = "[\"join\",";

}  // namespace

bool parseStamp(std::string_view text, uint64_t& stamp_ns, uint64_t& sender) {
  const void* tilde = std::memchr(text.data(), '~', text.size());
  if (!tilde) return false;
  size_t pos = static_cast<size_t>(static_cast<const char*>(tilde) - text.data()) + 1;
  if (!readNumber(text, pos, stamp_ns) || pos >= text.size() || text[pos] != '~') return false;
  ++pos;
  return readNumber(text, pos, sender) && pos < text.size() && text[pos] == '~';
}

Packet classify(std::string_view text, Parsed& out) {
  if (text.empty()) return Packet::Unknown;
  switch (text[0]) {
    case '0': return Packet::Open;
    case '1': return Packet::Close;
    case '2': return Packet::Ping;
    case '3': return Packet::Pong;
    case '4': break;
    default: return Packet::Unknown;
  }
  if (text.size() < 2) return Packet::Unknown;
  switch (text[1]) {
    case '0': return Packet::Connected;
    case '1': return Packet::Disconnect;
    case '4': return Packet::ConnectError;
    case '3': {
      size_t pos = 2;
      uint64_t id = 0;
      if (!readNumber(text, pos, id)) return Packet::Unknown;
      out.ack_id = static_cast<int64_t>(id);
      return Packet::Ack;
    }
    case '2': {
      std::string_view rest = text.substr(2);
      if (rest.substr(0, kMessageEvent.size()) == kMessageEvent &&
          parseStamp(rest.substr(kMessageEvent.size()), out.stamp_ns, out.sender))
        return Packet::Message;
      return Packet::OtherEvent;
    }
    default: return Packet::Unknown;
  }
}

size_t appendMessage(std::string& out, std::string_view room, uint64_t stamp_ns, uint64_t sender, size_t size,
                     int64_t ack_id) {
  assert(size >= kMinTextSize);
  size_t start = out.size();
  out += "42";
  if (ack_id >= 0) appendNumber(out, static_cast<uint64_t>(ack_id));
  out += "[\"message\",{\"room\":\"";
  out += room;
  out += "\",\"text\":\"~";
  size_t text_start = out.size() - 1;
  appendNumber(out, stamp_ns);
  out.push_back('~');
  appendNumber(out, sender);
  out.push_back('~');
  out.append(size - (out.size() - text_start), 'x');
  out += "\"}]";
  return out.size() - start;
}

void appendJoin(std::string& out, std::string_view room, int64_t ack_id) {
  out += "42";
  if (ack_id >= 0) appendNumber(out, static_cast<uint64_t>(ack_id));
  out += "[\"join\",\"";
  out += room;
  out += "\"]";
}

bool parseClientEvent(std::string_view text, ClientEvent& out) {
  out = ClientEvent{};
  if (text.size() < 4 || text[0] != '4' || text[1] != '2') return false;
  size_t pos = 2;
  uint64_t id = 0;
  if (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    if (!readNumber(text, pos, id)) return false;
    out.ack_id = static_cast<int64_t>(id);
  }
  std::string_view rest = text.substr(pos);
  if (rest.empty() || rest.back() != ']') return false;
  if (rest.substr(0, kJoinEvent.size()) == kJoinEvent) {
    out.room = plainString(rest, kJoinEvent.size());
    if (out.room.empty() || kJoinEvent.size() + out.room.size() + 3 != rest.size()) return false;
    out.kind = ClientEvent::Kind::Join;
    return true;
  }
  if (rest.substr(0, kMessageEvent.size()) == kMessageEvent) {
    out.args = rest.substr(kMessageEvent.size(), rest.size() - kMessageEvent.size() - 1);
    constexpr std::string_view kRoomKey = "{\"room\":";
    if (out.args.substr(0, kRoomKey.size()) != kRoomKey || out.args.back() != '}') return false;
    out.room = plainString(out.args, kRoomKey.size());
    if (out.room.empty()) return false;
    out.kind = ClientEvent::Kind::Message;
    return true;
  }
  out.kind = ClientEvent::Kind::Other;
  return true;
}

}  // namespace bench::chat
