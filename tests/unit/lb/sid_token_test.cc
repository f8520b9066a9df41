// Sid tokens (lb/affinity/sid_token.h) and the policy that uses them: a sealed sid opens to the
// backend's sid and the server that issued it; a tampered or foreign token is ignored; a tether
// that never saw the sid (another replica, a restart) pins from the token and forwards the
// backend's own sid; the handshake body is rewritten whole, however it is split.
#include <doctest/doctest.h>

#include "proxy/http/rewrite.h"
#include "proxy/lb/affinity/policy.h"
#include "proxy/lb/affinity/sid_token.h"
#include "tests/unit/lb/lb_test_util.h"

using namespace lbtest;

TEST_CASE("sid token: seal and open round-trip; tampering, other keys and junk do not verify") {
  lb::SidTokenKey key = lb::sidTokenKey("chat", "");
  std::string sealed;
  lb::sealSid(key, "lv_VI97HAXpY6yYWAAAC", 0x0123456789abcdefull, sealed);
  CHECK(sealed.size() == 20 + lb::kSidTokenSuffix);
  CHECK(sealed.rfind("lv_VI97HAXpY6yYWAAAC.", 0) == 0);
  for (char c : sealed) CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'));

  std::string_view sid;
  uint64_t id = 0;
  REQUIRE(lb::openSid(key, sealed, sid, id) == lb::SidSeal::Valid);
  CHECK(sid == "lv_VI97HAXpY6yYWAAAC");
  CHECK(id == 0x0123456789abcdefull);

  // Every single-character change of the token or the sid is caught.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < sealed.size(); ++i) {
    if (sealed[i] == '.') continue;
    std::string t = sealed;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    CAPTURE(t);
    CHECK(lb::openSid(key, t, sid, id) != lb::SidSeal::Valid);
  }
  CHECK(lb::openSid(lb::sidTokenKey("chat", "other secret"), sealed, sid, id) == lb::SidSeal::Forged);
  CHECK(lb::openSid(lb::sidTokenKey("other-upstream", ""), sealed, sid, id) == lb::SidSeal::Forged);

  // Plain sids, including ones with dots, pass through as they are.
  for (std::string_view plain : {"lv_VI97HAXpY6yYWAAAC", "", "a.b", "x.AAAAAAAAAAAAAAAAAA", "x.AAAAAAAAAAAAAAAAAAA!"}) {
    CAPTURE(plain);
    CHECK(lb::openSid(key, plain, sid, id) != lb::SidSeal::Valid);
    CHECK(sid == plain);
  }
}

TEST_CASE("Content-Length of a written response head can be set") {
  std::string head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 97\r\nX-A: b\r\n\r\n";
  REQUIRE(proxy::http::setContentLength(head, 117));
  CHECK(head == "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 117\r\nX-A: b\r\n\r\n");
  std::string none = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK_FALSE(proxy::http::setContentLength(none, 5));
}

namespace {

struct Replica {
  config::UpstreamConfig cfg;
  std::vector<lb::ServerSpec> specs;
  std::unique_ptr<lb::AffinityPolicy> pol;
  Replica(const char* upstream, std::vector<std::string> names, std::string secret = "") {
    cfg.name = upstream;
    cfg.affinity = {config::AffinityLayer::Sid};
    cfg.sid_secret = std::move(secret);
    Fleet f;
    f.names = std::move(names);
    specs = f.specs();
    pol = std::make_unique<lb::AffinityPolicy>(cfg, specs);
  }
};

const char* kOpen = R"(0{"sid":"%s","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})";

std::string openPacket(const std::string& sid) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), kOpen, sid.c_str());
  return buf;
}

}  // namespace

TEST_CASE("policy with sid tokens: another replica pins from the token and forwards the backend's sid") {
  // The session opens through replica A: server srv-1 answers the handshake.
  Replica a("token-replicas", {"srv-0", "srv-1", "srv-2"});
  lb::AffinityRequest req;
  a.pol->prepare(head("/socket.io/?EIO=4&transport=polling&t=1"), "127.0.0.1", 1000, req);
  { std::string h = "HTTP/1.1 200 OK\r\n\r\n"; a.pol->responseHead(req, 200, 1, false, h); }
  REQUIRE(req.sealing);
  std::string out;
  std::string body = openPacket("tok-backend-sid-0001");
  // Split across reads: nothing goes out until the packet is complete.
  CHECK_FALSE(a.pol->sid()->sealOpenPacket(req, std::string_view(body).substr(0, 15), false, 1, 1000, out));
  REQUIRE(a.pol->sid()->sealOpenPacket(req, std::string_view(body).substr(15), false, 1, 1000, out));
  CHECK_FALSE(req.sealing);
  lb::OpenPacket p;
  REQUIRE(lb::parseOpenPacket(out, p));
  std::string client_sid(p.sid);
  CHECK(client_sid.rfind("tok-backend-sid-0001.", 0) == 0);
  CHECK(out.size() == body.size() + lb::kSidTokenSuffix);
  CHECK(out.substr(out.find("\"upgrades\"")) == body.substr(body.find("\"upgrades\"")));

  // Replica A itself: pins from its table, forwards the backend's sid.
  a.pol->prepare(head("/socket.io/?EIO=4&transport=polling&sid=" + client_sid + "&t=2"), "127.0.0.1", 1100, req);
  CHECK(req.pins[0] == 1);
  CHECK(req.upstream_url == "/socket.io/?EIO=4&transport=polling&sid=tok-backend-sid-0001&t=2");

  // Replica B (same config, servers listed in another order, never saw the sid).
  Replica b("token-replicas", {"srv-2", "srv-1", "srv-0"});
  lb::SidTable::global().forget(lb::SidTable::keyOf(common::hash64(std::string_view("token-replicas"), 0x736964ull), "tok-backend-sid-0001"));
  b.pol->prepare(head("/socket.io/?EIO=4&transport=websocket&sid=" + client_sid), "127.0.0.1", 1200, req);
  CHECK(req.pins[0] == 1);  // srv-1
  CHECK_FALSE(req.unknown_pin);
  CHECK(req.upstream_url == "/socket.io/?EIO=4&transport=websocket&sid=tok-backend-sid-0001");

  // A replica whose fleet lost srv-1: the token names a gone server, the strategy re-pins.
  Replica c("token-replicas", {"srv-0", "srv-2"});
  lb::SidTable::global().forget(lb::SidTable::keyOf(common::hash64(std::string_view("token-replicas"), 0x736964ull), "tok-backend-sid-0001"));
  c.pol->prepare(head("/socket.io/?EIO=4&transport=polling&sid=" + client_sid), "127.0.0.1", 1300, req);
  CHECK(req.pins[0] == -1);
  CHECK(req.unknown_pin);
  CHECK(req.upstream_url == "/socket.io/?EIO=4&transport=polling&sid=tok-backend-sid-0001");

  // Another secret: the token is forged as far as this replica knows; forwarded untouched.
  Replica d("token-replicas", {"srv-0", "srv-1", "srv-2"}, "another secret");
  d.pol->prepare(head("/socket.io/?EIO=4&transport=polling&sid=" + client_sid), "127.0.0.1", 1400, req);
  CHECK(req.pins[0] == -1);
  CHECK(req.unknown_pin);
  CHECK(req.upstream_url.empty());
}

TEST_CASE("policy with sid tokens: a body that is not an open packet goes out unchanged") {
  Replica a("token-garbage", {"srv-0", "srv-1"});
  lb::AffinityRequest req;
  std::string out;
  a.pol->prepare(head("/socket.io/?EIO=4&transport=polling"), "127.0.0.1", 1000, req);
  { std::string h = "HTTP/1.1 200 OK\r\n\r\n"; a.pol->responseHead(req, 200, 1, false, h); }
  CHECK_FALSE(a.pol->sid()->sealOpenPacket(req, "hello", false, 0, 1000, out));
  REQUIRE(a.pol->sid()->sealOpenPacket(req, " world", true, 0, 1000, out));  // the body ended
  CHECK(out == "hello world");

  std::string big(600, 'x');
  a.pol->prepare(head("/socket.io/?EIO=4&transport=polling"), "127.0.0.1", 1000, req);
  { std::string h = "HTTP/1.1 200 OK\r\n\r\n"; a.pol->responseHead(req, 200, 1, false, h); }
  REQUIRE(a.pol->sid()->sealOpenPacket(req, big, false, 0, 1000, out));  // 512 bytes without a sid: give up
  CHECK(out == big);

  // sid_token: false keeps the backend's sid visible to clients (no sealing).
  Replica off("token-off", {"srv-0"});
  off.cfg.sid_token = false;
  lb::AffinityPolicy plain(off.cfg, off.specs);
  plain.prepare(head("/socket.io/?EIO=4&transport=polling"), "127.0.0.1", 1000, req);
  { std::string h = "HTTP/1.1 200 OK\r\n\r\n"; plain.responseHead(req, 200, 0, false, h); }
  CHECK(req.capturing);
  CHECK_FALSE(req.sealing);
}
