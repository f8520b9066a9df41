// Key extraction: cookies, query, path, header lists, trusted X-Forwarded-For, CIDRs.
#include <doctest/doctest.h>

#include "common/uv_util.h"
#include "proxy/config/cidr.h"
#include "proxy/lb/key_extractor.h"
#include "tests/unit/lb/lb_test_util.h"

using namespace lbtest;
using Kind = config::KeySource::Kind;

TEST_CASE("findCookie / findQuery / urlPath") {
  bool found = false;
  CHECK(lb::findCookie("a=1; tether_sid=abc; b=2", "tether_sid", found) == "abc");
  CHECK(found);
  CHECK(lb::findCookie("a=1;b=\"q\"", "b", found) == "q");
  lb::findCookie("xtether_sid=1", "tether_sid", found);
  CHECK_FALSE(found);
  CHECK(lb::findQuery("/socket.io/?EIO=4&transport=polling&sid=XYZ", "sid", found) == "XYZ");
  CHECK(found);
  lb::findQuery("/socket.io/?EIO=4&transport=polling", "sid", found);
  CHECK_FALSE(found);
  lb::findQuery("/a?flag", "flag", found);
  CHECK(found);
  CHECK(lb::urlPath("/a/b?c=d") == "/a/b");
}

TEST_CASE("extractKey: first present source wins; absent sources fall through") {
  std::vector<config::KeySource> src = {{Kind::Header, "x-user"}, {Kind::Cookie, "uid"}, {Kind::Query, "room"}};
  uint64_t k1 = 0, k2 = 0, k3 = 0;
  auto h1 = head("/x?room=7", {{"X-User", "alice"}, {"Cookie", "uid=bob"}});
  REQUIRE(lb::extractKey(src, h1, "1.2.3.4", 32, 128, k1));
  CHECK(k1 == lb::hashKeyValue("alice"));
  auto h2 = head("/x?room=7", {{"Cookie", "uid=bob"}});
  REQUIRE(lb::extractKey(src, h2, "1.2.3.4", 32, 128, k2));
  CHECK(k2 == lb::hashKeyValue("bob"));
  auto h3 = head("/x?room=7");
  REQUIRE(lb::extractKey(src, h3, "1.2.3.4", 32, 128, k3));
  CHECK(k3 == lb::hashKeyValue("7"));
  auto h4 = head("/x");
  uint64_t k4 = 0;
  CHECK_FALSE(lb::extractKey(src, h4, "1.2.3.4", 32, 128, k4));
  std::vector<config::KeySource> path = {{Kind::Path, ""}};
  REQUIRE(lb::extractKey(path, h1, "", 32, 128, k4));
  CHECK(k4 == lb::hashKeyValue("/x"));
  std::vector<config::KeySource> addr = {{Kind::RemoteAddr, ""}};
  REQUIRE(lb::extractKey(addr, h1, "1.2.3.4", 24, 128, k4));
  CHECK(k4 == lb::hashAddress("1.2.3.99", 24, 128));
}

TEST_CASE("CIDR parsing and matching") {
  config::Cidr c;
  CHECK(config::parseCidr("10.0.0.0/8", c));
  CHECK(config::parseCidr("::1", c));
  CHECK(c.prefix == 128);
  CHECK_FALSE(config::parseCidr("10.0.0.0/33", c));
  CHECK_FALSE(config::parseCidr("nope/8", c));
  std::vector<config::Cidr> list(2);
  config::parseCidr("10.0.0.0/8", list[0]);
  config::parseCidr("2001:db8::/32", list[1]);
  CHECK(config::cidrContains(list, "10.200.1.1"));
  CHECK_FALSE(config::cidrContains(list, "11.0.0.1"));
  CHECK(config::cidrContains(list, "::ffff:10.1.2.3"));
  CHECK(config::cidrContains(list, "2001:db8:1::5"));
}

TEST_CASE("clientAddress: right-most untrusted X-Forwarded-For entry, only from a trusted peer") {
  std::vector<config::Cidr> trusted(1);
  config::parseCidr("10.0.0.0/8", trusted[0]);
  auto h = head("/", {{"X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.0.0.9"}});
  CHECK(lb::clientAddress(h, "10.0.0.2", trusted) == "203.0.113.7");
  CHECK(lb::clientAddress(h, "198.51.100.1", trusted) == "198.51.100.1");  // untrusted peer: ignored
  CHECK(lb::clientAddress(h, "10.0.0.2", {}) == "10.0.0.2");
  auto two = head("/", {{"X-Forwarded-For", "203.0.113.8"}, {"X-Forwarded-For", "10.1.1.1"}});
  CHECK(lb::clientAddress(two, "10.0.0.2", trusted) == "203.0.113.8");
  auto none = head("/");
  CHECK(lb::clientAddress(none, "10.0.0.2", trusted) == "10.0.0.2");
  auto garbage = head("/", {{"X-Forwarded-For", "junk, 10.0.0.5"}});
  CHECK(lb::clientAddress(garbage, "10.0.0.2", trusted) == "10.0.0.5");
}

TEST_CASE("trustedProxiesFor: the accepting listener by local address, wildcard listeners included") {
  config::Config cfg;
  cfg.listeners.resize(2);
  std::string err;
  REQUIRE(common::parseSockAddr("127.0.0.1:8080", cfg.listeners[0].sockaddr, err));
  REQUIRE(common::parseSockAddr("0.0.0.0:9090", cfg.listeners[1].sockaddr, err));
  cfg.listeners[1].trusted_proxies.resize(1);
  config::parseCidr("10.0.0.0/8", cfg.listeners[1].trusted_proxies[0]);
  sockaddr_storage local;
  REQUIRE(common::parseSockAddr("127.0.0.1:8080", local, err));
  CHECK(lb::trustedProxiesFor(cfg, local) == nullptr);
  REQUIRE(common::parseSockAddr("192.168.1.5:9090", local, err));
  CHECK(lb::trustedProxiesFor(cfg, local) == &cfg.listeners[1].trusted_proxies);
}
