// Engine.IO packet codec; see packet.h.
#include "backend/engineio/packet.h"

#include "common/base64.h"

namespace backend::engineio {

bool decodeTextPacket(std::string_view text, Packet& out) {
  if (text.empty() || text[0] < '0' || text[0] > '6') return false;
  out.type = static_cast<PacketType>(text[0] - '0');
  out.binary = false;
  out.data.assign(text.substr(1));
  return true;
}

bool decodePayload(std::string_view payload, std::vector<Packet>& out) {
  if (payload.empty()) return false;
  while (true) {
    size_t sep = payload.find(kRecordSeparator);
    std::string_view item = payload.substr(0, sep);
    Packet p;
    if (!item.empty() && item[0] == 'b') {
      auto bytes = common::base64Decode(item.substr(1));
      if (!bytes) return false;
      p.type = PacketType::Message;
      p.binary = true;
      p.data = std::move(*bytes);
    } else if (!decodeTextPacket(item, p)) {
      return false;
    }
    out.push_back(std::move(p));
    if (sep == std::string_view::npos) return true;
    payload.remove_prefix(sep + 1);
  }
}

void appendToPayload(std::string& out, PacketType type, bool binary, std::string_view data) {
  if (!out.empty()) out.push_back(kRecordSeparator);
  if (binary) {
    out.push_back('b');
    out.append(common::base64Encode(data));
    return;
  }
  out.push_back(static_cast<char>('0' + static_cast<int>(type)));
  out.append(data);
}

}  // namespace backend::engineio
