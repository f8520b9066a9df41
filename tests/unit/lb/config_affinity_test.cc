// Balancing and affinity config keys: strategy names, hash_key, balance_factor, ip_hash, cookie, affinity,
// trusted_proxies, and their errors with FILE:LINE:COL.
#include <doctest/doctest.h>

#include "proxy/config/config_loader.h"

using namespace proxy;

namespace {
config::LoadResult loadText(const std::string& upstream_extra, config::Config& c, const std::string& listener_extra = "") {
  std::string s = "listeners:\n  - address: 127.0.0.1:8080\n" + listener_extra + "upstreams:\n  app:\n" + upstream_extra +
                  "    servers: [127.0.0.1:9000, 127.0.0.1:9001]\n";
  return config::loadConfigText(s, "t.yaml", c);
}
}  // namespace

TEST_CASE("config: affinity keys parse") {
  config::Config c;
  auto r = loadText("    strategy: consistent_hash\n    hash_key: [header:X-User, cookie:uid, query:room, path, remote_addr]\n"
                    "    balance_factor: 1.25\n    ip_hash: {ipv4_prefix: 24}\n    affinity: [sid, cookie]\n"
                    "    cookie: {name: route, max_age: 1h, path: /app, secure: auto, same_site: Strict}\n",
                    c, "    trusted_proxies: [10.0.0.0/8, '::1']\n");
  REQUIRE_MESSAGE(r.ok, r.error);
  const auto& u = c.upstreams[0];
  CHECK(u.hash_key.size() == 5);
  CHECK(u.hash_key[0].name == "x-user");
  CHECK(u.hash_key[3].kind == config::KeySource::Kind::Path);
  CHECK(u.balance_factor == doctest::Approx(1.25));
  CHECK(u.ipv4_prefix == 24);
  CHECK(u.affinity.size() == 2);
  CHECK(u.cookie.name == "route");
  CHECK(u.cookie.max_age == 3600);
  CHECK(u.cookie.same_site == "Strict");
  CHECK(c.listeners[0].trusted_proxies.size() == 2);
}

TEST_CASE("config: strategy cookie = cookie layer + fallback strategy") {
  config::Config c;
  auto r = loadText("    strategy: cookie\n    cookie: {fallback: consistent_hash}\n", c);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(c.upstreams[0].strategy == "consistent_hash");
  REQUIRE(c.upstreams[0].affinity.size() == 1);
  CHECK(c.upstreams[0].affinity[0] == config::AffinityLayer::Cookie);
  config::Config e;
  auto re = loadText("    strategy: cookie\n    hash_key: header:x-user\n    balance_factor: 1.5\n"
                     "    cookie: {fallback: consistent_hash}\n", e);
  REQUIRE_MESSAGE(re.ok, re.error);  // hash keys apply to the fallback
  CHECK(e.upstreams[0].hash_key.size() == 1);
  config::Config d;
  REQUIRE(loadText("    strategy: cookie\n", d).ok);
  CHECK(d.upstreams[0].strategy == "least_conn");
}

TEST_CASE("config: affinity errors carry FILE:LINE:COL") {
  config::Config c;
  auto r = loadText("    strategy: consistent_hash\n    hash_key: bogus\n", c);
  CHECK_FALSE(r.ok);
  CHECK(r.error.rfind("t.yaml:6:15: hash_key must be", 0) == 0);
  CHECK_FALSE(loadText("    strategy: consistent_hash\n    balance_factor: 0.9\n", c).ok);
  auto bf = loadText("    strategy: round_robin\n    balance_factor: 1.5\n", c);
  CHECK_FALSE(bf.ok);
  CHECK(bf.error.find("balance_factor needs a strategy with bounded loads: consistent_hash") != std::string::npos);
  auto hk = loadText("    strategy: ip_hash\n    hash_key: header:x-user\n", c);
  CHECK_FALSE(hk.ok);
  CHECK(hk.error.find("hash_key needs a strategy that hashes it: consistent_hash") != std::string::npos);
  CHECK_FALSE(loadText("    affinity: [sid, sid]\n", c).ok);
  CHECK_FALSE(loadText("    affinity: [ip]\n", c).ok);
  CHECK_FALSE(loadText("    ip_hash: {ipv4_prefix: 40}\n", c).ok);
  CHECK_FALSE(loadText("    cookie: {nam: x}\n", c).ok);
  CHECK_FALSE(loadText("    strategy: sticky\n", c).ok);
  auto t = loadText("", c, "    trusted_proxies: [10.0.0.0/99]\n");
  CHECK_FALSE(t.ok);
  CHECK(t.error.find("t.yaml:3:23:") == 0);
}
