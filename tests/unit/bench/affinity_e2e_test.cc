// tether-bench affinity: strategy row names, the --e2e flags, the figures (spread, percentages,
// CPU per session), the CSV, the cookie jar; and that every row's YAML is a config tether loads
// with the strategy and layers the row names.
#include <doctest/doctest.h>

#include "bench/affinity/e2e_options.h"
#include "bench/affinity/e2e_stats.h"
#include "bench/affinity/eio_session.h"
#include "bench/affinity/strategy_spec.h"
#include "proxy/config/config_loader.h"

using namespace bench::affinity;

namespace {

std::string parseArgs(std::vector<std::string> args, E2eOptions& o) { return parseE2eOptions(args, o); }

proxy::config::UpstreamConfig loadUpstream(const StrategySpec& spec) {
  std::string text = "listeners:\n  - address: 127.0.0.1:8080\nupstreams:\n  app:\n" + upstreamYaml(spec, 1.25) +
                     "    servers:\n      - {address: 127.0.0.1:9000, name: srv-0}\n"
                     "      - {address: 127.0.0.1:9001, name: srv-1}\n";
  proxy::config::Config c;
  auto r = proxy::config::loadConfigText(text, "bench.yaml", c);
  std::string why = r.error + "\n" + text;
  REQUIRE_MESSAGE(r.ok, why);
  REQUIRE(c.upstreams.size() == 1);
  return c.upstreams[0];
}

}  // namespace

TEST_CASE("strategy rows: names as given, layers, strategy and key") {
  StrategySpec s;
  CHECK(parseStrategySpec("sid+consistent_hash+bounded", s).empty());
  CHECK(s.name == "sid+consistent_hash+bounded");
  CHECK(s.strategy == "consistent_hash");
  CHECK(s.bounded);
  CHECK(s.key == KeySource::ClientId);
  CHECK(s.layers == std::vector<Layer>{Layer::Sid});

  CHECK(parseStrategySpec("sid", s).empty());
  CHECK(s.name == "sid");
  CHECK(s.strategy == "round_robin");
  CHECK(s.has(Layer::Sid));

  CHECK(parseStrategySpec("cookie", s).empty());
  CHECK(s.name == "cookie");
  CHECK(s.cookie_strategy);
  CHECK(s.strategy == "least_conn");

  CHECK(parseStrategySpec("ip_hash", s).empty());
  CHECK(s.key == KeySource::ClientAddress);
  CHECK(s.layers.empty());

  CHECK(parseStrategySpec("sid+cookie+least_conn", s).empty());
  CHECK(s.layers == std::vector<Layer>{Layer::Sid, Layer::Cookie});
  CHECK_FALSE(s.cookie_strategy);
}

TEST_CASE("strategy rows: errors name the entry") {
  StrategySpec s;
  CHECK(parseStrategySpec("nope", s).find("unknown strategy 'nope'") == 0);
  CHECK_FALSE(parseStrategySpec("round_robin+bounded", s).empty());
  CHECK_FALSE(parseStrategySpec("sid+sid+round_robin", s).empty());
  CHECK_FALSE(parseStrategySpec("sid+", s).empty());
  CHECK_FALSE(parseStrategySpec("cookie(nope)", s).empty());
  CHECK_FALSE(parseStrategySpec("", s).empty());
  std::vector<StrategySpec> list;
  CHECK(parseStrategyList("round_robin,round_robin", list).find("twice") != std::string::npos);
  CHECK(parseStrategyList("round_robin,,sid", list).find("empty") != std::string::npos);
  CHECK(parseStrategyList("round_robin,sid,cookie", list).empty());
  CHECK(list.size() == 3);
}

TEST_CASE("every default row's YAML loads in tether with what the row names") {
  auto specs = defaultSpecs();
  REQUIRE(specs.size() == 9);
  for (const auto& spec : specs) {
    CAPTURE(spec.name);
    auto u = loadUpstream(spec);
    CHECK(u.strategy == spec.strategy);
    CHECK((u.balance_factor > 0) == spec.bounded);
    CHECK((std::find(u.affinity.begin(), u.affinity.end(), proxy::config::AffinityLayer::Sid) != u.affinity.end()) ==
          spec.has(Layer::Sid));
    CHECK((std::find(u.affinity.begin(), u.affinity.end(), proxy::config::AffinityLayer::Cookie) != u.affinity.end()) ==
          spec.has(Layer::Cookie));
    if (spec.key == KeySource::ClientId) {
      REQUIRE(u.hash_key.size() == 2);
      CHECK(u.hash_key[0].name == "x-client-id");
    }
  }
}

TEST_CASE("--e2e flags: defaults follow --clients") {
  E2eOptions o;
  REQUIRE(parseArgs({"--e2e", "--clients", "500"}, o).empty());
  CHECK(o.params.servers == 3);
  CHECK(o.params.nat_groups == 500);
  CHECK(o.params.remove_at == 500);
  CHECK(o.params.add_at == 1000);
  CHECK(o.params.cookies);
  CHECK(o.strategies.size() == 9);
  CHECK(o.plot);
  REQUIRE(parseArgs({"--e2e", "--strategies", "round_robin,sid", "--cookies", "drop", "--nat-groups", "10",
                     "--no-plot", "--no-churn", "--servers", "2", "--out", "/tmp/x"},
                    o)
              .empty());
  CHECK(o.strategies.size() == 2);
  CHECK(o.strategies[1].name == "sid");
  CHECK_FALSE(o.params.cookies);
  CHECK_FALSE(o.params.churn);
  CHECK(o.params.nat_groups == 10);
  CHECK(o.out_dir == "/tmp/x");
}

TEST_CASE("--e2e flags: errors") {
  E2eOptions o;
  CHECK(parseArgs({"--e2e", "--bogus"}, o) == "unknown flag '--bogus'");
  CHECK(parseArgs({"--e2e", "--strategies", "round_robin,nope"}, o).find("unknown strategy 'nope'") == 0);
  CHECK(parseArgs({"--e2e", "--clients"}, o) == "--clients needs a value");
  CHECK_FALSE(parseArgs({"--e2e", "--clients", "0"}, o).empty());
  CHECK_FALSE(parseArgs({"--e2e", "--clients", "12x"}, o).empty());
  CHECK_FALSE(parseArgs({"--e2e", "--servers", "1"}, o).empty());
  CHECK_FALSE(parseArgs({"--e2e", "--cookies", "maybe"}, o).empty());
  CHECK_FALSE(parseArgs({"--e2e", "--balance-factor", "1"}, o).empty());
  CHECK_FALSE(parseArgs({"--e2e", "--backend-cmd", "node server.js"}, o).empty());  // no {port}
  CHECK_FALSE(parseArgs({"--e2e", "--clients", "10", "--remove-at", "20", "--add-at", "15"}, o).empty());
  CHECK_FALSE(parseArgs({"--e2e", "--no-churn", "--remove-at", "5"}, o).empty());
  E2eOptions h;
  CHECK(parseArgs({"--e2e", "--help"}, h).empty());
  CHECK(h.help);
}

TEST_CASE("spread: max/mean and stddev/mean over the fleet, idle servers included") {
  Spread s = spreadOf({100, 100, 100});
  CHECK(s.max_over_mean == doctest::Approx(1.0));
  CHECK(s.stddev_over_mean == doctest::Approx(0.0));
  s = spreadOf({150, 50, 100});  // mean 100
  CHECK(s.max_over_mean == doctest::Approx(1.5));
  CHECK(s.stddev_over_mean == doctest::Approx(0.408248).epsilon(1e-4));
  CHECK(spreadOf({}).max_over_mean == 0);
  CHECK(spreadOf({0, 0}).max_over_mean == 0);

  E2eResult r;
  r.servers_healthy = {"srv-0", "srv-1", "srv-2"};
  r.placed_healthy = {{"srv-0", 30}, {"srv-1", 30}};  // srv-2 got nothing: mean 20
  CHECK(r.spreadHealthy().max_over_mean == doctest::Approx(1.5));
}

TEST_CASE("percentages and CPU per session") {
  E2eResult r;
  CHECK(r.brokenPct() == 0);
  CHECK(r.cpuMicrosPerSession() < 0);
  r.healthy_sessions = 200;
  r.healthy_broken = 50;
  r.remap_rm_clients = 10;
  r.remap_rm_moved = 3;
  r.sessions = 400;
  r.cpu_seconds = 0.2;
  CHECK(r.brokenPct() == doctest::Approx(25.0));
  CHECK(r.remapRemovePct() == doctest::Approx(30.0));
  CHECK(r.remapAddPct() == 0);
  CHECK(r.cpuMicrosPerSession() == doctest::Approx(500.0));
}

TEST_CASE("CSV: one row per strategy, named as given, with the simulation's prediction") {
  E2eResult a, b;
  a.name = "round_robin";
  a.servers_healthy = {"srv-0", "srv-1"};
  a.placed_healthy = {{"srv-0", 10}, {"srv-1", 10}};
  a.healthy_sessions = 20;
  a.healthy_broken = 19;
  b.name = "sid";
  StrategyResult pa;
  pa.name = "round_robin";
  pa.broken = 93.75;
  pa.spread = 1.0;
  std::string csv = toE2eCsv({a, b}, {pa, StrategyResult{}});
  auto first_nl = csv.find('\n');
  std::string header = csv.substr(0, first_nl);
  CHECK(header.rfind("strategy,max_over_mean,", 0) == 0);
  CHECK(header.find(",sim_broken_pct,") != std::string::npos);
  size_t lines = 0;
  for (char c : csv) lines += c == '\n';
  CHECK(lines == 3);
  std::string row = csv.substr(first_nl + 1, csv.find('\n', first_nl + 1) - first_nl - 1);
  CHECK(row.rfind("round_robin,1.0000,0.0000,", 0) == 0);
  CHECK(row.find(",95.000,") != std::string::npos);  // broken: 19 of 20
  CHECK(row.find(",93.750,") != std::string::npos);  // predicted
  CHECK(csv.find("\nsid,") != std::string::npos);
}

TEST_CASE("cookie jar: Set-Cookie replaces by name, ignores junk") {
  std::vector<std::pair<std::string, std::string>> jar;
  storeCookie(jar, "tether_sid=abc");
  storeCookie(jar, "other=1");
  storeCookie(jar, "tether_sid=def");
  storeCookie(jar, "=nameless");
  storeCookie(jar, "novalue");
  REQUIRE(jar.size() == 2);
  CHECK(jar[0] == std::make_pair(std::string("tether_sid"), std::string("def")));
  CHECK(jar[1].first == "other");
}

TEST_CASE("--e2e flags: --configs and --target replace --strategies and run without churn") {
  E2eOptions o;
  REQUIRE(parseArgs({"--e2e", "--configs", "a.yaml,conf/b.yaml"}, o).empty());
  CHECK(o.configs == std::vector<std::string>{"a.yaml", "conf/b.yaml"});
  CHECK(o.strategies.empty());
  CHECK_FALSE(o.params.churn);
  REQUIRE(parseArgs({"--e2e", "--target", "http://127.0.0.1:8080", "--target-pid", "42"}, o).empty());
  CHECK(o.target_url == "http://127.0.0.1:8080");
  CHECK(o.target_pid == 42);
  CHECK(o.strategies.empty());
  CHECK_FALSE(o.params.churn);
  CHECK_FALSE(parseArgs({"--e2e", "--configs", "a.yaml", "--strategies", "sid"}, o).empty());
  CHECK_FALSE(parseArgs({"--e2e", "--configs", "a.yaml,,b.yaml"}, o).empty());
  CHECK_FALSE(parseArgs({"--e2e", "--configs", "a.yaml", "--remove-at", "10"}, o).empty());
  CHECK_FALSE(parseArgs({"--e2e", "--target", "ws://127.0.0.1:8080"}, o).empty());
  CHECK_FALSE(parseArgs({"--e2e", "--target-pid", "42"}, o).empty());
}

TEST_CASE("CSV: a row without a prediction leaves the sim columns empty; names with commas are quoted") {
  E2eResult a;
  a.name = "http://127.0.0.1:1/x,y";
  std::string csv = toE2eCsv({a}, {StrategyResult{}});
  std::string row = csv.substr(csv.find('\n') + 1);
  CHECK(row.rfind("\"http://127.0.0.1:1/x,y\",", 0) == 0);
  CHECK(row.size() > 5);
  CHECK(row.substr(row.size() - 5) == ",,,,\n");
}
