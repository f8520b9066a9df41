// Config loading: defaults, the documented schema, and errors that point at the line.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include "proxy/config/config_loader.h"

using namespace proxy::config;

namespace {
LoadResult load(const std::string& text, Config& c) { return loadConfigText(text, "t.yaml", c); }
const char* kMinimal = "listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  a: {servers: [127.0.0.1:8001]}\n";
}  // namespace

TEST_CASE("the documented example loads with its values") {
  Config c;
  LoadResult r = load(R"(
workers: 2
listeners:
  - name: web
    address: "[::1]:8080"
upstreams:
  chat:
    strategy: round_robin
    keepalive: 32
    retries: 2
    servers:
      - address: 127.0.0.1:8001
        weight: 3
      - address: 127.0.0.1:8002
        backup: true
routes:
  - host: "*.Example.com"
    path_prefix: /socket.io/
    upstream: chat
timeouts: {connect: 500ms, client_header: 10s, keepalive: 75s, upstream_response: 1m, shutdown: 2s}
limits: {max_connections: 1000, max_header_bytes: 8KiB, max_body_bytes: 1MiB}
)",
                      c);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(c.workers == 2);
  CHECK(c.listeners[0].sockaddr.ss_family == AF_INET6);
  CHECK(c.upstreams[0].keepalive == 32);
  CHECK(c.upstreams[0].retries == 2);
  CHECK(c.upstreams[0].servers[0].weight == 3);
  CHECK(c.upstreams[0].servers[1].backup);
  CHECK(c.routes[0].host == "*.example.com");
  CHECK(c.timeouts.connect.count() == 500);
  CHECK(c.timeouts.upstream_response.count() == 60'000);
  CHECK(c.limits.max_header_bytes == 8192);
}

TEST_CASE("defaults apply when sections are absent") {
  Config c;
  REQUIRE(load(kMinimal, c).ok);
  CHECK(c.workers == 1);
  CHECK(c.upstreams[0].strategy == "round_robin");
  CHECK(c.upstreams[0].keepalive == 64);
  CHECK(c.timeouts.shutdown.count() == 10'000);
  CHECK(c.limits.max_body_bytes == 10u * 1024 * 1024);
  CHECK(c.routes.empty());
}

TEST_CASE("errors carry file:line:column and say what is wrong") {
  struct Case {
    std::string text, expect;
  } cases[] = {
      {std::string(kMinimal) + "timeouts: {conect: 1s}\n", "t.yaml:4:12: unknown key 'conect' in timeouts"},
      {std::string(kMinimal) + "limits: {max_body_bytes: lots}\n", "t.yaml:4:26: limits.max_body_bytes must be a size"},
      {"listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  a: {servers: [{address: 127.0.0.1:1, weight: 0}]}\n",
       "t.yaml:3:48: weight must be an integer in [1, 256]"},
      {"listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  a: {servers: [127.0.0.1:1, 127.0.0.1:1]}\n", "duplicate server"},
      {"listeners: []\nupstreams:\n  a: {servers: [127.0.0.1:1]}\n", "'listeners' must be a non-empty list"},
      {"listeners: [{address: '::1:80'}]\nupstreams:\n  a: {servers: [127.0.0.1:1]}\n", "[addr]:port"},
      {"listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  a: {servers: []}\n", "non-empty 'servers'"},
      {"{{{", "t.yaml:1:"},
  };
  for (auto& cs : cases) {
    CAPTURE(cs.text);
    Config c;
    LoadResult r = load(cs.text, c);
    CHECK_FALSE(r.ok);
    CAPTURE(r.error);
    CHECK(r.error.find(cs.expect) != std::string::npos);
  }
}
