// The selection module (lb/pick.h): pins, the tried set, membership (health, drain, admin state)
// and the strategy, in that order — and what each outcome reports for the affinity metrics.
#include <doctest/doctest.h>

#include "proxy/lb/membership.h"
#include "proxy/lb/pick.h"
#include "tests/unit/lb/lb_test_util.h"

using namespace lbtest;

namespace {

struct Picker {
  config::UpstreamConfig cfg;
  std::vector<lb::ServerSpec> specs;
  lb::SelectorPtr sel;
  lb::PickState st;
  lb::ServerMask scratch;
  explicit Picker(std::vector<lb::ServerSpec> s) : specs(std::move(s)) {
    cfg.strategy = "round_robin";
    sel = lb::findStrategy("round_robin")->build(specs, cfg);
  }
  lb::Choice pick(const lb::Membership* m, const lb::AffinityRequest* a = nullptr, const lb::ServerMask* tried = nullptr) {
    lb::PickInputs in;
    in.affinity = a;
    in.tried = tried;
    in.membership = m;
    return lb::choose(in, *sel, st, scratch);
  }
};

lb::MembershipPtr states(std::vector<lb::MemberState> m) { return lb::makeMembership(1, nullptr, std::move(m)); }
lb::MemberState up() { return {}; }
lb::MemberState down() { return {false, lb::AdminState::Enabled, 10}; }
lb::MemberState admin(lb::AdminState a) { return {true, a, 10}; }

}  // namespace

TEST_CASE("pick: unhealthy, draining and disabled servers get no new sessions; backups only when every primary is out") {
  Picker p({{"a", 1, false}, {"b", 1, false}, {"bk", 1, true}});
  auto all_up = states({up(), up(), up()});
  for (int i = 0; i < 10; ++i) CHECK(p.pick(all_up.get()).server != 2);
  auto a_down = states({down(), up(), up()});
  for (int i = 0; i < 10; ++i) CHECK(p.pick(a_down.get()).server == 1);
  auto b_drain = states({down(), admin(lb::AdminState::Drain), up()});
  CHECK(p.pick(b_drain.get()).server == 2);  // a down, b draining: the backup serves
  CHECK_FALSE(b_drain->all_down);            // draining is not down: no 503
  auto b_disabled = states({up(), admin(lb::AdminState::Disabled), up()});
  for (int i = 0; i < 10; ++i) CHECK(p.pick(b_disabled.get()).server == 0);
  lb::ServerMask tried;
  tried.set(1);
  CHECK(p.pick(a_down.get(), nullptr, &tried).server == 2);  // the tried set and health combine
  auto none = states({down(), down(), down()});
  CHECK(none->all_down);
  CHECK(p.pick(none.get()).server == -1);
  CHECK(p.pick(nullptr).server >= 0);  // no snapshot: everything up
}

TEST_CASE("pick: a pin keeps a draining server, leaves an unhealthy or disabled one, and reports the outcome") {
  Picker p({{"a", 1, false}, {"b", 1, false}, {"c", 1, false}});
  lb::AffinityRequest req;
  req.reset();
  lb::Choice c = p.pick(nullptr, &req);
  CHECK(c.pin == lb::PinOutcome::None);  // a new session: not an affinity lookup

  req.pins[0] = 1;
  auto b_drain = states({up(), admin(lb::AdminState::Drain), up()});
  c = p.pick(b_drain.get(), &req);
  CHECK(c.server == 1);
  CHECK(c.pin == lb::PinOutcome::Hit);

  auto b_down = states({up(), down(), up()});
  for (int i = 0; i < 6; ++i) {
    c = p.pick(b_down.get(), &req);
    CHECK(c.server != 1);
    CHECK(c.pin == lb::PinOutcome::Repinned);
  }
  auto b_disabled = states({up(), admin(lb::AdminState::Disabled), up()});
  CHECK(p.pick(b_disabled.get(), &req).server != 1);

  // Second layer's pin when the first one's server was tried.
  req.pins[1] = 2;
  lb::ServerMask tried;
  tried.set(1);
  c = p.pick(nullptr, &req, &tried);
  CHECK(c.server == 2);
  CHECK(c.pin == lb::PinOutcome::Hit);

  // A sid or cookie naming no current server: the strategy picks, counted as a miss.
  lb::AffinityRequest unknown;
  unknown.reset();
  unknown.unknown_pin = true;
  c = p.pick(nullptr, &unknown);
  CHECK(c.server >= 0);
  CHECK(c.pin == lb::PinOutcome::Unknown);
}

TEST_CASE("membership: masks and flags follow the member states") {
  auto m = lb::makeMembership(7, nullptr, {up(), down(), admin(lb::AdminState::Drain), admin(lb::AdminState::Disabled),
                                           {true, lb::AdminState::Enabled, 3}});
  CHECK(m->acceptsNew(0));
  CHECK_FALSE(m->acceptsNew(1));
  CHECK_FALSE(m->acceptsNew(2));
  CHECK(m->acceptsPinned(2));
  CHECK_FALSE(m->acceptsPinned(3));
  CHECK_FALSE(m->acceptsPinned(1));
  CHECK_FALSE(m->acceptsNew(9));
  CHECK(m->ramping);
  CHECK_FALSE(m->all_down);
}

TEST_CASE("pick: an upstream with no members (DNS has not answered yet) picks nothing, whatever the strategy") {
  for (const char* strategy : {"round_robin", "least_conn", "ip_hash", "consistent_hash"}) {
    CAPTURE(strategy);
    const lb::Strategy* s = lb::findStrategy(strategy);
    REQUIRE(s);
    config::UpstreamConfig cfg;
    cfg.strategy = strategy;
    std::vector<lb::ServerSpec> none;
    lb::SelectorPtr sel = s->build(none, cfg);
    REQUIRE(sel);
    lb::PickState st;
    lb::ServerMask scratch;
    lb::PickInputs in;
    auto empty = lb::makeMembership(1, nullptr, {});
    in.membership = empty.get();
    CHECK(lb::choose(in, *sel, st, scratch).server == -1);
    in.membership = nullptr;
    CHECK(lb::choose(in, *sel, st, scratch).server == -1);
  }
}
