// Socket.IO packet codec; see packet.h.
#include "backend/socketio/packet.h"

namespace backend::socketio {
namespace {

constexpr size_t kMaxAttachments = 64;
// JSON nested deeper is refused before parsing: the attachment walk below and encoding recurse
// once per level, so a message of a few hundred KB of '[' would overflow the stack.
constexpr size_t kMaxDepth = 64;

// False when brackets outside strings nest deeper than kMaxDepth (malformed JSON is left to
// the parser).
bool withinDepth(std::string_view text) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

// Replaces binary values by {"_placeholder":true,"num":n}; collects the bytes.
json deconstruct(const json& v, std::vector<std::string>& out) {
  if (v.is_binary()) {
    const auto& bin = v.get_binary();
    out.emplace_back(bin.begin(), bin.end());
    return json{{"_placeholder", true}, {"num", out.size() - 1}};
  }
  if (v.is_array()) {
    json a = json::array();
    for (const auto& e : v) a.push_back(deconstruct(e, out));
    return a;
  }
  if (v.is_object()) {
    json o = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) o[it.key()] = deconstruct(it.value(), out);
    return o;
  }
  return v;
}

bool hasBinary(const json& v) {
  if (v.is_binary()) return true;
  if (v.is_array() || v.is_object()) {
    for (const auto& e : v) {
      if (hasBinary(e)) return true;
    }
  }
  return false;
}

// Puts attachments back in place of placeholders; false on a bad placeholder.
bool reconstruct(json& v, std::vector<std::string>& bufs) {
  if (v.is_object()) {
    auto ph = v.find("_placeholder");
    if (ph != v.end() && ph->is_boolean() && ph->get<bool>()) {
      auto num = v.find("num");
      if (num == v.end() || !num->is_number_unsigned() || num->get<uint64_t>() >= bufs.size()) return false;
      const std::string& b = bufs[num->get<size_t>()];
      v = json::binary(std::vector<uint8_t>(b.begin(), b.end()));
      return true;
    }
  }
  if (v.is_array() || v.is_object()) {
    for (auto& e : v) {
      if (!reconstruct(e, bufs)) return false;
    }
  }
  return true;
}

// Event names the reference server keeps for itself (socket.io-parser's RESERVED_EVENTS).
bool reservedEventName(const json& name) {
  if (!name.is_string()) return false;
  const auto& n = name.get_ref<const std::string&>();
  return n == "connect" || n == "connect_error" || n == "disconnect" || n == "disconnecting" ||
         n == "newListener" || n == "removeListener";
}

bool validPayload(const Packet& p) {
  const json& d = p.data;
  switch (p.type) {
    case PacketType::Connect: return !p.hasData() || d.is_object();
    case PacketType::Disconnect: return !p.hasData();
    case PacketType::ConnectError: return p.hasData() && (d.is_object() || d.is_string());
    case PacketType::Event:
    case PacketType::BinaryEvent:  // the event name: a string that is not reserved, or a number
      return p.hasData() && d.is_array() && !d.empty() && (d[0].is_string() || d[0].is_number()) &&
             !reservedEventName(d[0]);
    case PacketType::Ack:
    case PacketType::BinaryAck: return p.hasData() && d.is_array() && p.id >= 0;
  }
  return false;
}

}  // namespace

std::string encode(const Packet& p, std::vector<std::string>& attachments) {
  PacketType type = p.type;
  json body;
  bool binary = p.hasData() && hasBinary(p.data);
  size_t first = attachments.size();
  if (binary) {
    body = deconstruct(p.data, attachments);
    if (type == PacketType::Event) type = PacketType::BinaryEvent;
    if (type == PacketType::Ack) type = PacketType::BinaryAck;
  }
  std::string out(1, static_cast<char>('0' + static_cast<int>(type)));
  if (type == PacketType::BinaryEvent || type == PacketType::BinaryAck) {
    out.append(std::to_string(attachments.size() - first)).push_back('-');
  }
  if (!p.nsp.empty() && p.nsp != "/") out.append(p.nsp).push_back(',');
  if (p.id >= 0) out.append(std::to_string(p.id));
  if (p.hasData()) {
    // Replace, not throw, on invalid UTF-8 coming from binary-safe sources.
    out.append((binary ? body : p.data).dump(-1, ' ', false, json::error_handler_t::replace));
  }
  return out;
}

std::string encodeEvent(std::string_view nsp, std::string_view event, const json& args,
                        std::vector<std::string>& attachments) {
  Packet p;
  p.nsp = std::string(nsp);
  p.data = json::array();
  p.data.push_back(std::string(event));
  if (args.is_array()) {
    for (const auto& a : args) p.data.push_back(a);
  }
  return encode(p, attachments);
}

bool decode(std::string_view text, Packet& out) {
  out = Packet{};
  out.data = json(json::value_t::discarded);
  if (text.empty() || text[0] < '0' || text[0] > '6') return false;
  out.type = static_cast<PacketType>(text[0] - '0');
  size_t i = 1;
  if (out.type == PacketType::BinaryEvent || out.type == PacketType::BinaryAck) {
    size_t start = i, n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) n = n * 10 + size_t(text[i++] - '0');
    if (i == start || i >= text.size() || text[i] != '-' || n == 0 || n > kMaxAttachments) return false;
    out.attachments = n;
    ++i;
  }
  if (i < text.size() && text[i] == '/') {
    size_t comma = text.find(',', i);
    if (comma == std::string_view::npos) {
      out.nsp.assign(text.substr(i));  // "1/admin" is valid: namespace with nothing after
      i = text.size();
    } else {
      out.nsp.assign(text.substr(i, comma - i));
      i = comma + 1;
    }
  }
  size_t idStart = i;
  int64_t id = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (i - idStart >= 15) return false;
    id = id * 10 + (text[i++] - '0');
  }
  if (i > idStart) out.id = id;
  if (i < text.size()) {
    if (!withinDepth(text.substr(i))) return false;
    out.data = json::parse(text.substr(i), nullptr, false);
    if (out.data.is_discarded()) return false;
  }
  return validPayload(out);
}

Reassembler::Result Reassembler::addText(std::string_view text, Packet& out) {
  if (waiting()) return Result::Error;  // a text packet while attachments are due
  if (!decode(text, pending_)) return Result::Error;
  if (pending_.attachments == 0) {
    out = std::move(pending_);
    pending_ = Packet{};
    return Result::Complete;
  }
  buffers_.clear();
  return Result::NeedMore;
}

Reassembler::Result Reassembler::addBinary(std::string_view bytes, Packet& out) {
  if (!waiting()) return Result::Error;
  buffers_.emplace_back(bytes);
  if (buffers_.size() < pending_.attachments) return Result::NeedMore;
  if (!reconstruct(pending_.data, buffers_)) return Result::Error;
  pending_.attachments = 0;
  out = std::move(pending_);
  pending_ = Packet{};
  buffers_.clear();
  return Result::Complete;
}

}  // namespace backend::socketio
