// Minimal RFC 6455 framing for the benchmark tools (pure functions, no I/O): a client writes
// masked frames, a server unmasked ones; both parse what the other side sends. Only what the
// load generator and the echo backend need: single-frame binary/text messages, close and ping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace bench::ws {

// Writes a frame header for a payload of `len` bytes into `out` (≤ 14 bytes); returns its size.
// With `mask` set, the 4 mask bytes follow the length and the caller must mask the payload.
inline size_t writeHeader(uint8_t opcode, uint64_t len, const uint8_t* mask, uint8_t* out) {
  size_t n = 0;
  out[n++] = static_cast<uint8_t>(0x80 | opcode);
  uint8_t m = mask ? 0x80 : 0;
  if (len < 126) {
    out[n++] = static_cast<uint8_t>(m | len);
  } else if (len <= 0xffff) {
    out[n++] = m | 126;
    out[n++] = static_cast<uint8_t>(len >> 8);
    out[n++] = static_cast<uint8_t>(len);
  } else {
    out[n++] = m | 127;
    for (int i = 7; i >= 0; --i) out[n++] = static_cast<uint8_t>(len >> (8 * i));
  }
  if (mask) {
    std::memcpy(out + n, mask, 4);
    n += 4;
  }
  return n;
}

inline void applyMask(uint8_t* data, size_t len, const uint8_t* mask, size_t offset = 0) {
  for (size_t i = 0; i < len; ++i) data[i] ^= mask[(i + offset) & 3];
}

struct Frame {
  uint8_t opcode;
  bool masked;
  uint8_t mask[4];
  size_t header_len;
  uint64_t payload_len;
};

// Parses a frame header at `data`; returns false if more bytes are needed.
inline bool parseHeader(const uint8_t* data, size_t len, Frame& f) {
  if (len < 2) return false;
  f.opcode = data[0] & 0x0f;
  f.masked = data[1] & 0x80;
  uint64_t plen = data[1] & 0x7f;
  size_t n = 2;
  if (plen == 126) {
    if (len < 4) return false;
    plen = (uint64_t{data[2]} << 8) | data[3];
    n = 4;
  } else if (plen == 127) {
    if (len < 10) return false;
    plen = 0;
    for (int i = 0; i < 8; ++i) plen = (plen << 8) | data[2 + i];
    n = 10;
  }
  if (f.masked) {
    if (len < n + 4) return false;
    std::memcpy(f.mask, data + n, 4);
    n += 4;
  }
  f.header_len = n;
  f.payload_len = plen;
  return true;
}

}  // namespace bench::ws
