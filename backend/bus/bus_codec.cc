// Fleet bus keys and payloads; see bus_codec.h.
#include "backend/bus/bus_codec.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace backend::bus {
namespace {

// "tether:{<escaped room>}:" — the prefix every key of one room shares.
std::string roomPrefix(std::string_view room, size_t extra) {
  std::string k;
  k.reserve(12 + room.size() + extra);
  k.append("tether:{");
  for (char c : room) {
    switch (c) {
      case '%': k.append("%25"); break;
      case '{': k.append("%7B"); break;
      case '}': k.append("%7D"); break;
      default: k.push_back(c);
    }
  }
  k.append("}:");
  return k;
}

std::string roomKey(std::string_view room, std::string_view kind) {
  std::string k = roomPrefix(room, kind.size());
  k.append(kind);
  return k;
}

bool parseU64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string seqKey(std::string_view room) { return roomKey(room, "seq"); }
std::string historyKey(std::string_view room) { return roomKey(room, "hist"); }
std::string presenceKey(std::string_view room) { return roomKey(room, "presence"); }
std::string roomChannel(std::string_view room) { return roomKey(room, "ch"); }
std::string instanceKey(std::string_view serverId) { return std::string("tether:instance:").append(serverId); }
std::string cidKey(std::string_view cid, std::string_view room) {
  std::string k = roomPrefix(room, 4 + cid.size());
  k.append("cid:").append(cid);
  return k;
}

bool roomOfChannel(std::string_view channel, std::string& room) {
  constexpr std::string_view head = "tether:{", tail = "}:ch";
  if (channel.size() <= head.size() + tail.size() || channel.substr(0, head.size()) != head ||
      channel.substr(channel.size() - tail.size()) != tail) {
    return false;
  }
  std::string_view in = channel.substr(head.size(), channel.size() - head.size() - tail.size());
  room.clear();
  room.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '{' || c == '}') return false;  // never written unescaped
    if (c != '%') {
      room.push_back(c);
      continue;
    }
    std::string_view esc = in.substr(i, 3);
    if (esc == "%25") room.push_back('%');
    else if (esc == "%7B") room.push_back('{');
    else if (esc == "%7D") room.push_back('}');
    else return false;
    i += 2;
  }
  return true;
}

bool parseBusPayload(std::string_view p, BusPayload& out) {
  if (p.size() < 3 || p[1] != ' ') return false;
  if (p[0] == 't') {
    out.kind = BusPayload::Kind::Typing;
    out.seq = 0;
    out.json = p.substr(2);
    return true;
  }
  if (p[0] != 'm') return false;
  size_t sp = p.find(' ', 2);
  if (sp == std::string_view::npos) return false;
  if (!parseU64(p.substr(2, sp - 2), out.seq) || out.seq == 0) return false;
  out.kind = BusPayload::Kind::Message;
  out.json = p.substr(sp + 1);
  return !out.json.empty();
}

std::string encodeTyping(std::string_view json) {
  std::string out = "t ";
  out.append(json);
  return out;
}

namespace {

// SAX events of one message: a top-level object whose "room" (once, a string) is the room and
// that has no "seq" or "replay" key. No tree is built; nesting is tracked by depth only (the
// parser is iterative, so deep nesting costs no stack).
class MessageCheck : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit MessageCheck(std::string_view room) : room_(room) {}
  bool ok() const { return sawObject_ && (room_.empty() || roomMatches_); }

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t& s) override {
    if (depth_ == 1 && key_ == Key::Room) {
      roomMatches_ = s == room_;
      key_ = Key::Other;
      return true;
    }
    return value();
  }
  bool binary(binary_t&) override { return false; }
  bool start_object(std::size_t) override {
    if (depth_ == 0) {
      if (sawObject_) return false;
      sawObject_ = true;
    }
    return open();
  }
  bool key(string_t& k) override {
    if (depth_ != 1) return true;
    if (k == "seq" || k == "replay") return false;
    key_ = Key::Other;
    if (k == "room") {
      if (roomSeen_) return false;  // a duplicate: a client would take the last one
      roomSeen_ = true;
      key_ = Key::Room;
    }
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return depth_ > 0 && open(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  enum class Key : uint8_t { Other, Room };
  bool value() {
    if (depth_ == 0) return false;  // a scalar at the top level
    if (depth_ == 1 && key_ == Key::Room) return false;  // "room" that is not a string
    if (depth_ == 1) key_ = Key::Other;
    return true;
  }
  bool open() {
    if (depth_ == 1 && key_ == Key::Room) return false;  // "room" holding an object or array
    if (depth_ == 1) key_ = Key::Other;
    ++depth_;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }

  std::string_view room_;
  size_t depth_ = 0;
  Key key_ = Key::Other;
  bool sawObject_ = false;
  bool roomSeen_ = false;
  bool roomMatches_ = false;
};

}  // namespace

bool checkMessageJson(std::string_view json, std::string_view room) {
  MessageCheck check(room);
  return nlohmann::json::sax_parse(json.begin(), json.end(), &check, nlohmann::json::input_format_t::json, true) &&
         check.ok();
}

bool parseEntryId(std::string_view id, uint64_t& seq) {
  size_t dash = id.find('-');
  if (dash == std::string_view::npos || id.substr(dash + 1) != "0") return false;
  return parseU64(id.substr(0, dash), seq) && seq != 0;
}

bool validCid(std::string_view cid) {
  if (cid.empty() || cid.size() > 64) return false;
  for (char c : cid) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace backend::bus
