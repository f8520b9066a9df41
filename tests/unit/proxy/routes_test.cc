// Routes beyond host and prefix: exact paths, methods, header matches, respond and redirect
// actions, path rewriting settings, value templates, shadowed-route detection, and the errors
// of each key.
#include <doctest/doctest.h>

#include <string>

#include "proxy/config/config_loader.h"
#include "proxy/config/template.h"
#include "proxy/http/parser.h"
#include "proxy/route/router.h"

using namespace proxy;

namespace {

struct Keep : http::ParserHandler {
  http::MessageHead head;
  http::HeadAction onHead(http::MessageHead& h) override {
    head = h;
    return http::HeadAction::Continue;
  }
  void onBody(std::string_view) override {}
  bool onComplete() override { return false; }
};

http::MessageHead request(const std::string& text) {
  Keep k;
  http::Parser p(HTTP_REQUEST, k);
  p.feed(text.data(), text.size());
  return k.head;
}

const char* kHead = "listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  a: {servers: [127.0.0.1:1]}\n  b: {servers: [127.0.0.1:2]}\n";

config::LoadResult load(const std::string& routes, config::Config& c, const std::string& extra = "") {
  return config::loadConfigText(std::string(kHead) + extra + "routes:\n" + routes, "t.yaml", c);
}

}  // namespace

TEST_CASE("templates: variables expand, $$ is a dollar, unknown names are errors") {
  config::Template t;
  std::string error;
  REQUIRE(config::parseTemplate("https://$host${request_uri}?id=$request_id&ip=$client_ip&s=$scheme&cost=$$5", t, error));
  std::string out;
  config::expandTemplate(t, {"chat.example", "/a?b", "http", "192.0.2.1", "abc"}, out);
  CHECK(out == "https://chat.example/a?b?id=abc&ip=192.0.2.1&s=http&cost=$5");
  CHECK(t.uses(config::Var::RequestId));
  CHECK_FALSE(config::parseTemplate("https://$hots/", t, error));
  CHECK(error.find("unknown variable $hots") != std::string::npos);
  CHECK_FALSE(config::parseTemplate("${host", t, error));
  CHECK_FALSE(config::parseTemplate("a$", t, error));
}

TEST_CASE("routes: exact path, methods and headers narrow a match; first match wins") {
  config::Config c;
  auto r = load(R"(
  - {path: /healthz, respond: {status: 200, body: "ok\n"}}
  - {path_prefix: /api/, methods: [post, PUT], upstream: b}
  - {path_prefix: /, headers: {X-Canary: "1"}, upstream: b}
  - {host: old.example, path_prefix: /, redirect: {to: "https://new.example$request_uri", status: 301}}
  - {path_prefix: /chat/, strip_prefix: true, upstream: a}
  - {path_prefix: /v1/, rewrite_prefix: /v2/, upstream: a}
  - {path_prefix: /, upstream: a}
)",
                c);
  REQUIRE_MESSAGE(r.ok, r.error);
  route::Router router(c);
  auto find = [&](const std::string& text) { return router.find(request(text)); };
  const config::RouteConfig* hz = find("GET /healthz?probe=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(hz);
  CHECK(hz->action == config::RouteConfig::Action::Respond);
  CHECK(hz->status == 200);
  CHECK(find("GET /healthzz HTTP/1.1\r\nHost: x\r\n\r\n") == &c.routes[6]);
  CHECK(find("POST /api/x HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n") == &c.routes[1]);
  CHECK(find("GET /api/x HTTP/1.1\r\nHost: x\r\n\r\n") == &c.routes[6]);
  CHECK(find("GET /x HTTP/1.1\r\nHost: x\r\nX-Canary: 1\r\n\r\n") == &c.routes[2]);
  CHECK(find("GET /x HTTP/1.1\r\nHost: x\r\nx-canary: 2\r\n\r\n") == &c.routes[6]);
  const config::RouteConfig* old = find("GET /p HTTP/1.1\r\nHost: Old.Example:80\r\n\r\n");
  REQUIRE(old);
  CHECK(old->action == config::RouteConfig::Action::Redirect);
  CHECK(old->status == 301);
  CHECK(c.routes[4].rewrite_path);
  CHECK(c.routes[4].rewrite_prefix.empty());
  CHECK(c.routes[5].rewrite_prefix == "/v2/");
  CHECK(router.match("x", "/healthz") == -2);
  CHECK(router.match("x", "/chat/socket.io/") == 0);
  CHECK(router.shadowed().empty());
}

TEST_CASE("routes: header rules, timeouts and limits load; the body ceiling covers every route") {
  config::Config c;
  auto r = load(R"(
  - path_prefix: /api/
    upstream: a
    request_headers: {set: {X-Env: prod}, add: {X-Who: "$client_ip"}, remove: [X-Debug]}
    response_headers: {add: {Strict-Transport-Security: "max-age=31536000"}}
    timeouts: {upstream_response: 2s, tunnel_idle: 2h}
    limits: {max_body_bytes: 20MiB}
  - {path_prefix: /, upstream: b}
)",
                c, "limits: {max_body_bytes: 1MiB}\n");
  REQUIRE_MESSAGE(r.ok, r.error);
  const auto& rt = c.routes[0];
  CHECK(rt.request_headers.remove == std::vector<std::string>{"x-debug", "x-env"});
  REQUIRE(rt.request_headers.add.size() == 2);
  CHECK(rt.request_headers.add[0].name == "X-Env");
  CHECK(rt.request_headers.add[1].value.uses(config::Var::ClientIp));
  CHECK(rt.response_headers.remove.empty());
  CHECK(rt.upstream_response.count() == 2000);
  CHECK(rt.tunnel_idle.count() == 7'200'000);
  CHECK(rt.max_body_bytes == 20u * 1024 * 1024);
  CHECK(config::bodyLimitCeiling(c) == 20u * 1024 * 1024);
  CHECK(c.routes[1].request_headers.empty());
}

TEST_CASE("routes: a route an earlier one covers entirely is reported") {
  config::Config c;
  auto r = load(R"(
  - {path_prefix: /api/, upstream: a}
  - {path_prefix: /api/v1/, upstream: b}
  - {host: "*.example.com", path_prefix: /, upstream: a}
  - {host: chat.example.com, path: /x, methods: [GET], upstream: b}
  - {path_prefix: /, methods: [GET], upstream: a}
  - {path_prefix: /z/, headers: {X-A: "1"}, upstream: b}
)",
                c);
  REQUIRE_MESSAGE(r.ok, r.error);
  route::Router router(c);
  auto sh = router.shadowed();
  REQUIRE(sh.size() == 2);
  CHECK(sh[0] == std::pair<size_t, size_t>{1, 0});
  CHECK(sh[1] == std::pair<size_t, size_t>{3, 2});
  CHECK(c.routes[1].at == "t.yaml:8:5");
}

TEST_CASE("routes: every mistake is a config error at its line") {
  struct Bad {
    const char* routes;
    const char* says;
  };
  for (Bad b : {Bad{"  - {path: /a, path_prefix: /a, upstream: a}\n", "either path (exact) or path_prefix"},
                Bad{"  - {path: a, upstream: a}\n", "path must start with '/'"},
                Bad{"  - {path_prefix: /, upstream: a, respond: {status: 200}}\n", "exactly one of"},
                Bad{"  - {path_prefix: /}\n", "exactly one of"},
                Bad{"  - {path_prefix: /, respond: {status: 302}}\n", "use redirect"},
                Bad{"  - {path_prefix: /, redirect: {to: /x, status: 305}}\n", "301, 302, 303, 307 or 308"},
                Bad{"  - {path_prefix: /, redirect: {status: 301}}\n", "redirect needs 'to'"},
                Bad{"  - {path_prefix: /, redirect: {to: \"https://$server/\"}}\n", "unknown variable $server"},
                Bad{"  - {path_prefix: /, respond: {body: \"$request_id\"}}\n", "request_id is off"},
                Bad{"  - {path_prefix: /, strip_prefix: true, respond: {status: 200}}\n", "routes with an upstream"},
                Bad{"  - {strip_prefix: true, upstream: a}\n", "need a path_prefix"},
                Bad{"  - {path_prefix: /a/, strip_prefix: true, rewrite_prefix: /b/, upstream: a}\n", "not both"},
                Bad{"  - {path_prefix: /a/, rewrite_prefix: b, upstream: a}\n", "must start with '/'"},
                Bad{"  - {path_prefix: /, methods: [], upstream: a}\n", "non-empty list"},
                Bad{"  - {path_prefix: /, methods: [\"GE T\"], upstream: a}\n", "not a method name"},
                Bad{"  - {path_prefix: /, headers: {\"X A\": 1}, upstream: a}\n", "not a header name"},
                Bad{"  - {path_prefix: /, upstream: nope}\n", "unknown upstream 'nope'"},
                Bad{"  - {path_prefix: /, timeout: 5s, upstream: a}\n", "timeout"},
                Bad{"  - {path_prefix: /, upstream: a, request_headers: {set: {Content-Length: 5}}}\n", "frames the message"},
                Bad{"  - {path_prefix: /, upstream: a, response_headers: {remove: [Transfer-Encoding]}}\n", "frames the message"},
                Bad{"  - {path_prefix: /, upstream: a, request_headers: {set: {X-A: \"$nope\"}}}\n", "unknown variable $nope"},
                Bad{"  - {path_prefix: /, upstream: a, request_headers: {append: {X-A: b}}}\n", "append"},
                Bad{"  - {path_prefix: /, respond: {status: 200}, request_headers: {set: {X-A: b}}}\n", "routes with an upstream"},
                Bad{"  - {path_prefix: /, respond: {status: 200}, timeouts: {upstream_response: 1s}}\n", "routes with an upstream"},
                Bad{"  - {path_prefix: /, upstream: a, timeouts: {upstream_response: 0s}}\n", "above 0"},
                Bad{"  - {path_prefix: /, upstream: a, limits: {max_body_bytes: 0}}\n", "above 0"}}) {
    config::Config c;
    auto r = load(b.routes, c);
    CAPTURE(b.routes);
    CHECK_FALSE(r.ok);
    CHECK(r.error.find(b.says) != std::string::npos);
    CHECK(r.error.rfind("t.yaml:", 0) == 0);
  }
  config::Config c;
  auto r = config::loadConfigText("listeners: [{address: 127.0.0.1:8080, redirect_https: true, tls: {cert: a, key: b}}]\n"
                                  "upstreams: {a: {servers: [127.0.0.1:1]}}\n", "t.yaml", c);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("redirect_https is for plain listeners") != std::string::npos);
}
