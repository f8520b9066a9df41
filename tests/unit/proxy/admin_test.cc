// Admin pieces without sockets: config sections, the per-server admin state and its exclusion
// mask, histogram buckets, the Prometheus exposition and the admin routes (token, status JSON,
// state changes).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "proxy/admin/admin_routes.h"
#include "proxy/config/config_loader.h"
#include "proxy/metrics/exposition.h"

using namespace proxy;

namespace {
const char* kConfig = R"(
listeners: [{name: web, address: 127.0.0.1:8080}]
upstreams:
  chat: {servers: [{address: 127.0.0.1:8001, name: one}, {address: 127.0.0.1:8002, name: two, weight: 2}]}
admin: {address: 127.0.0.1:9901, token: tok}
access_log: {path: /tmp/a.log, format: combined}
)";

struct Fixture {
  std::shared_ptr<config::Config> cfg = std::make_shared<config::Config>();
  std::unique_ptr<metrics::WorkerMetrics> w1, w2;
  std::unique_ptr<metrics::ProcessMetrics> process;
  std::unique_ptr<upstream::ServerAdminStates> states;
  metrics::ScrapeSources src;
  Fixture() {
    REQUIRE(config::loadConfigText(kConfig, "t.yaml", *cfg).ok);
    w1 = std::make_unique<metrics::WorkerMetrics>(*cfg);
    w2 = std::make_unique<metrics::WorkerMetrics>(*cfg);
    process = std::make_unique<metrics::ProcessMetrics>(*cfg);
    states = std::make_unique<upstream::ServerAdminStates>(*cfg);
    src.config = cfg;
    src.workers = {w1.get(), w2.get()};
    src.process = process.get();
    src.admin_states = states.get();
    src.version = "9.9.9";
  }
  admin::AdminResponse call(std::string_view method, std::string_view target, std::string_view auth = "Bearer tok") {
    return admin::handleAdminRequest({method, target, auth}, src, cfg->admin.token);
  }
};
}  // namespace

TEST_CASE("admin and access_log sections load; mistakes point at the line") {
  config::Config c;
  REQUIRE(config::loadConfigText(kConfig, "t.yaml", c).ok);
  CHECK(c.admin.enabled);
  CHECK(c.admin.token == "tok");
  CHECK(c.access_log.enabled);
  CHECK(c.access_log.format == config::AccessLogConfig::Format::Combined);
  config::Config d;
  auto r = config::loadConfigText("listeners: [{address: 127.0.0.1:8080}]\nupstreams: {a: {servers: [127.0.0.1:1]}}\nadmin: {address: 127.0.0.1:8080}\n", "t.yaml", d);
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("t.yaml:3:") == 0);
  CHECK(r.error.find("must differ") != std::string::npos);
  config::Config e;
  CHECK_FALSE(config::loadConfigText("listeners: [{address: 127.0.0.1:8080}]\nupstreams: {a: {servers: [127.0.0.1:1]}}\nadmin: {token: x}\n", "t.yaml", e).ok);
  config::Config f;
  CHECK(config::loadConfigText("listeners: [{address: 127.0.0.1:8080}]\nupstreams: {a: {servers: [127.0.0.1:1]}}\n", "t.yaml", f).ok);
  CHECK_FALSE(f.admin.enabled);
  CHECK_FALSE(f.access_log.enabled);
}

TEST_CASE("admin state: drain and disable exclude new picks; the count keeps the fast path") {
  Fixture fx;
  lb::ServerMask m;
  fx.states->excludeNew(0, m);
  CHECK(m.empty());
  fx.states->set(0, 1, upstream::AdminState::Drain);
  CHECK_FALSE(fx.states->acceptsNew(0, 1));
  CHECK(fx.states->acceptsPinned(0, 1));
  fx.states->excludeNew(0, m);
  CHECK(m.test(1));
  CHECK_FALSE(m.test(0));
  fx.states->set(0, 1, upstream::AdminState::Disabled);
  CHECK_FALSE(fx.states->acceptsPinned(0, 1));
  fx.states->set(0, 1, upstream::AdminState::Enabled);
  lb::ServerMask m2;
  fx.states->excludeNew(0, m2);
  CHECK(m2.empty());
}

TEST_CASE("duration histogram buckets are upper-inclusive") {
  metrics::DurationHistogram h;
  h.observeNs(100'000);      // exactly 100 µs -> first bucket
  h.observeNs(100'001);      // -> second
  h.observeNs(10'000'000'000);  // 10 s -> +Inf
  CHECK(h.bucket(0) == 1);
  CHECK(h.bucket(1) == 1);
  CHECK(h.bucket(metrics::DurationHistogram::kBuckets - 1) == 1);
  CHECK(h.sumNs() == 10'000'200'001);
}

TEST_CASE("exposition sums workers") {
  Fixture fx;
  fx.w1->upstreams[0]->servers[0].responses[metrics::statusSlot(200)].add(3);
  fx.w2->upstreams[0]->servers[0].responses[metrics::statusSlot(200)].add(4);
  fx.w2->upstreams[0]->servers[2].responses[metrics::statusSlot(503)].add();
  fx.w1->unrouted_responses[metrics::statusSlot(404)].add(2);
  fx.w1->affinity(0, metrics::AffinityResult::Repinned);
  fx.w2->downstream_connections[0]->add(5);
  fx.w1->downstream_connections[0]->add(-1);
  std::string text = metrics::renderPrometheus(fx.src);
  CHECK(text.find("tether_requests_total{code=\"200\",server=\"one\",upstream=\"chat\"} 7") != std::string::npos);
  CHECK(text.find("tether_requests_total{code=\"503\",server=\"none\",upstream=\"chat\"} 1") != std::string::npos);
  CHECK(text.find("tether_requests_total{code=\"404\",server=\"none\",upstream=\"none\"} 2") != std::string::npos);
  CHECK(text.find("tether_affinity_total{result=\"repinned\",upstream=\"chat\"} 1") != std::string::npos);
  CHECK(text.find("tether_downstream_connections{listener=\"web\"} 4") != std::string::npos);
  CHECK(text.find("tether_build_info{version=\"9.9.9\"} 1") != std::string::npos);
  CHECK(text.find("tether_config_reloads_total{result=\"failure\"} 0") != std::string::npos);
}

TEST_CASE("routes: token, status JSON, state changes") {
  Fixture fx;
  CHECK(fx.call("GET", "/metrics", "").status == 401);
  CHECK(fx.call("GET", "/metrics", "Bearer nope").status == 401);
  CHECK(fx.call("GET", "/metrics", "Bearer tokx").status == 401);
  CHECK(fx.call("GET", "/metrics", "bearer tok").status == 200);
  CHECK(fx.call("GET", "/").status == 200);
  CHECK(fx.call("GET", "/", "").status == 200);  // the page shell, which then asks for the token
  CHECK(fx.call("GET", "/nope").status == 404);

  fx.w1->upstreams[0]->servers[1].responses[metrics::statusSlot(502)].add();
  fx.w2->upstreams[0]->servers[1].tunnels_active.add(2);
  auto st = nlohmann::json::parse(fx.call("GET", "/status?x=1").body);
  CHECK(st["version"] == "9.9.9");
  CHECK(st["workers"] == 2);
  auto& s = st["upstreams"][0]["servers"][1];
  CHECK(s["name"] == "two");
  CHECK(s["weight"] == 2);
  CHECK(s["tunnels"] == 2);
  CHECK(s["responses"]["5xx"] == 1);
  CHECK(s["admin_state"] == "enabled");

  CHECK(fx.call("POST", "/upstreams/chat/servers/two/drain").status == 200);
  CHECK(fx.states->get(0, 1) == upstream::AdminState::Drain);
  CHECK(fx.call("POST", "/upstreams/chat/servers/127.0.0.1%3A8001/disable").status == 200);
  CHECK(fx.states->get(0, 0) == upstream::AdminState::Disabled);
  CHECK(fx.call("POST", "/upstreams/chat/servers/two/bogus").status == 404);
  CHECK(fx.call("POST", "/upstreams/x/servers/two/drain").status == 404);
  CHECK(fx.call("GET", "/upstreams/chat/servers/two/drain").status == 405);
  CHECK(fx.call("POST", "/upstreams/chat/servers/two/enable", "").status == 401);
  CHECK(fx.states->get(0, 1) == upstream::AdminState::Drain);
}
