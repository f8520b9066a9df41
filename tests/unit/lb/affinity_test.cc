// Affinity layers: cookie ids and Set-Cookie, the open-packet parser, the sid table, the policy.
#include <doctest/doctest.h>

#include <thread>

#include "proxy/lb/affinity/cookie.h"
#include "proxy/lb/affinity/policy.h"
#include "proxy/lb/affinity/sid.h"
#include "proxy/lb/pick.h"
#include "tests/unit/lb/lb_test_util.h"

using namespace lbtest;

TEST_CASE("cookie: opaque, stable ids derived from upstream and server names") {
  Fleet f = fleet(3);
  auto specs = f.specs();
  config::CookieConfig cc;
  lb::CookieAffinity a("app", specs, cc), b("app", specs, cc), other("chat", specs, cc);
  CHECK(a.id(1) == b.id(1));
  CHECK(a.id(1) != other.id(1));
  CHECK(a.id(0) != a.id(1));
  CHECK(a.id(0).size() == 16);
  CHECK(a.id(0).find("srv") == std::string_view::npos);
  CHECK(a.id(2) == lb::CookieAffinity::serverId("app", "srv-2"));
  CHECK(a.serverFor("x=1; tether_sid=" + std::string(a.id(2))) == 2);
  CHECK(a.serverFor("tether_sid=0000000000000000") == -1);
  CHECK(a.serverFor("other=1") == -1);
  // Reordered servers: same id names the same server.
  Fleet r = f;
  std::swap(r.names[0], r.names[2]);
  auto rs = r.specs();
  lb::CookieAffinity re("app", rs, cc);
  CHECK(re.serverFor("tether_sid=" + std::string(a.id(2))) == 0);
}

TEST_CASE("cookie: Set-Cookie attributes") {
  Fleet f = fleet(1);
  auto specs = f.specs();
  config::CookieConfig cc;
  cc.max_age = 3600;
  lb::CookieAffinity a("app", specs, cc);
  std::string out;
  a.appendSetCookie(0, false, out);
  CHECK(out == "Set-Cookie: tether_sid=" + std::string(a.id(0)) + "; Path=/; Max-Age=3600; SameSite=Lax; HttpOnly\r\n");
  out.clear();
  a.appendSetCookie(0, true, out);  // secure: auto on TLS
  CHECK(out.find("; Secure") != std::string::npos);
}

TEST_CASE("sid: open packet parsing (v4 and v3 framing, split, garbage)") {
  lb::OpenPacket p;
  REQUIRE(lb::parseOpenPacket(R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000})", p));
  CHECK(p.sid == "lv_VI97HAXpY6yYWAAAC");
  CHECK(p.ping_interval_ms == 25000);
  CHECK(p.ping_timeout_ms == 20000);
  REQUIRE(lb::parseOpenPacket(R"(97:0{"sid":"abc","upgrades":[]})", p));
  CHECK(p.sid == "abc");
  CHECK_FALSE(lb::parseOpenPacket(R"(0{"sid":"ab)", p));
  CHECK_FALSE(lb::parseOpenPacket("hello world", p));
  CHECK_FALSE(lb::parseOpenPacket(R"(4hello {"sid":"x"})", p));
}

TEST_CASE("sid table: learn, find across threads, expiry and refresh") {
  auto& t = lb::SidTable::global();
  uint64_t k = lb::SidTable::keyOf(1, "s-1");
  t.learn(k, 33, 1000, 10'000);
  uint64_t seen = 0;
  std::thread other([&] { seen = t.find(k, 10'500); });  // another worker
  other.join();
  CHECK(seen == 33);
  CHECK(t.find(lb::SidTable::keyOf(2, "s-1"), 10'500) == 0);  // other upstream
  CHECK(t.find(k, 11'400) == 33);    // refreshed at 10'500 -> lives to 11'500, now to 12'400
  CHECK(t.find(k, 12'300) == 33);
  CHECK(t.find(k, 20'000) == 0);     // expired
  t.learn(k, 11, 1000, 30'000);
  t.forget(k);
  CHECK(t.find(k, 30'001) == 0);
}

namespace {
// The response head the policy sees: what the layers add to a minimal 200/400 head.
std::string respond(const lb::AffinityPolicy& pol, lb::AffinityRequest& req, unsigned status, uint32_t server) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n\r\n";
  pol.responseHead(req, status, server, false, head);
  return head;
}
}  // namespace

TEST_CASE("policy: sid then cookie pins, exclusion falls through to the strategy, sid capture") {
  Fleet f = fleet(3);
  config::UpstreamConfig cfg;
  cfg.name = "policy-test";
  cfg.strategy = "round_robin";
  cfg.affinity = {config::AffinityLayer::Sid, config::AffinityLayer::Cookie};
  auto specs = f.specs();
  lb::AffinityPolicy pol(cfg, specs);
  auto sel = lb::findStrategy("round_robin")->build(specs, cfg);
  lb::PickState st;

  // Handshake: no pin, learns the sid from the 200 body (split over two reads).
  lb::AffinityRequest req;
  pol.prepare(head("/socket.io/?EIO=4&transport=polling&t=1"), "127.0.0.1", 1000, req);
  CHECK(req.learn_sid);
  CHECK(req.pins[0] == -1);
  std::string h = respond(pol, req, 200, 1);
  CHECK(h.find("\r\nSet-Cookie: tether_sid=" + lb::CookieAffinity::serverId("policy-test", "srv-1")) != std::string::npos);
  CHECK(h.size() > 4);
  CHECK(h.compare(h.size() - 4, 4, "\r\n\r\n") == 0);
  REQUIRE(pol.sid());
  CHECK(req.capturing);
  pol.sid()->captureSid(req, R"(0{"sid":"abcdefgh)", 1, 1000);
  pol.sid()->captureSid(req, R"(ijk","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000})", 1, 1000);
  CHECK_FALSE(req.capturing);

  // Later requests with ?sid= go to server 1, even over a cookie naming server 2.
  std::string cookie = "tether_sid=" + lb::CookieAffinity::serverId("policy-test", "srv-2");
  pol.prepare(head("/socket.io/?EIO=4&transport=websocket&sid=abcdefghijk", {{"Cookie", cookie}}), "127.0.0.1", 2000, req);
  CHECK_FALSE(req.learn_sid);
  CHECK(req.pins[0] == 1);
  CHECK(req.pins[1] == 2);
  lb::ServerMask tried, scratch;
  lb::PickInputs in;
  in.affinity = &req;
  in.tried = &tried;
  CHECK(lb::choose(in, *sel, st, scratch).server == 1);
  tried.set(1);
  CHECK(lb::choose(in, *sel, st, scratch).server == 2);  // sid's server failed: the cookie's
  tried.set(2);
  lb::Choice c = lb::choose(in, *sel, st, scratch);
  CHECK(c.server == 0);  // both failed: the strategy
  CHECK(c.pin == lb::PinOutcome::Repinned);
  CHECK(respond(pol, req, 200, 0).find("Set-Cookie") != std::string::npos);  // moved: the cookie follows
  CHECK(respond(pol, req, 200, 2).find("Set-Cookie") == std::string::npos);  // the cookie's own server

  // The backend forgot the session ("Session ID unknown"): the entry goes.
  respond(pol, req, 400, 1);
  pol.prepare(head("/socket.io/?EIO=4&transport=polling&sid=abcdefghijk"), "127.0.0.1", 3000, req);
  CHECK(req.pins[0] == -1);
  CHECK(req.unknown_pin);  // counted as an affinity miss
}

TEST_CASE("policy: a sid pin names its server by identity, so a reordering reload keeps it") {
  config::UpstreamConfig cfg;
  cfg.name = "reorder-test";
  cfg.affinity = {config::AffinityLayer::Sid};
  Fleet before = fleet(3);  // srv-0 srv-1 srv-2
  auto specs = before.specs();
  lb::AffinityPolicy old_policy(cfg, specs);
  lb::AffinityRequest req;
  old_policy.prepare(head("/socket.io/?EIO=4&transport=polling"), "127.0.0.1", 1000, req);
  respond(old_policy, req, 200, 1);
  old_policy.sid()->captureSid(req, R"(0{"sid":"reorder-sid","pingInterval":25000,"pingTimeout":20000})", 1, 1000);  // srv-1

  // Reload: srv-2, a new srv-3, srv-1; srv-0 removed.
  Fleet after = before;
  after.names = {"srv-2", "srv-3", "srv-1"};
  auto specs2 = after.specs();
  lb::AffinityPolicy new_policy(cfg, specs2);
  new_policy.prepare(head("/socket.io/?EIO=4&transport=polling&sid=reorder-sid"), "127.0.0.1", 2000, req);
  CHECK(req.pins[0] == 2);  // still srv-1, now at position 2
  CHECK_FALSE(req.unknown_pin);

  // Its server removed: the pin is unknown, the strategy re-pins (one miss, no error).
  after.names = {"srv-2", "srv-3"};
  auto specs3 = after.specs();
  lb::AffinityPolicy smaller(cfg, specs3);
  smaller.prepare(head("/socket.io/?EIO=4&transport=polling&sid=reorder-sid"), "127.0.0.1", 3000, req);
  CHECK(req.pins[0] == -1);
  CHECK(req.unknown_pin);
}
