// The edge's pure parts: the PROXY protocol parser, the per-client limiter's table, request ids,
// and the configuration keys that turn them on.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <set>
#include <string>

#include "common/uv_util.h"
#include "proxy/config/config_loader.h"
#include "proxy/edge/client_limiter.h"
#include "proxy/edge/proxy_protocol.h"
#include "proxy/edge/request_id.h"

using namespace proxy::edge;

namespace {

std::string sourceOf(const ProxyHeader& h) { return common::formatSockAddr(reinterpret_cast<const sockaddr*>(&h.source)); }

std::string v2(uint8_t ver_cmd, uint8_t fam, const std::string& body) {
  std::string s("\r\n\r\n\0\r\nQUIT\n", 12);
  s.push_back(static_cast<char>(ver_cmd));
  s.push_back(static_cast<char>(fam));
  s.push_back(static_cast<char>(body.size() >> 8));
  s.push_back(static_cast<char>(body.size() & 0xFF));
  return s + body;
}

std::string v2Tcp4(const char* src, uint16_t sport, const std::string& tlvs = "") {
  std::string body(12, '\0');
  inet_pton(AF_INET, src, body.data());
  inet_pton(AF_INET, "10.0.0.1", body.data() + 4);
  body[8] = static_cast<char>(sport >> 8);
  body[9] = static_cast<char>(sport & 0xFF);
  body[10] = 0x1F;
  body[11] = static_cast<char>(0x90);
  return v2(0x21, 0x11, body + tlvs);
}

ProxyParse parse(const std::string& s, ProxyHeader& h) { return parseProxyHeader(s.data(), s.size(), h); }

}  // namespace

TEST_CASE("PROXY v1: TCP4 and TCP6 give the source; the data after the line is not consumed") {
  ProxyHeader h;
  std::string line = "PROXY TCP4 203.0.113.7 10.0.0.1 51234 8080\r\n";
  REQUIRE(parse(line + "GET / HTTP/1.1\r\n", h) == ProxyParse::Done);
  CHECK(h.version == 1);
  CHECK(h.has_source);
  CHECK(h.length == line.size());
  CHECK(sourceOf(h) == "203.0.113.7:51234");
  REQUIRE(parse("PROXY TCP6 2001:db8::7 ::1 443 8443\r\n", h) == ProxyParse::Done);
  CHECK(sourceOf(h) == "[2001:db8::7]:443");
  REQUIRE(parse("PROXY UNKNOWN ffff::1 ::1 1 2\r\n", h) == ProxyParse::Done);
  CHECK_FALSE(h.has_source);
}

TEST_CASE("PROXY v1: every prefix of a valid line needs more, never errs") {
  std::string line = "PROXY TCP4 203.0.113.7 10.0.0.1 51234 8080\r\n";
  ProxyHeader h;
  for (size_t n = 0; n < line.size(); ++n) CHECK(parseProxyHeader(line.data(), n, h) == ProxyParse::NeedMore);
}

TEST_CASE("PROXY v1: malformed lines are errors with a reason") {
  ProxyHeader h;
  const char* why = nullptr;
  for (const char* bad : {"PROXY TCP4 203.0.113.7 10.0.0.1 51234\r\n", "PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",
                          "PROXY TCP6 203.0.113.7 ::1 1 2\r\n", "PROXY TCP4 203.0.113.7 10.0.0.1 65536 80\r\n",
                          "PROXY TCP4 203.0.113.07 10.0.0.1 1 2\r\n", "PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n",
                          "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\r\r", "PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n",
                          "GET / HTTP/1.1\r\n\r\n", "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n"}) {
    CAPTURE(bad);
    why = nullptr;
    CHECK(parseProxyHeader(bad, std::string(bad).size(), h, &why) == ProxyParse::Error);
    CHECK(why != nullptr);
  }
  // No CRLF within the spec's 107 bytes.
  std::string long_line = "PROXY TCP4 " + std::string(120, '1');
  CHECK(parse(long_line, h) == ProxyParse::Error);
  // A wrong first byte is an error at once, before the rest arrives.
  CHECK(parseProxyHeader("G", 1, h) == ProxyParse::Error);
}

TEST_CASE("PROXY v2: PROXY over IPv4 and IPv6 gives the source; TLVs are skipped; LOCAL keeps the peer") {
  ProxyHeader h;
  std::string hdr = v2Tcp4("198.51.100.9", 40000, std::string("\x04\x00\x02hi", 5));
  REQUIRE(parse(hdr + "\x16\x03\x01", h) == ProxyParse::Done);
  CHECK(h.version == 2);
  CHECK(h.length == hdr.size());
  CHECK(sourceOf(h) == "198.51.100.9:40000");

  std::string body6(36, '\0');
  inet_pton(AF_INET6, "2001:db8::42", body6.data());
  body6[32] = 0x01;
  body6[33] = 0x02;
  REQUIRE(parse(v2(0x21, 0x21, body6), h) == ProxyParse::Done);
  CHECK(sourceOf(h) == "[2001:db8::42]:258");

  REQUIRE(parse(v2(0x20, 0x00, ""), h) == ProxyParse::Done);  // LOCAL: a health check
  CHECK_FALSE(h.has_source);
  REQUIRE(parse(v2(0x21, 0x31, std::string(216, 'x')), h) == ProxyParse::Done);  // AF_UNIX
  CHECK_FALSE(h.has_source);

  for (size_t n = 0; n < hdr.size(); ++n) CHECK(parseProxyHeader(hdr.data(), n, h) == ProxyParse::NeedMore);
}

TEST_CASE("PROXY v2: bad version, command, family, truncated addresses and oversized headers are errors") {
  ProxyHeader h;
  CHECK(parse(v2(0x11, 0x11, std::string(12, '\0')), h) == ProxyParse::Error);  // version 1 in a v2 header
  CHECK(parse(v2(0x22, 0x11, std::string(12, '\0')), h) == ProxyParse::Error);  // command 2
  CHECK(parse(v2(0x21, 0x11, std::string(8, '\0')), h) == ProxyParse::Error);   // IPv4 needs 12 bytes
  CHECK(parse(v2(0x21, 0x21, std::string(20, '\0')), h) == ProxyParse::Error);  // IPv6 needs 36
  CHECK(parse(v2(0x21, 0x51, std::string(12, '\0')), h) == ProxyParse::Error);  // family 5
  CHECK(parse(v2(0x21, 0x13, std::string(12, '\0')), h) == ProxyParse::Error);  // transport 3
  std::string big = v2(0x21, 0x11, std::string(12, '\0')).substr(0, 16);
  big[14] = static_cast<char>(0xFF);  // announces 65280 bytes: refused before they arrive
  CHECK(parse(big, h) == ProxyParse::Error);
}

TEST_CASE("client limiter: connections are capped per address and released") {
  ClientLimiter lim(64);
  ClientKey a = clientKey("192.0.2.1"), b = clientKey("::ffff:192.0.2.1"), c = clientKey("2001:db8::1");
  int32_t s1 = lim.openConnection(a, 2, 0);
  int32_t s2 = lim.openConnection(b, 2, 0);  // the same client, IPv4-mapped
  CHECK(s1 >= 0);
  CHECK(s2 == s1);
  CHECK(lim.openConnection(a, 2, 0) == ClientLimiter::kRejected);
  CHECK(lim.openConnection(c, 2, 0) >= 0);  // another client is unaffected
  CHECK(lim.connections(a) == 2);
  lim.closeConnection(s1);
  CHECK(lim.connections(a) == 1);
  CHECK(lim.openConnection(a, 2, 0) >= 0);
  CHECK(lim.openConnection(clientKey("not an address"), 1, 0) == ClientLimiter::kUntracked);
  CHECK(lim.openConnection(a, 0, 0) == ClientLimiter::kUntracked);  // the limit is off
}

TEST_CASE("client limiter: the token bucket allows the burst, then the rate") {
  ClientLimiter lim(64);
  ClientKey a = clientKey("198.51.100.4");
  int allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += lim.allowRequest(a, 10, 20, 1000);
  CHECK(allowed == 20);
  CHECK_FALSE(lim.allowRequest(a, 10, 20, 1050));  // half a token
  CHECK(lim.allowRequest(a, 10, 20, 1100));         // one token after 100 ms at 10/s
  CHECK_FALSE(lim.allowRequest(a, 10, 20, 1100));
  CHECK_FALSE(lim.allowRequest(a, 10, 20, 1099));  // an earlier clock (another worker) never refills...
  allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += lim.allowRequest(a, 10, 20, 100'000);
  CHECK(allowed == 20);  // ...and a long pause refills to the burst, no more
  CHECK(lim.allowRequest(clientKey("198.51.100.5"), 10, 20, 100'000));
}

TEST_CASE("client limiter: the table stays bounded; idle clients are evicted, connected ones never") {
  ClientLimiter lim(64);  // 8 buckets of 8 ways
  std::set<int32_t> held;
  // 64 clients each holding a connection fill at most the table; later ones are untracked.
  int tracked = 0, untracked = 0;
  for (int i = 0; i < 1000; ++i) {
    int32_t s = lim.openConnection(clientKey("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250)), 1, 0);
    CHECK(s != ClientLimiter::kRejected);
    if (s >= 0) {
      ++tracked;
      held.insert(s);
    } else {
      ++untracked;
    }
  }
  CHECK(tracked == 64);
  CHECK(held.size() == 64);
  CHECK(untracked == 936);
  // Every slot still counts its first owner: none was evicted.
  for (int i = 0; i < 1000; ++i) {
    ClientKey k = clientKey("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250));
    CHECK(lim.connections(k) <= 1);
  }
  for (int32_t s : held) lim.closeConnection(s);
  // Now idle: new addresses take their ways.
  CHECK(lim.openConnection(clientKey("203.0.113.1"), 1, 1) >= 0);
}

TEST_CASE("request ids: sane client ids are kept, others replaced by 32 hex digits, unique") {
  CHECK(saneRequestId("0af7651916cd43dd8448eb211c80319c"));
  CHECK(saneRequestId("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"));
  CHECK(saneRequestId(std::string(128, 'a')));
  CHECK_FALSE(saneRequestId(std::string(129, 'a')));
  CHECK_FALSE(saneRequestId(""));
  CHECK_FALSE(saneRequestId("has space"));
  CHECK_FALSE(saneRequestId("tab\there"));
  CHECK_FALSE(saneRequestId("caf\xc3\xa9"));
  RequestIdGenerator g(42), same(42);
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    char id[kGeneratedIdBytes], again[kGeneratedIdBytes];
    g.next(id);
    same.next(again);
    std::string s(id, sizeof id);
    CHECK(s == std::string(again, sizeof again));
    CHECK(s.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(s);
  }
  CHECK(seen.size() == 10000);
  RequestIdGenerator a, b;  // kernel-seeded: two workers never share a sequence
  char x[kGeneratedIdBytes], y[kGeneratedIdBytes];
  a.next(x);
  b.next(y);
  CHECK(std::string(x, sizeof x) != std::string(y, sizeof y));
}

TEST_CASE("config: proxy_protocol, limits.per_client and request_id load and are checked") {
  using proxy::config::Config;
  Config c;
  auto r = proxy::config::loadConfigText(R"(
request_id: X-Request-Id
listeners:
  - address: 127.0.0.1:8080
    proxy_protocol: true
    trusted_proxies: [10.0.0.0/8]
upstreams:
  a: {servers: [127.0.0.1:8001]}
limits:
  per_client: {connections: 64, requests_per_second: 50, burst: 100}
)",
                                         "t.yaml", c);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(c.request_id == "X-Request-Id");
  CHECK(c.listeners[0].proxy_protocol);
  CHECK(c.limits.per_client.connections == 64);
  CHECK(c.limits.per_client.requests_per_second == 50);
  CHECK(c.limits.per_client.burst == 100);

  r = proxy::config::loadConfigText("listeners: [{address: 127.0.0.1:8080}]\nupstreams: {a: {servers: [127.0.0.1:8001]}}\n"
                                    "limits: {per_client: {requests_per_second: 7}}\n",
                                    "t.yaml", c);
  REQUIRE(r.ok);
  CHECK(c.limits.per_client.burst == 7);  // the burst defaults to the rate
  CHECK_FALSE(c.listeners[0].proxy_protocol);
  CHECK(c.request_id.empty());

  struct Bad {
    const char* yaml;
    const char* says;
  };
  for (Bad b : {Bad{"request_id: Content-Length\n", "tether writes that header itself"},
                Bad{"request_id: \"X Id\"\n", "is not a header name"},
                Bad{"limits: {per_client: {burst: 5}}\n", "burst needs requests_per_second"},
                Bad{"limits: {per_client: {connections: 0}}\n", "limits.per_client.connections"},
                Bad{"limits: {per_client: {rate: 5}}\n", "rate"}}) {
    std::string yaml = std::string("listeners: [{address: 127.0.0.1:8080}]\nupstreams: {a: {servers: [127.0.0.1:8001]}}\n") + b.yaml;
    r = proxy::config::loadConfigText(yaml, "t.yaml", c);
    CAPTURE(yaml);
    CHECK_FALSE(r.ok);
    CHECK(r.error.find(b.says) != std::string::npos);
    CHECK(r.error.rfind("t.yaml:", 0) == 0);
  }
}
