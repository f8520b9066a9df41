// Shared outgoing WebSocket frames; see out_frame.h.
#include "backend/http/out_frame.h"

#include <cassert>

namespace backend::http {

OutFrame::OutFrame(common::ws::Opcode opcode, std::string_view prefix, std::string_view payload)
    : opcode_(opcode) {
  uint8_t header[common::ws::kMaxHeaderSize];
  size_t h = common::ws::encodeHeader(header, opcode, prefix.size() + payload.size());
  assert(h <= common::ws::kMaxHeaderSize);
  headerSize_ = static_cast<uint8_t>(h);
  bytes_.reserve(h + prefix.size() + payload.size());
  bytes_.append(reinterpret_cast<const char*>(header), h);
  bytes_.append(prefix);
  bytes_.append(payload);
}

SharedFrame makeFrame(common::ws::Opcode opcode, std::string_view prefix, std::string_view payload) {
  return std::make_shared<const OutFrame>(opcode, prefix, payload);
}

}  // namespace backend::http
