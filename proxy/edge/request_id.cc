// Request ids: see request_id.h.
#include "proxy/edge/request_id.h"

#include <openssl/rand.h>

#include "common/hash.h"

namespace proxy::edge {

bool saneRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (char c : id)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7E) return false;
  return true;
}

RequestIdGenerator::RequestIdGenerator() {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s_), sizeof s_) != 1) {
    uint64_t x = reinterpret_cast<uintptr_t>(this);  // RAND_bytes cannot fail on Linux; stay unique anyway
    for (auto& w : s_) w = x = common::mix64(x);
  }
  if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // the one state xoshiro cannot leave
}

RequestIdGenerator::RequestIdGenerator(uint64_t seed) {
  for (auto& w : s_) w = seed = common::mix64(seed);
}

// xoshiro256** (Blackman and Vigna).
uint64_t RequestIdGenerator::step() {
  uint64_t result = ((s_[1] * 5) << 7 | (s_[1] * 5) >> 57) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = s_[3] << 45 | s_[3] >> 19;
  return result;
}

void RequestIdGenerator::next(char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int half = 0; half < 2; ++half) {
    uint64_t v = step();
    for (int i = 15; i >= 0; --i, v >>= 4) out[half * 16 + i] = kHex[v & 0xF];
  }
}

}  // namespace proxy::edge
