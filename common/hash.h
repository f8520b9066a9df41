// The one hash function of the project: XXH3-64 (libxxhash), seeded.
//
// Every key-to-server decision (ip_hash, consistent hashing, cookie ids) goes through here so
// that two tether processes with the same config agree on every key: XXH3 output is specified
// and identical across machines and versions.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string_view>

namespace common {

inline uint64_t hash64(std::string_view bytes, uint64_t seed = 0) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

inline uint64_t hash64(const void* data, size_t len, uint64_t seed = 0) {
  return XXH3_64bits_withSeed(data, len, seed);
}

// Mixes an integer into a well-spread 64-bit value (splitmix64 finaliser).
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace common
