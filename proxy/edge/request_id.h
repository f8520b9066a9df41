// Request ids (`request_id: HEADER`): keep the client's id when it is a sane token, otherwise
// make one. Pure apart from the generator's seed.
//
// A client's id is kept when it is 1..128 visible ASCII bytes (0x21..0x7E): enough for every id
// format in use (UUIDs, W3C trace ids, ULIDs) and nothing that could split a log line or a
// header. A new id is 128 random bits as 32 lower-case hex digits, from a per-worker
// xoshiro256** seeded by the kernel: ids must be unique, not secret, and the generator must cost
// nothing next to the request (two 64-bit steps, no lock, no syscall).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace proxy::edge {

constexpr size_t kMaxRequestIdBytes = 128;
constexpr size_t kGeneratedIdBytes = 32;

bool saneRequestId(std::string_view id);

class RequestIdGenerator {
 public:
  RequestIdGenerator();                      // seeded from the kernel (RAND_bytes)
  explicit RequestIdGenerator(uint64_t seed);  // deterministic, for tests
  // Writes kGeneratedIdBytes hex digits to `out`.
  void next(char* out);

 private:
  uint64_t step();
  uint64_t s_[4];
};

}  // namespace proxy::edge
