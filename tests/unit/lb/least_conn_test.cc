// least_conn: fewest live connections per weight, ties rotate, exclusion, backups.
#include <doctest/doctest.h>

#include "tests/unit/lb/lb_test_util.h"

using namespace lbtest;

TEST_CASE("least_conn: picks the server with the fewest live connections") {
  Fleet f = fleet(3);
  auto sel = build("least_conn", f);
  std::vector<uint32_t> active = {5, 1, 3};
  lb::PickState st;
  lb::PickContext ctx;
  ctx.active = active;
  CHECK(sel->pick(ctx, st) == 1);
  lb::ServerMask tried;
  tried.set(1);
  ctx.excluded = &tried;
  CHECK(sel->pick(ctx, st) == 2);
}

TEST_CASE("least_conn: weighted, counts relative to weight") {
  Fleet f = fleet(2);
  f.weights = {3, 1};
  auto sel = build("least_conn", f);
  std::vector<uint32_t> active = {2, 1};  // 2/3 < 1/1
  lb::PickState st;
  lb::PickContext ctx;
  ctx.active = active;
  CHECK(sel->pick(ctx, st) == 0);
  // Filling from zero keeps connections proportional to weight.
  std::vector<uint32_t> a = {0, 0};
  for (int i = 0; i < 400; ++i) {
    ctx.active = a;
    ++a[static_cast<size_t>(sel->pick(ctx, st))];
  }
  CHECK(a[0] == 300);
  CHECK(a[1] == 100);
}

TEST_CASE("least_conn: ties rotate so an idle fleet fills evenly") {
  Fleet f = fleet(4);
  auto sel = build("least_conn", f);
  std::vector<uint32_t> active = {0, 0, 0, 0};
  lb::PickState st;
  std::vector<int> seen(4, 0);
  for (int i = 0; i < 4; ++i) {
    lb::PickContext ctx;  // nobody counts: every pick is a tie
    ctx.active = active;
    ++seen[static_cast<size_t>(sel->pick(ctx, st))];
  }
  CHECK(seen == std::vector<int>{1, 1, 1, 1});
}

TEST_CASE("least_conn: all excluded -> -1; backups only when primaries are excluded") {
  std::vector<lb::ServerSpec> specs = {{"a", 1, false}, {"b", 1, true}};
  config::UpstreamConfig cfg;
  auto sel = lb::findStrategy("least_conn")->build(specs, cfg);
  lb::PickState st;
  lb::PickContext ctx;
  CHECK(sel->pick(ctx, st) == 0);
  lb::ServerMask m;
  m.set(0);
  ctx.excluded = &m;
  CHECK(sel->pick(ctx, st) == 1);
  m.set(1);
  CHECK(sel->pick(ctx, st) == -1);
}
