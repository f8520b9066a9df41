// Minimal RFC 6455 frame header encoding/decoding for the load generator and the echo backend.
//
// Deliberately small and bench-only: no UTF-8 validation, no extensions (no permessage-deflate),
// no reserved-bit or control-frame-size checks. The proxy never parses frames (a tunnel is raw
// bytes); the real, fully checked codec is common/ws_codec (separate work) and this file may be
// replaced by it later. Pure functions, no I/O.
//
// Frame layout (RFC 6455 5.2): byte 0 = FIN | RSV | opcode; byte 1 = MASK | len7; then a 16-bit
// (len7 == 126) or 64-bit (len7 == 127) length, then a 4-byte masking key when MASK is set.
// Example: a masked 64-byte binary frame from a client starts 0x82 0xC0 k0 k1 k2 k3 (6 bytes).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bench::ws {

enum Opcode : uint8_t { kContinuation = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9, kPong = 0xA };

struct FrameHeader {
  bool fin = true;
  uint8_t opcode = kBinary;
  bool masked = false;
  uint8_t mask[4] = {0, 0, 0, 0};
  uint64_t length = 0;      // payload bytes
  size_t header_size = 0;   // bytes before the payload
};

constexpr size_t kMaxHeaderSize = 14;

// Parses a header at `p` (`n` bytes available). Returns false when more bytes are needed.
bool parseFrameHeader(const uint8_t* p, size_t n, FrameHeader& h);

// Writes a header into `out` (kMaxHeaderSize bytes) and returns its size. `mask` may be null
// (server frames are never masked; client frames always are).
size_t writeFrameHeader(uint8_t* out, uint8_t opcode, uint64_t length, const uint8_t* mask, bool fin = true);

// XORs `n` bytes with the masking key, starting at payload offset `offset` (for split payloads).
void applyMask(uint8_t* data, size_t n, const uint8_t mask[4], uint64_t offset = 0);

}  // namespace bench::ws
