// ip_hash: address keys with prefixes, IPv6, minimal remapping.
#include <doctest/doctest.h>

#include "proxy/lb/key_extractor.h"
#include "tests/unit/lb/lb_test_util.h"

using namespace lbtest;

namespace {
int pickAddr(const lb::Selector& sel, std::string_view ip, uint32_t v4 = 32) {
  lb::PickState st;
  lb::PickContext ctx;
  ctx.key = lb::hashAddress(ip, v4, 128);
  ctx.has_key = true;
  return sel.pick(ctx, st);
}
}  // namespace

TEST_CASE("ip_hash: ipv4_prefix 24 groups a /24 like nginx; default hashes the whole address") {
  CHECK(lb::hashAddress("192.0.2.1", 24, 128) == lb::hashAddress("192.0.2.200", 24, 128));
  CHECK(lb::hashAddress("192.0.2.1", 24, 128) != lb::hashAddress("192.0.3.1", 24, 128));
  CHECK(lb::hashAddress("192.0.2.1", 32, 128) != lb::hashAddress("192.0.2.200", 32, 128));
  CHECK(lb::hashAddress("2001:db8::1", 32, 64) == lb::hashAddress("2001:db8::2", 32, 64));
  CHECK(lb::hashAddress("2001:db8::1", 32, 128) != lb::hashAddress("2001:db8::2", 32, 128));
  CHECK(lb::hashAddress("[2001:db8::1]", 32, 128) == lb::hashAddress("2001:db8::1", 32, 128));
  CHECK(lb::hashAddress("::ffff:192.0.2.1", 24, 128) == lb::hashAddress("192.0.2.9", 24, 128));  // dual stack
}

TEST_CASE("ip_hash: same address, same server; spread over many addresses; removal moves only its clients") {
  Fleet f = fleet(5);
  auto sel = build("ip_hash", f);
  CHECK(pickAddr(*sel, "10.1.2.3") == pickAddr(*sel, "10.1.2.3"));
  CHECK(pickAddr(*sel, "::1") >= 0);
  std::vector<int> count(5, 0);
  std::vector<int> before;
  for (int i = 0; i < 50'000; ++i) {
    std::string ip = "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256);
    int s = pickAddr(*sel, ip);
    ++count[static_cast<size_t>(s)];
    before.push_back(s);
  }
  for (int c : count) CHECK(c > 50'000 / 5 * 0.9);
  Fleet g = f;
  g.names.erase(g.names.begin() + 3);
  auto sel2 = build("ip_hash", g);
  for (int i = 0; i < 50'000; ++i) {
    std::string ip = "10." + std::to_string(i / 65536 % 256) + "." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256);
    std::string now = g.names[static_cast<size_t>(pickAddr(*sel2, ip))];
    if (before[static_cast<size_t>(i)] != 3) REQUIRE(now == f.names[static_cast<size_t>(before[static_cast<size_t>(i)])]);
  }
}
