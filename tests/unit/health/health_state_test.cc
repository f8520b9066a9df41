// Health: the rise/fall + max_fails/fail_timeout threshold engine, the health config keys, and
// how a health snapshot excludes servers from a pick (backups only when every primary is out).
#include <doctest/doctest.h>

#include "proxy/config/config_loader.h"
#include "proxy/health/checker.h"
#include "proxy/health/health_hub.h"
#include "proxy/health/health_state.h"
#include "proxy/lb/registry.h"

using namespace proxy;
using health::HealthParams;
using health::ServerHealth;

namespace {
HealthParams active(uint32_t rise, uint32_t fall, bool initial_up = true) {
  HealthParams p;
  p.active = true;
  p.rise = rise;
  p.fall = fall;
  p.initial_up = initial_up;
  return p;
}
}  // namespace

TEST_CASE("rise/fall: down after `fall` consecutive failures, up after `rise` successes") {
  ServerHealth h(active(2, 3));
  CHECK(h.up());
  // ok x x ok x x x ok ok  -> down at the 7th probe, up at the 9th
  const bool probes[] = {true, false, false, true, false, false, false, true, true};
  const bool expect_up[] = {true, true, true, true, true, true, false, false, true};
  int changes = 0;
  for (size_t i = 0; i < 9; ++i) {
    auto t = h.onProbe(probes[i], i * 1000, "detail");
    CHECK(h.up() == expect_up[i]);
    CHECK(t.up == expect_up[i]);
    if (t.changed) {
      ++changes;
      CHECK(!t.reason.empty());
    } else {
      CHECK(t.reason.empty());
    }
  }
  CHECK(changes == 2);  // each change reported exactly once
}

TEST_CASE("initial: down needs `rise` successes; the reason names the last failure") {
  ServerHealth h(active(3, 1, false));
  CHECK_FALSE(h.up());
  CHECK_FALSE(h.onProbe(true, 0, "status 200").changed);
  CHECK_FALSE(h.onProbe(true, 1, "status 200").changed);
  auto up = h.onProbe(true, 2, "status 200");
  CHECK(up.changed);
  CHECK(up.up);
  auto down = h.onProbe(false, 3, "status 500");
  CHECK(down.changed);
  CHECK_FALSE(down.up);
  CHECK(down.reason.find("status 500") != std::string::npos);
}

TEST_CASE("passive, no active check: max_fails within fail_timeout, down for fail_timeout (nginx)") {
  HealthParams p;
  p.max_fails = 3;
  p.fail_timeout_ms = 10'000;
  ServerHealth h(p);
  CHECK_FALSE(h.onPassiveFailure(0, "connect_failed").changed);
  CHECK_FALSE(h.onPassiveFailure(11'000, "connect_failed").changed);  // the first left the window
  CHECK_FALSE(h.onPassiveFailure(12'000, "connect_failed").changed);
  auto t = h.onPassiveFailure(13'000, "response_timeout");  // 3 within [3000, 13000]
  CHECK(t.changed);
  CHECK_FALSE(t.up);
  CHECK(t.reason.find("response_timeout") != std::string::npos);
  CHECK_FALSE(h.tick(22'999).changed);
  auto back = h.tick(23'000);
  CHECK(back.changed);
  CHECK(back.up);
  CHECK_FALSE(h.tick(24'000).changed);
}

TEST_CASE("passive with an active check: marked down at once, back only after `rise` probes") {
  HealthParams p = active(2, 3);
  p.max_fails = 1;
  ServerHealth h(p);
  auto t = h.onPassiveFailure(0, "connect_failed");
  CHECK(t.changed);
  CHECK_FALSE(h.up());
  CHECK_FALSE(h.tick(1'000'000).changed);  // no timer brings it back
  CHECK_FALSE(h.onProbe(true, 1, "ok").changed);
  CHECK(h.onProbe(true, 2, "ok").changed);
  CHECK(h.up());
}

TEST_CASE("max_fails: 0 disables passive detection") {
  HealthParams p;
  p.max_fails = 0;
  ServerHealth h(p);
  for (int i = 0; i < 100; ++i) CHECK_FALSE(h.onPassiveFailure(static_cast<uint64_t>(i), "reset").changed);
  CHECK(h.up());
}

TEST_CASE("health config: keys, defaults and errors with line:column") {
  config::Config c;
  auto r = config::loadConfigText(R"(
listeners: [{address: 127.0.0.1:8080}]
upstreams:
  a:
    max_fails: 5
    fail_timeout: 30s
    slow_start: 20s
    health_check: {type: http, path: /hc, host: app.local, interval: 500ms, timeout: 200ms, rise: 3, fall: 4, expect_status: [200-299, 404], initial: down}
    servers:
      - 127.0.0.1:8001
      - {address: 127.0.0.1:8002, state: drain}
      - {address: 127.0.0.1:8003, backup: true, state: down}
)",
                                  "t.yaml", c);
  REQUIRE_MESSAGE(r.ok, r.error);
  const auto& u = c.upstreams[0];
  CHECK(u.max_fails == 5);
  CHECK(u.fail_timeout.count() == 30'000);
  CHECK(u.slow_start.count() == 20'000);
  CHECK(u.health_check.enabled);
  CHECK(u.health_check.path == "/hc");
  CHECK(u.health_check.host == "app.local");
  CHECK(u.health_check.interval.count() == 500);
  CHECK(u.health_check.timeout.count() == 200);
  CHECK(u.health_check.rise == 3);
  CHECK(u.health_check.fall == 4);
  CHECK_FALSE(u.health_check.initial_up);
  CHECK(health::HealthChecker::statusExpected(u.health_check, 204));
  CHECK(health::HealthChecker::statusExpected(u.health_check, 404));
  CHECK_FALSE(health::HealthChecker::statusExpected(u.health_check, 301));
  CHECK(u.servers[1].state == config::ServerConfig::AdminState::Drain);
  CHECK(u.servers[2].state == config::ServerConfig::AdminState::Down);

  config::Config d;
  REQUIRE(config::loadConfigText("listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  a: {servers: [127.0.0.1:8001]}\n", "t", d).ok);
  CHECK_FALSE(d.upstreams[0].health_check.enabled);
  CHECK(d.upstreams[0].max_fails == 3);
  CHECK(d.upstreams[0].fail_timeout.count() == 10'000);
  CHECK(d.upstreams[0].slow_start.count() == 0);
  CHECK(d.upstreams[0].health_check.rise == 2);
  CHECK(d.upstreams[0].health_check.fall == 3);
  CHECK(d.upstreams[0].health_check.interval.count() == 2'000);
  CHECK(d.upstreams[0].health_check.timeout.count() == 1'000);
  CHECK(health::HealthChecker::statusExpected(d.upstreams[0].health_check, 399));
  CHECK_FALSE(health::HealthChecker::statusExpected(d.upstreams[0].health_check, 500));

  config::Config e;
  auto bad = config::loadConfigText("listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  a:\n    health_check: {typo: 1}\n    servers: [127.0.0.1:8001]\n", "t.yaml", e);
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.find("t.yaml:4:") == 0);
  CHECK(bad.error.find("unknown key 'typo'") != std::string::npos);
  bad = config::loadConfigText("listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  a:\n    health_check: {expect_status: [399-200]}\n    servers: [127.0.0.1:8001]\n", "t.yaml", e);
  CHECK_FALSE(bad.ok);
  bad = config::loadConfigText("listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  a:\n    servers: [{address: 127.0.0.1:8001, state: maybe}]\n", "t.yaml", e);
  CHECK_FALSE(bad.ok);
  CHECK(bad.error.find("state must be up, drain or down") != std::string::npos);
}

TEST_CASE("snapshots: down and draining servers are excluded; backups only when every primary is out") {
  config::UpstreamConfig cfg;
  lb::ServerSpec servers[] = {{"a", 1, false}, {"b", 1, false}, {"bk", 1, true}};
  auto sel = lb::findStrategy("round_robin")->build(std::span<const lb::ServerSpec>(servers), cfg);
  lb::PickState st;
  lb::ServerMask merged;
  auto pickWith = [&](const health::ServerStates& s, const lb::ServerMask* tried) {
    health::mergeExcluded(tried, &s, 3, merged);
    lb::PickContext pc;
    pc.excluded = &merged;
    return sel->pick(pc, st);
  };
  auto all_up = health::makeStates(1, {0, 0, 0}, {0, 0, 0});
  auto a_down = health::makeStates(2, {1, 0, 0}, {0, 0, 0});
  auto b_drain = health::makeStates(3, {1, 0, 0}, {0, 1, 0});
  auto none = health::makeStates(4, {1, 1, 1}, {0, 0, 0});
  for (int i = 0; i < 10; ++i) CHECK(pickWith(*all_up, nullptr) != 2);
  for (int i = 0; i < 10; ++i) CHECK(pickWith(*a_down, nullptr) == 1);
  CHECK(pickWith(*b_drain, nullptr) == 2);  // a down, b draining: the backup serves
  CHECK_FALSE(b_drain->all_down);           // draining is not down: no panic
  CHECK(b_drain->isDraining(1));
  CHECK_FALSE(b_drain->isDown(1));
  lb::ServerMask tried;
  tried.set(1);
  CHECK(pickWith(*a_down, &tried) == 2);   // the tried set and health combine
  CHECK(pickWith(*none, nullptr) == -1);
  CHECK(none->all_down);
}

TEST_CASE("hub: starting snapshots follow initial and state; drain requests are queued") {
  config::Config c;
  auto r = config::loadConfigText(R"(
listeners: [{address: 127.0.0.1:8080}]
upstreams:
  a:
    servers: [127.0.0.1:8001, {address: 127.0.0.1:8002, state: drain}]
  b:
    health_check: {initial: down}
    servers: [127.0.0.1:8003]
routes: [{upstream: a}]
)",
                                  "t", c);
  REQUIRE_MESSAGE(r.ok, r.error);
  health::HealthHub hub(c);
  auto a = hub.load(0);
  CHECK_FALSE(a->isDown(0));
  CHECK(a->isDraining(1));
  CHECK(a->unavailable.test(1));
  CHECK(hub.load(1)->all_down);
  hub.setDrain(0, 0, true);
  hub.reportPassiveFailure(1, 0, "reset");
  auto ev = hub.takeEvents();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].kind == health::HealthEvent::Kind::SetDrain);
  CHECK(ev[1].kind == health::HealthEvent::Kind::PassiveFailure);
  CHECK(hub.takeEvents().empty());
}
