// The membership manager: per-server state keyed by identity across reloads that reorder, add and
// remove servers; the file's `state:` and health_check changes; passive failures through the hub;
// and the snapshots workers pick with.
#include <doctest/doctest.h>

#include "proxy/config/config_loader.h"
#include "proxy/upstream/membership_manager.h"

using namespace proxy;

namespace {

std::shared_ptr<const config::Config> load(const std::string& servers, const std::string& extra = "") {
  auto c = std::make_shared<config::Config>();
  std::string text = "listeners: [{address: 127.0.0.1:8080}]\nupstreams:\n  chat:\n" + extra + "    servers: " + servers + "\n";
  auto r = config::loadConfigText(text, "t.yaml", *c);
  REQUIRE_MESSAGE(r.ok, r.error);
  return c;
}

struct Loop {
  uv_loop_t loop;
  Loop() { REQUIRE(uv_loop_init(&loop) == 0); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);  // let closed handles finish
    uv_loop_close(&loop);
  }
};

size_t indexOf(const config::Config& c, const std::string& name) {
  for (size_t i = 0; i < c.upstreams[0].servers.size(); ++i)
    if (c.upstreams[0].servers[i].name == name) return i;
  FAIL("no server " << name);
  return 0;
}

}  // namespace

TEST_CASE("membership: a reload that reorders, adds and removes servers keeps each kept server's state") {
  Loop l;
  upstream::MembershipHub hub;
  upstream::MembershipManager m(&l.loop, hub);
  auto a = load("[{address: 127.0.0.1:8001, name: s1}, {address: 127.0.0.1:8002, name: s2}, {address: 127.0.0.1:8003, name: s3}]");
  m.apply(a);
  lb::AdminState old;
  m.setAdmin(0, indexOf(*a, "s2"), lb::AdminState::Drain, old);
  CHECK(old == lb::AdminState::Enabled);
  m.setAdmin(0, indexOf(*a, "s3"), lb::AdminState::Disabled, old);
  auto snap = hub.load(0);
  REQUIRE(snap);
  CHECK(snap->layout == &a->upstreams[0]);
  CHECK(snap->no_new.test(1));

  auto b = load("[{address: 127.0.0.1:8003, name: s3}, {address: 127.0.0.1:8001, name: s1}, {address: 127.0.0.1:8004, name: s4}, "
                "{address: 127.0.0.1:8002, name: s2}]");
  m.apply(b);
  CHECK(m.server(0, indexOf(*b, "s2")).admin == lb::AdminState::Drain);
  CHECK(m.server(0, indexOf(*b, "s3")).admin == lb::AdminState::Disabled);
  CHECK(m.server(0, indexOf(*b, "s1")).admin == lb::AdminState::Enabled);
  CHECK(m.server(0, indexOf(*b, "s4")).admin == lb::AdminState::Enabled);
  snap = hub.load(0);
  CHECK(snap->layout == &b->upstreams[0]);
  REQUIRE(snap->size() == 4);
  CHECK(snap->no_new.test(indexOf(*b, "s2")));
  CHECK(snap->no_pinned.test(indexOf(*b, "s3")));
  CHECK(snap->acceptsNew(indexOf(*b, "s4")));

  // s2 removed and added back: a new server, state from the file.
  m.apply(load("[{address: 127.0.0.1:8001, name: s1}]"));
  auto c = load("[{address: 127.0.0.1:8001, name: s1}, {address: 127.0.0.1:8002, name: s2}]");
  m.apply(c);
  CHECK(m.server(0, 1).admin == lb::AdminState::Enabled);
}

TEST_CASE("membership: a state: edit in the file wins over the admin API; an unchanged one does not") {
  Loop l;
  upstream::MembershipHub hub;
  upstream::MembershipManager m(&l.loop, hub);
  m.apply(load("[{address: 127.0.0.1:8001, name: s1}, {address: 127.0.0.1:8002, name: s2}]"));
  lb::AdminState old;
  m.setAdmin(0, 0, lb::AdminState::Drain, old);
  m.apply(load("[{address: 127.0.0.1:8001, name: s1}, {address: 127.0.0.1:8002, name: s2, state: down}]"));
  CHECK(m.server(0, 0).admin == lb::AdminState::Drain);  // the file did not touch s1
  CHECK_FALSE(m.server(0, 1).healthy);                   // state: down is reported down
  CHECK(hub.load(0)->no_pinned.test(1));
  m.apply(load("[{address: 127.0.0.1:8001, name: s1, state: drain}, {address: 127.0.0.1:8002, name: s2}]"));
  CHECK(m.server(0, 1).healthy);
  m.setAdmin(0, 0, lb::AdminState::Enabled, old);
  m.apply(load("[{address: 127.0.0.1:8001, name: s1, state: drain}, {address: 127.0.0.1:8002, name: s2}]"));
  CHECK(m.server(0, 0).admin == lb::AdminState::Enabled);  // same file state: the API's choice stays
}

TEST_CASE("membership: health_check initial applies to new servers only; passive failures arrive by identity") {
  Loop l;
  upstream::MembershipHub hub;
  upstream::MembershipManager m(&l.loop, hub);
  std::string hc = "    max_fails: 1\n    fail_timeout: 60s\n    health_check: {type: tcp, interval: 1h, initial: down}\n";
  m.apply(load("[{address: 127.0.0.1:8001, name: s1}]", "    max_fails: 1\n    fail_timeout: 60s\n"));
  CHECK(m.server(0, 0).healthy);
  auto b = load("[{address: 127.0.0.1:8002, name: s2}, {address: 127.0.0.1:8001, name: s1}]", hc);
  m.apply(b);
  CHECK(m.server(0, 1).healthy);        // kept: its verdict stays
  CHECK_FALSE(m.server(0, 0).healthy);  // new: initial down until probes pass
  CHECK(hub.load(0)->all_down == false);

  REQUIRE(m.start() == 0);
  hub.reportPassiveFailure("chat", "s1", "connect_failed");
  hub.reportPassiveFailure("chat", "gone", "connect_failed");  // a server of an older configuration
  for (int i = 0; i < 5 && m.server(0, 1).healthy; ++i) uv_run(&l.loop, UV_RUN_NOWAIT);
  CHECK_FALSE(m.server(0, 1).healthy);
  CHECK(hub.load(0)->all_down);
  m.stop();
}
