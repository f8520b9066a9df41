// Health: the rise/fall + max_fails/fail_timeout threshold engine, the health config keys, and
// how a health snapshot excludes servers from a pick (backups only when every primary is out).
#include <doctest/doctest.h>

#include "proxy/config/config_loader.h"
#include "proxy/health/health_state.h"
#include "proxy/health/probe.h"
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
  CHECK(health::Probe::statusExpected(u.health_check, 204));
  CHECK(health::Probe::statusExpected(u.health_check, 404));
  CHECK_FALSE(health::Probe::statusExpected(u.health_check, 301));
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
  CHECK(health::Probe::statusExpected(d.upstreams[0].health_check, 399));
  CHECK_FALSE(health::Probe::statusExpected(d.upstreams[0].health_check, 500));

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

TEST_CASE("reconfigure keeps the verdict: a down server stays down until probes or fail_timeout bring it back") {
  ServerHealth h(active(2, 1));
  h.onProbe(false, 0, "x");
  REQUIRE_FALSE(h.up());
  h.reconfigure(active(3, 2), 100);  // rise/fall edited on reload
  CHECK_FALSE(h.up());
  h.onProbe(true, 200, "ok");
  h.onProbe(true, 300, "ok");
  CHECK_FALSE(h.up());  // the new rise (3) applies
  h.onProbe(true, 400, "ok");
  CHECK(h.up());

  HealthParams passive;
  passive.max_fails = 1;
  passive.fail_timeout_ms = 1000;
  ServerHealth a(active(1, 1));
  a.onProbe(false, 0, "x");
  a.reconfigure(passive, 5000);  // active checks removed while down
  CHECK_FALSE(a.up());
  CHECK(a.tick(6000).changed);  // comes back after fail_timeout, not never
  CHECK(a.up());
  ServerHealth b(active(1, 1));
  b.reconfigure(active(5, 5), 0);
  CHECK(b.up());
}
