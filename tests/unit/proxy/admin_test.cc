// Admin pieces without sockets: config sections, histogram buckets, the Prometheus exposition
// and the admin routes (token, status JSON, state changes), read from a real membership manager
// and identity-keyed metric series.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "proxy/admin/admin_routes.h"
#include "proxy/config/config_loader.h"
#include "proxy/admin/exposition.h"
#include "proxy/upstream/membership_manager.h"

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
  uv_loop_t loop;
  upstream::MembershipHub hub;
  std::unique_ptr<upstream::MembershipManager> members;
  metrics::SeriesRegistry series{2};
  std::unique_ptr<metrics::WorkerMetrics> w1, w2;
  metrics::ProcessMetrics process;
  admin::ScrapeSources src;
  Fixture() {
    REQUIRE(config::loadConfigText(kConfig, "t.yaml", *cfg).ok);
    REQUIRE(uv_loop_init(&loop) == 0);
    members = std::make_unique<upstream::MembershipManager>(&loop, hub);
    members->apply(cfg);
    w1 = std::make_unique<metrics::WorkerMetrics>(*cfg);
    w2 = std::make_unique<metrics::WorkerMetrics>(*cfg);
    src.members = members.get();
    src.series = &series;
    src.workers = {w1.get(), w2.get()};
    src.process = &process;
    src.version = "9.9.9";
  }
  ~Fixture() {
    members.reset();
    uv_loop_close(&loop);
  }
  metrics::ServerMetrics& server(unsigned worker, const char* name) { return series.server("chat", name)->at(worker); }
  lb::AdminState adminState(size_t s) { return members->server(0, s).admin; }
  admin::AdminResponse call(std::string_view method, std::string_view target, std::string_view auth = "Bearer tok") {
    return admin::handleAdminRequest({method, target, auth, "127.0.0.1"}, src, cfg->admin);
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
  fx.server(0, "one").responses[metrics::statusSlot(200)].add(3);
  fx.server(1, "one").responses[metrics::statusSlot(200)].add(4);
  fx.server(1, "none").responses[metrics::statusSlot(503)].add();
  fx.w1->unrouted_responses[metrics::statusSlot(404)].add(2);
  fx.series.upstream("chat")->at(0).affinityResult(metrics::AffinityResult::Repinned);
  fx.w2->downstream_connections[0]->add(5);
  fx.w1->downstream_connections[0]->add(-1);
  std::string text = admin::renderPrometheus(fx.src);
  CHECK(text.find("tether_requests_total{code=\"200\",server=\"one\",upstream=\"chat\"} 7") != std::string::npos);
  CHECK(text.find("tether_requests_total{code=\"503\",server=\"none\",upstream=\"chat\"} 1") != std::string::npos);
  CHECK(text.find("tether_requests_total{code=\"404\",server=\"none\",upstream=\"none\"} 2") != std::string::npos);
  CHECK(text.find("tether_affinity_total{result=\"repinned\",upstream=\"chat\"} 1") != std::string::npos);
  CHECK(text.find("tether_downstream_connections{listener=\"web\"} 4") != std::string::npos);
  CHECK(text.find("tether_build_info{version=\"9.9.9\"} 1") != std::string::npos);
  CHECK(text.find("tether_config_reloads_total{result=\"failure\"} 0") != std::string::npos);
  CHECK(text.find("tether_server_up{server=\"two\",upstream=\"chat\"} 1") != std::string::npos);
  CHECK(text.find("tether_upstream_members{upstream=\"chat\"} 2") != std::string::npos);
  CHECK(text.find("tether_health_checks_total") == std::string::npos);  // no health_check: no probes to count

  // Drained through the admin API: the gauge says so.
  lb::AdminState old;
  fx.members->setAdmin(0, 1, lb::AdminState::Drain, old);
  text = admin::renderPrometheus(fx.src);
  CHECK(text.find("tether_server_admin_state{server=\"two\",state=\"drain\",upstream=\"chat\"} 1") != std::string::npos);
  CHECK(text.find("tether_server_admin_state{server=\"two\",state=\"enabled\",upstream=\"chat\"} 0") != std::string::npos);
}

TEST_CASE("exposition: a server configured state: down is reported down; a removed server's series leave") {
  Fixture fx;
  auto next = std::make_shared<config::Config>();
  REQUIRE(config::loadConfigText(R"(
listeners: [{name: web, address: 127.0.0.1:8080}]
upstreams:
  chat: {servers: [{address: 127.0.0.1:8003, name: three, state: down}, {address: 127.0.0.1:8002, name: two}]}
admin: {address: 127.0.0.1:9901, token: tok}
)", "t.yaml", *next).ok);
  fx.server(0, "two").responses[metrics::statusSlot(200)].add(5);
  fx.server(0, "one").responses[metrics::statusSlot(200)].add(1);
  fx.series.sync(*next);
  fx.members->apply(next);
  std::string text = admin::renderPrometheus(fx.src);
  CHECK(text.find("tether_server_up{server=\"three\",upstream=\"chat\"} 0") != std::string::npos);
  CHECK(text.find("tether_server_up{server=\"two\",upstream=\"chat\"} 1") != std::string::npos);
  CHECK(text.find("tether_requests_total{code=\"200\",server=\"two\",upstream=\"chat\"} 5") != std::string::npos);  // kept
  CHECK(text.find("server=\"one\"") == std::string::npos);  // removed
  auto st = nlohmann::json::parse(admin::renderStatusJson(fx.src));
  CHECK(st["upstreams"][0]["servers"][0]["name"] == "three");
  CHECK(st["upstreams"][0]["servers"][0]["health"] == "down");
  CHECK(st["upstreams"][0]["servers"][1]["health"] == "up");
  CHECK(st["upstreams"][0]["members"] == 2);
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

  fx.server(0, "two").responses[metrics::statusSlot(502)].add();
  fx.server(1, "two").tunnels_active.add(2);
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
  CHECK(fx.adminState(1) == lb::AdminState::Drain);
  CHECK(fx.call("POST", "/upstreams/chat/servers/127.0.0.1%3A8001/disable").status == 200);
  CHECK(fx.adminState(0) == lb::AdminState::Disabled);
  CHECK(fx.members->membership(0)->no_pinned.test(0));  // what the workers pick with
  CHECK(fx.members->membership(0)->no_new.test(1));
  CHECK(fx.call("POST", "/upstreams/chat/servers/two/bogus").status == 404);
  CHECK(fx.call("POST", "/upstreams/x/servers/two/drain").status == 404);
  CHECK(fx.call("GET", "/upstreams/chat/servers/two/drain").status == 405);
  CHECK(fx.call("POST", "/upstreams/chat/servers/two/enable", "").status == 401);
  CHECK(fx.adminState(1) == lb::AdminState::Drain);
}
