// Fleet bus keys and payloads; see bus_codec.h.
#include "backend/bus/bus_codec.h"

#include <charconv>

namespace backend::bus {
namespace {

std::string key(std::string_view kind, std::string_view rest) {
  std::string k;
  k.reserve(7 + kind.size() + rest.size());
  k.append("tether:").append(kind).append(rest);
  return k;
}

bool parseU64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string seqKey(std::string_view room) { return key("seq:", room); }
std::string historyKey(std::string_view room) { return key("hist:", room); }
std::string presenceKey(std::string_view room) { return key("presence:", room); }
std::string instanceKey(std::string_view serverId) { return key("instance:", serverId); }
std::string cidKey(std::string_view cid, std::string_view room) {
  // cid has no ':' (validCid), so "<cid>:<room>" is unambiguous whatever the room holds.
  std::string rest;
  rest.reserve(cid.size() + 1 + room.size());
  rest.append(cid).append(":").append(room);
  return key("cid:", rest);
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
