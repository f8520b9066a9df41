// chat-sink's answers: see sink_protocol.h.
#include "bench/chat/sink_protocol.h"

#include <cassert>

#include "bench/ws/ws_frame.h"
#include "common/ws_handshake.h"

namespace bench::chat {

const std::string_view kSinkBadRequest = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

std::string upgradeAnswer(std::string_view head, uint32_t id, uint64_t ping_interval_ms) {
  std::string_view key = common::ws::headerValue(head, "Sec-WebSocket-Key");
  if (head.substr(0, 15) != "GET /socket.io/" || head.find("transport=websocket") > head.find("\r\n") ||
      !common::ws::isValidClientKey(key))
    return {};
  std::string out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
                    common::ws::acceptKey(key) + "\r\n\r\n";
  appendTextFrame(out, "0{\"sid\":\"s" + std::to_string(id) + "\",\"upgrades\":[],\"pingInterval\":" +
                           std::to_string(ping_interval_ms) + ",\"pingTimeout\":20000,\"maxPayload\":1000000}");
  return out;
}

void appendTextFrame(std::string& out, std::string_view payload) {
  uint8_t h[ws::kMaxHeaderSize];
  out.append(reinterpret_cast<char*>(h), ws::writeFrameHeader(h, ws::kText, payload.size(), nullptr));
  out.append(payload);
}

void appendBroadcastFrame(std::string& out, std::string_view args) {
  constexpr std::string_view kPrefix = "42[\"message\",";
  size_t body = kPrefix.size() + args.size() + 1;
  size_t at = out.size();
  uint8_t h[ws::kMaxHeaderSize];
  size_t hl = ws::writeFrameHeader(h, ws::kText, body, nullptr);
  out.append(reinterpret_cast<char*>(h), hl);
  out += kPrefix;
  out += args;
  out += ']';
  assert(out.size() - at == hl + body);
  (void)at;
}

std::string joinAck(int64_t ack_id, std::string_view room, size_t members) {
  return "43" + std::to_string(ack_id) + "[{\"room\":\"" + std::string(room) + "\",\"members\":" + std::to_string(members) + "}]";
}

std::string messageAck(int64_t ack_id, uint64_t n) {
  return "43" + std::to_string(ack_id) + "[{\"id\":\"" + std::to_string(n) + "\"}]";
}

std::string errorAck(int64_t ack_id, std::string_view error) {
  return "43" + std::to_string(ack_id) + "[{\"error\":\"" + std::string(error) + "\"}]";
}

}  // namespace bench::chat
