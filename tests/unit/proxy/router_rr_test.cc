// Routing and smooth weighted round-robin.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "proxy/config/config_loader.h"
#include "proxy/lb/registry.h"
#include "proxy/route/router.h"

using namespace proxy;

TEST_CASE("routes match in order by host pattern and path prefix") {
  config::Config c;
  auto r = config::loadConfigText(R"(
listeners: [{address: 127.0.0.1:8080}]
upstreams:
  api: {servers: [127.0.0.1:1]}
  web: {servers: [127.0.0.1:2]}
  any: {servers: [127.0.0.1:3]}
routes:
  - {host: chat.example.com, path_prefix: /api/, upstream: api}
  - {host: "*.example.com", upstream: web}
  - {host: "*", path_prefix: /public/, upstream: any}
)",
                                  "t", c);
  REQUIRE_MESSAGE(r.ok, r.error);
  route::Router router(c);
  CHECK(router.match("chat.example.com", "/api/v1") == 0);
  CHECK(router.match("Chat.Example.com:443", "/api/v1") == 0);
  CHECK(router.match("chat.example.com", "/index.html") == 1);
  CHECK(router.match("example.com", "/index.html") == -1);  // *.example.com excludes the apex
  CHECK(router.match("other.org", "/public/x") == 2);
  CHECK(router.match("", "/nothing") == -1);
}

TEST_CASE("smooth weighted round-robin: nginx's sequence, exact shares, exclusions walk on") {
  config::UpstreamConfig cfg;
  lb::ServerSpec servers[] = {{"a", 5, false}, {"b", 1, false}, {"c", 1, false}};
  auto sel = lb::findStrategy("round_robin")->build(std::span<const lb::ServerSpec>(servers), cfg);
  lb::PickState st;
  lb::PickContext pc;
  std::string seq;
  for (int i = 0; i < 7; ++i) seq += "abc"[sel->pick(pc, st)];
  CHECK(seq == "aabacaa");  // nginx's documented order for weights 5,1,1

  lb::ServerMask ex;
  ex.set(0);
  pc.excluded = &ex;
  std::map<int, int> counts;
  for (int i = 0; i < 100; ++i) counts[sel->pick(pc, st)]++;
  CHECK(counts[0] == 0);
  CHECK(counts[1] == 50);
  CHECK(counts[2] == 50);
  ex.set(1);
  ex.set(2);
  CHECK(sel->pick(pc, st) == -1);
}

TEST_CASE("backup servers are used only when every primary is excluded") {
  config::UpstreamConfig cfg;
  lb::ServerSpec servers[] = {{"p1", 1, false}, {"p2", 1, false}, {"bk", 1, true}};
  auto sel = lb::findStrategy("round_robin")->build(std::span<const lb::ServerSpec>(servers), cfg);
  lb::PickState st;
  lb::PickContext pc;
  for (int i = 0; i < 10; ++i) CHECK(sel->pick(pc, st) != 2);
  lb::ServerMask ex;
  ex.set(0);
  ex.set(1);
  pc.excluded = &ex;
  CHECK(sel->pick(pc, st) == 2);
}

TEST_CASE("ServerMask handles more than 64 servers") {
  lb::ServerMask m;
  CHECK(m.empty());
  m.set(3);
  m.set(200);
  CHECK(m.test(3));
  CHECK(m.test(200));
  CHECK_FALSE(m.test(199));
  CHECK_FALSE(m.empty());
  m.clear();
  CHECK_FALSE(m.test(200));
}
