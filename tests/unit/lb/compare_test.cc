// Affinity change preview (tether -t --compare-with).
#include <doctest/doctest.h>

#include "proxy/config/config_loader.h"
#include "proxy/lb/compare.h"

using namespace proxy;

namespace {
std::string yaml(const std::string& strategy, int servers, const std::string& extra = "") {
  std::string s = "listeners:\n  - address: 127.0.0.1:8080\nupstreams:\n  app:\n    strategy: " + strategy + "\n" + extra +
                  "    servers:\n";
  for (int i = 0; i < servers; ++i) s += "      - {address: 127.0.0.1:" + std::to_string(9000 + i) + ", name: s" + std::to_string(i) + "}\n";
  return s;
}
config::Config load(const std::string& text) {
  config::Config c;
  auto r = config::loadConfigText(text, "test.yaml", c);
  REQUIRE_MESSAGE(r.ok, r.error);
  return c;
}
}  // namespace

TEST_CASE("compare: removing one of 10 consistent_hash servers moves ~1/10 of keys") {
  auto before = load(yaml("consistent_hash", 10, "    hash_key: [header:x-user]\n"));
  auto after = load(yaml("consistent_hash", 9, "    hash_key: [header:x-user]\n"));
  auto d = lb::compareConfigs(before, after, {});
  REQUIRE(d.size() == 1);
  REQUIRE(d[0].compared);
  CHECK(d[0].movedShare() > 0.08);
  CHECK(d[0].movedShare() < 0.11);
  CHECK(d[0].spread_before < 1.06);
  CHECK(lb::formatComparison(d).find("of 200000 keys move") != std::string::npos);
}

TEST_CASE("compare: identical configs move nothing; ipv4_prefix change moves keys; cookie moves only removed") {
  auto a = load(yaml("ip_hash", 4));
  CHECK(lb::compareConfigs(a, a, {})[0].moved == 0);
  auto b = load(yaml("ip_hash", 4, "    ip_hash: {ipv4_prefix: 24}\n"));
  CHECK(lb::compareConfigs(a, b, {})[0].movedShare() > 0.5);
  auto c1 = load(yaml("cookie", 4));
  auto c2 = load(yaml("cookie", 5));
  auto c3 = load(yaml("cookie", 3));
  CHECK(lb::compareConfigs(c1, c2, {})[0].moved == 0);  // adding: cookies keep their servers
  double removed = lb::compareConfigs(c1, c3, {})[0].movedShare();
  CHECK(removed == doctest::Approx(0.25).epsilon(0.05));
  auto rr = load(yaml("round_robin", 4));
  CHECK_FALSE(lb::compareConfigs(rr, rr, {})[0].compared);
}

TEST_CASE("compare: keys from a list") {
  auto a = load(yaml("consistent_hash", 3, "    hash_key: cookie:uid\n"));
  lb::CompareOptions o;
  o.keys = {"alice", "bob", "carol"};
  auto d = lb::compareConfigs(a, a, o);
  CHECK(d[0].keys == 3);
  CHECK(d[0].moved == 0);
}
