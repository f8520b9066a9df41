// consistent_hash and the ring: balance, minimal remapping, determinism, exclusion walk, bounded loads.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "proxy/lb/hash_ring.h"
#include "tests/unit/lb/lb_test_util.h"

using namespace lbtest;

TEST_CASE("consistent_hash: 10 equal servers, 1M keys: max/mean <= 1.05") {
  Fleet f = fleet(10);
  auto sel = build("consistent_hash", f);
  auto placed = placeAll(*sel, f, 1'000'000);
  double spread = maxOverMean(placed, 10);
  MESSAGE("max/mean = " << spread);
  CHECK(spread <= 1.05);
}

TEST_CASE("consistent_hash: removing any one of 10 servers moves only its keys, <= 1/N + 1%") {
  const size_t kKeys = 200'000;
  Fleet f = fleet(10);
  auto before = placeAll(*build("consistent_hash", f), f, kKeys);
  double worst = 0;
  for (size_t removed = 0; removed < 10; ++removed) {
    Fleet g = f;
    g.names.erase(g.names.begin() + static_cast<long>(removed));
    auto after = placeAll(*build("consistent_hash", g), g, kKeys);
    size_t moved = 0;
    for (size_t i = 0; i < kKeys; ++i) {
      if (before[i] == after[i]) continue;
      ++moved;
      REQUIRE(before[i] == f.names[removed]);  // only the removed server's keys move
    }
    CHECK(static_cast<double>(moved) / kKeys <= 1.0 / 10 + 0.01);
    worst = std::max(worst, static_cast<double>(moved) / kKeys);
  }
  MESSAGE("worst share moved on removing one of 10: " << worst);
}

TEST_CASE("consistent_hash: adding an 11th server moves keys only to it, <= 1/(N+1) + 1%") {
  const size_t kKeys = 200'000;
  Fleet f = fleet(10);
  Fleet g = fleet(11);
  auto before = placeAll(*build("consistent_hash", f), f, kKeys);
  auto after = placeAll(*build("consistent_hash", g), g, kKeys);
  size_t moved = 0;
  for (size_t i = 0; i < kKeys; ++i)
    if (before[i] != after[i]) {
      ++moved;
      REQUIRE(after[i] == "srv-10");
    }
  MESSAGE("share moved on adding an 11th: " << static_cast<double>(moved) / kKeys);
  CHECK(static_cast<double>(moved) / kKeys <= 1.0 / 11 + 0.01);
}

TEST_CASE("consistent_hash: deterministic across builds and independent of server order") {
  Fleet f = fleet(7);
  Fleet r = f;
  std::reverse(r.names.begin(), r.names.end());
  auto a = placeAll(*build("consistent_hash", f), f, 20'000);
  auto b = placeAll(*build("consistent_hash", f), f, 20'000);
  auto c = placeAll(*build("consistent_hash", r), r, 20'000);
  CHECK(a == b);
  CHECK(a == c);
}

TEST_CASE("consistent_hash: weights shift load proportionally") {
  Fleet f = fleet(3);
  f.weights = {1, 2, 1};
  auto placed = placeAll(*build("consistent_hash", f), f, 200'000);
  size_t heavy = static_cast<size_t>(std::count(placed.begin(), placed.end(), "srv-1"));
  CHECK(static_cast<double>(heavy) / 200'000 == doctest::Approx(0.5).epsilon(0.05));
}

TEST_CASE("consistent_hash: exclusion walks on deterministically and moves only the excluded server's keys") {
  Fleet f = fleet(5);
  auto sel = build("consistent_hash", f);
  lb::ServerMask down;
  down.set(2);
  lb::PickState st;
  for (size_t i = 0; i < 20'000; ++i) {
    lb::PickContext ctx;
    ctx.key = key(i);
    ctx.has_key = true;
    int normal = sel->pick(ctx, st);
    ctx.excluded = &down;
    int walked = sel->pick(ctx, st);
    int again = sel->pick(ctx, st);
    CHECK(walked == again);
    CHECK(walked != 2);
    if (normal != 2) CHECK(walked == normal);
  }
  lb::ServerMask all;
  for (size_t i = 0; i < 5; ++i) all.set(i);
  lb::PickContext ctx;
  ctx.excluded = &all;
  ctx.has_key = true;
  CHECK(sel->pick(ctx, st) == -1);
}

TEST_CASE("consistent_hash: bounded loads never exceed ceil(factor x mean) live connections") {
  Fleet f = fleet(10);
  for (double factor : {1.25, 1.1, 2.0}) {
    auto sel = build("consistent_hash", f, factor);
    std::vector<uint32_t> active(10, 0);
    lb::PickState st;
    // Skewed keys: 50% of requests share 5 hot keys, the rest distinct.
    for (size_t i = 0; i < 20'000; ++i) {
      lb::PickContext ctx;
      ctx.key = i % 2 ? key(i % 5) : key(i);
      ctx.has_key = true;
      ctx.active = active;
      int s = sel->pick(ctx, st);
      REQUIRE(s >= 0);
      uint64_t total = 0;
      for (uint32_t a : active) total += a;
      ++active[static_cast<size_t>(s)];
      double cap = std::ceil(factor * static_cast<double>(total + 1) / 10.0);
      REQUIRE(active[static_cast<size_t>(s)] <= cap);
      if (i % 3 == 0) {  // some connections end
        size_t victim = common::mix64(i) % 10;
        if (active[victim]) --active[victim];
      }
    }
  }
}

TEST_CASE("consistent_hash: without bounds a hot key stays put; with bounds it spills deterministically") {
  Fleet f = fleet(4);
  auto plain = build("consistent_hash", f);
  auto bounded = build("consistent_hash", f, 1.25);
  std::vector<uint32_t> active = {0, 0, 0, 0};
  lb::PickState st;
  lb::PickContext ctx;
  ctx.key = key(1);
  ctx.has_key = true;
  int home = plain->pick(ctx, st);
  active[static_cast<size_t>(home)] = 10;
  ctx.active = active;
  CHECK(plain->pick(ctx, st) == home);
  int spill = bounded->pick(ctx, st);
  CHECK(spill != home);
  CHECK(bounded->pick(ctx, st) == spill);
}

TEST_CASE("ring: at least 160 points per weight unit, even for large fleets") {
  Fleet f = fleet(1000);
  auto specs = f.specs();
  lb::HashRing ring(specs);
  CHECK(ring.pointsPerUnit() >= 160);
  CHECK(ring.pointCount() == 1000 * ring.pointsPerUnit());
}
