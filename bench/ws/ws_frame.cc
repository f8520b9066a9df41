// Frame header helpers: see ws_frame.h.
#include "bench/ws/ws_frame.h"

#include <cstring>

namespace bench::ws {

bool parseFrameHeader(const uint8_t* p, size_t n, FrameHeader& h) {
  if (n < 2) return false;
  h.fin = (p[0] & 0x80) != 0;
  h.opcode = p[0] & 0x0F;
  h.masked = (p[1] & 0x80) != 0;
  uint64_t len = p[1] & 0x7F;
  size_t pos = 2;
  if (len == 126) {
    if (n < 4) return false;
    len = (uint64_t{p[2]} << 8) | p[3];
    pos = 4;
  } else if (len == 127) {
    if (n < 10) return false;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    pos = 10;
  }
  if (h.masked) {
    if (n < pos + 4) return false;
    std::memcpy(h.mask, p + pos, 4);
    pos += 4;
  }
  h.length = len;
  h.header_size = pos;
  return true;
}

size_t writeFrameHeader(uint8_t* out, uint8_t opcode, uint64_t length, const uint8_t* mask, bool fin) {
  out[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | (opcode & 0x0F));
  uint8_t m = mask ? 0x80 : 0;
  size_t pos;
  if (length < 126) {
    out[1] = static_cast<uint8_t>(m | length);
    pos = 2;
  } else if (length <= 0xFFFF) {
    out[1] = m | 126;
    out[2] = static_cast<uint8_t>(length >> 8);
    out[3] = static_cast<uint8_t>(length);
    pos = 4;
  } else {
    out[1] = m | 127;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(length >> (56 - 8 * i));
    pos = 10;
  }
  if (mask) {
    std::memcpy(out + pos, mask, 4);
    pos += 4;
  }
  return pos;
}

void applyMask(uint8_t* data, size_t n, const uint8_t mask[4], uint64_t offset) {
  for (size_t i = 0; i < n; ++i) data[i] ^= mask[(offset + i) & 3];
}

}  // namespace bench::ws
