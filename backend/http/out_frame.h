// A WebSocket frame built once and shared by every connection that sends it. Pure, no I/O.
//
// Server frames are unmasked (RFC 6455 5.1), so the bytes of a broadcast are the same for every
// WebSocket recipient: the header and the payload are written once into one immutable buffer
// and each recipient queues a reference (SharedFrame), never a copy. Long-polling recipients
// take payload() (the Engine.IO packet: type digit and data, or the raw bytes of a binary
// message) into their HTTP batch. Example: makeFrame(Opcode::Text, "4", "2[\"hi\"]") holds
//   81 08 '4' '2' '[' '"' 'h' 'i' '"' ']'   headerSize() 2, payload() "42[\"hi\"]"
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/ws_codec.h"

namespace backend::http {

class OutFrame {
 public:
  OutFrame(common::ws::Opcode opcode, std::string_view prefix, std::string_view payload);
  common::ws::Opcode opcode() const { return opcode_; }
  // The whole frame as it goes on the wire.
  std::string_view wire() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  size_t headerSize() const { return headerSize_; }
  // The frame's payload: `prefix` then `payload` as given to the constructor.
  std::string_view payload() const { return std::string_view(bytes_).substr(headerSize_); }

 private:
  std::string bytes_;
  uint8_t headerSize_;
  common::ws::Opcode opcode_;
};

using SharedFrame = std::shared_ptr<const OutFrame>;

// One unfragmented frame: `prefix` (a few bytes, e.g. the Engine.IO type digit) then `payload`.
SharedFrame makeFrame(common::ws::Opcode opcode, std::string_view prefix, std::string_view payload);

}  // namespace backend::http
