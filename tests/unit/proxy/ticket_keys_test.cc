// Session ticket key rotation (proxy/tls/ticket_keys.h): which key seals new tickets and which
// keys still open old ones, at chosen times.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "proxy/tls/ticket_keys.h"

using namespace proxy::tls;

namespace {
bool same(const TicketKeys::Key& a, const TicketKeys::Key& b) { return std::memcmp(&a, &b, sizeof a) == 0; }
}  // namespace

TEST_CASE("process ticket keys: a ticket opens for one more rotation (renewed), not after two") {
  const uint64_t r = 7777;  // an interval no other test uses: the ring is process-wide
  auto ring = TicketKeys::process(r);
  CHECK(TicketKeys::process(r) == ring);  // one ring per interval, kept
  TicketKeys::Key k0, k1, k2, out;
  REQUIRE(ring->currentAt(k0, 10 * r + 5));
  REQUIRE(ring->currentAt(out, 11 * r - 1));
  CHECK(same(out, k0));  // same rotation: same key
  CHECK(ring->findAt(k0.name, out, 11 * r - 1) == 1);
  // The next rotation: a new key seals; the old one still opens, and asks for a renewal.
  REQUIRE(ring->currentAt(k1, 11 * r));
  CHECK_FALSE(same(k1, k0));
  CHECK(ring->findAt(k0.name, out, 11 * r + 10) == 2);
  CHECK(same(out, k0));
  CHECK(ring->findAt(k1.name, out, 11 * r + 10) == 1);
  // Two rotations after k0 was current: k0 is gone, k1 is the previous key.
  REQUIRE(ring->currentAt(k2, 12 * r));
  CHECK(ring->findAt(k0.name, out, 12 * r) == 0);
  CHECK(ring->findAt(k1.name, out, 12 * r) == 2);
  // Two rotations without any ticket work: only a new key remains.
  CHECK(ring->findAt(k2.name, out, 14 * r + 1) == 0);
  CHECK(ring->findAt(k1.name, out, 14 * r + 1) == 0);
}

TEST_CASE("ticket keys from a file: the first seals, every one opens, no rotation") {
  std::string bytes(160, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i);
  auto ring = TicketKeys::fixed(bytes);
  TicketKeys::Key cur, out;
  REQUIRE(ring->currentAt(cur, 1));
  CHECK(std::memcmp(cur.name, bytes.data(), 16) == 0);
  CHECK(std::memcmp(cur.hmac, bytes.data() + 16, 32) == 0);
  CHECK(std::memcmp(cur.aes, bytes.data() + 48, 32) == 0);
  REQUIRE(ring->currentAt(out, 1'000'000'000'000));
  CHECK(same(out, cur));
  CHECK(ring->findAt(reinterpret_cast<const unsigned char*>(bytes.data()), out, 5) == 1);
  CHECK(ring->findAt(reinterpret_cast<const unsigned char*>(bytes.data() + 80), out, 5) == 2);  // renewed under the first
  unsigned char unknown[16] = {0xff};
  CHECK(ring->findAt(unknown, out, 5) == 0);
}
