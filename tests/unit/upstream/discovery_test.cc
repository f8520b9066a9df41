// DNS discovery's pure half and the configuration it reads: `resolve: true` templates, host names
// resolved once at load, the resolver section, reserved names, and expandMembers (one member per
// address, named NAME@IP:PORT, in the order DNS gave after sorting).
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include "common/uv_util.h"
#include "proxy/config/config_loader.h"
#include "proxy/upstream/discovery.h"

using namespace proxy::config;

namespace {

LoadResult load(const std::string& text, Config& c) { return loadConfigText(text, "t.yaml", c); }

std::string withServers(const std::string& servers, const std::string& extra = "") {
  return "listeners: [{address: 127.0.0.1:8080}]\n" + extra + "upstreams:\n  a:\n    servers:\n" + servers;
}

sockaddr_storage ip(const char* text) {
  sockaddr_storage ss{};
  std::string err;
  REQUIRE(common::parseSockAddr(std::string(text) + ":0", ss, err));
  return ss;
}

}  // namespace

TEST_CASE("resolve: true keeps a host name as a template, with no members until DNS answers") {
  Config c;
  LoadResult r = load(withServers("      - address: chat.example:8001\n        resolve: true\n        weight: 2\n"
                                  "      - 127.0.0.1:9000\n",
                                  "resolver:\n  servers: [127.0.0.53, \"[::1]:5353\"]\n  interval: 2s\n"),
                      c);
  REQUIRE_MESSAGE(r.ok, r.error);
  const UpstreamConfig& u = c.upstreams.at(0);
  REQUIRE(u.resolve.size() == 1);
  CHECK(u.resolve[0].host == "chat.example");
  CHECK(u.resolve[0].port == 8001);
  CHECK(u.resolve[0].name == "chat.example:8001");
  CHECK(u.resolve[0].weight == 2);
  REQUIRE(u.servers.size() == 1);
  CHECK(u.servers[0].name == "127.0.0.1:9000");
  CHECK(c.resolver.servers == std::vector<std::string>{"127.0.0.53:53", "[::1]:5353"});
  CHECK(c.resolver.interval.count() == 2000);
}

TEST_CASE("a host name without resolve: true is resolved once at load") {
  Config c;
  LoadResult r = load(withServers("      - address: localhost:8001\n        name: local\n"), c);
  REQUIRE_MESSAGE(r.ok, r.error);
  const UpstreamConfig& u = c.upstreams.at(0);
  REQUIRE(!u.servers.empty());
  CHECK(u.resolve.empty());
  for (const ServerConfig& s : u.servers) {
    CHECK((s.sockaddr.ss_family == AF_INET || s.sockaddr.ss_family == AF_INET6));
    CHECK(s.host.empty());
    // One address keeps the given name; several get one identity each.
    if (u.servers.size() == 1) CHECK(s.name == "local");
    else CHECK(s.name == "local@" + s.address);
  }
}

TEST_CASE("discovery configuration errors say what is wrong") {
  struct Case {
    std::string text;
    std::string needle;
  } cases[] = {
      {withServers("      - address: 127.0.0.1:8001\n        resolve: true\n"), "resolve: true needs a host name"},
      {withServers("      - address: no-such-name.invalid:8001\n"), "add resolve: true"},
      {withServers("      - address: chat.example\n        resolve: true\n"), "server address 'chat.example'"},
      {withServers("      - address: chat.example:0\n        resolve: true\n"), "server address 'chat.example:0'"},
      {withServers("      - address: bad/name:80\n        resolve: true\n"), "server address 'bad/name:80'"},
      {withServers("      - address: 127.0.0.1:8001\n        name: none\n"), "reserved"},
      {withServers("      - address: 127.0.0.1:8001\n        name: a@b\n"), "reserved"},
      {withServers("      - address: c.example:1\n        resolve: true\n      - address: c.example:1\n        resolve: true\n"),
       "duplicate server 'c.example:1'"},
      {withServers("      - 127.0.0.1:8001\n", "resolver:\n  servers: [dns.example]\n"), "resolver server 'dns.example'"},
      {withServers("      - 127.0.0.1:8001\n", "resolver:\n  interval: 10ms\n"), "at least 100ms"},
      {withServers("      - 127.0.0.1:8001\n", "resolver:\n  timeout: 1s\n"), "timeout"},
  };
  for (const Case& cs : cases) {
    Config c;
    LoadResult r = load(cs.text, c);
    CAPTURE(cs.text);
    CHECK_FALSE(r.ok);
    CHECK_MESSAGE(r.error.find(cs.needle) != std::string::npos, r.error);
  }
}

TEST_CASE("expandMembers: one member per known address, named by identity, templates kept") {
  Config c;
  REQUIRE(load(withServers("      - 127.0.0.1:9000\n      - address: chat.example:8001\n        resolve: true\n"
                           "        state: drain\n      - address: gone.example:8002\n        resolve: true\n"),
               c)
              .ok);
  proxy::upstream::ResolvedNames names;
  names["chat.example"] = {ip("10.0.0.7"), ip("10.0.0.5")};
  names["other.example"] = {ip("10.9.9.9")};
  auto out = proxy::upstream::expandMembers(c, names);
  const UpstreamConfig& u = out->upstreams.at(0);
  REQUIRE(u.servers.size() == 3);
  CHECK(u.servers[0].name == "127.0.0.1:9000");
  CHECK(u.servers[1].name == "chat.example:8001@10.0.0.7:8001");
  CHECK(u.servers[1].address == "10.0.0.7:8001");
  CHECK(u.servers[2].name == "chat.example:8001@10.0.0.5:8001");
  for (size_t i = 1; i < 3; ++i) {
    CHECK(u.servers[i].state == ServerConfig::AdminState::Drain);  // the template's settings carry over
    CHECK(ntohs(reinterpret_cast<const sockaddr_in&>(u.servers[i].sockaddr).sin_port) == 8001);
    CHECK(u.servers[i].host.empty());
  }
  CHECK(u.resolve.size() == 2);   // the templates stay for the next expansion
  CHECK(c.upstreams[0].servers.size() == 1);  // the file's configuration is untouched

  names.erase("chat.example");
  CHECK(proxy::upstream::expandMembers(c, names)->upstreams[0].servers.size() == 1);
}
