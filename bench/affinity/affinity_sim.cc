// The affinity simulation: see affinity_sim.h.
#include "bench/affinity/affinity_sim.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <random>
#include <unordered_map>

#include "common/hash.h"
#include "proxy/config/config.h"
#include "proxy/lb/affinity/cookie.h"
#include "proxy/lb/affinity/sid.h"
#include "proxy/lb/key_extractor.h"
#include "proxy/lb/registry.h"

namespace bench::affinity {
namespace {

using namespace proxy;

std::string formatAddress(uint32_t a) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a >> 24 & 0xff, a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff);
  return buf;
}

// One fleet as the proxy would build it after a server-set change.
struct Fleet {
  std::vector<std::string> names;
  config::UpstreamConfig cfg;
  lb::SelectorPtr selector;
  std::unique_ptr<lb::CookieAffinity> cookie;
  std::unordered_map<std::string, uint32_t> by_name;
};

Fleet buildFleet(const StrategySpec& v, const std::vector<std::string>& names, double factor) {
  Fleet f;
  f.names = names;
  f.cfg.name = "bench";
  f.cfg.strategy = v.strategy;
  f.cfg.balance_factor = v.bounded ? factor : 0;
  std::vector<lb::ServerSpec> specs;
  for (const auto& n : f.names) specs.push_back({n, 1, false});
  f.selector = lb::findStrategy(v.strategy)->build(specs, f.cfg);
  if (v.has(Layer::Cookie)) f.cookie = std::make_unique<lb::CookieAffinity>("bench", specs, config::CookieConfig{});
  for (uint32_t i = 0; i < f.names.size(); ++i) f.by_name[f.names[i]] = i;
  return f;
}

struct Client {
  uint64_t key = 0;
  std::string cookie;      // the tether_sid value the browser keeps, "" if none
  int server = -1;         // this phase's handshake server (index into the fleet)
  std::string server_name; // previous phase's server, for remapping
  bool broken = false;
};

struct PhaseStats {
  double spread = 0, stddev = 0, broken = 0, remapped = 0;
};

// Runs one phase: every client opens one session. Returns its stats.
PhaseStats runPhase(const StrategySpec& v, Fleet& f, std::vector<Client>& clients, const SimConfig& cfg, bool compare) {
  size_t n = f.names.size();
  std::vector<uint32_t> active(n, 0);
  std::vector<uint32_t> assigned(n, 0);  // sessions placed per server (broken or not)
  lb::PickState state;
  std::unordered_map<uint64_t, uint32_t> sids;  // the sid table (one process: a map is enough)
  size_t broken = 0, remapped = 0;
  const bool has_sid = v.has(Layer::Sid);
  auto pick = [&](Client& c, uint64_t sid, bool handshake) -> int {
    for (Layer l : v.layers) {  // the layers in `affinity:` order, then the strategy
      if (l == Layer::Sid && !handshake) {
        auto it = sids.find(sid);
        if (it != sids.end()) return static_cast<int>(it->second);
      }
      if (l == Layer::Cookie && f.cookie && !c.cookie.empty()) {
        int s = f.cookie->serverFor("tether_sid=" + c.cookie);
        if (s >= 0) return s;
      }
    }
    lb::PickContext ctx;
    ctx.active = active;
    ctx.has_key = v.key != KeySource::None;
    ctx.key = c.key;
    return f.selector->pick(ctx, state);
  };
  // Requests of concurrent sessions arrive interleaved: each step visits the wave in a fresh
  // (seeded, reproducible) order, or round-robin would trivially repeat its sequence.
  std::mt19937_64 rng(12345);
  std::vector<size_t> order;
  for (size_t start = 0; start < clients.size(); start += cfg.wave) {
    size_t end = std::min(clients.size(), start + cfg.wave);
    order.resize(end - start);
    std::iota(order.begin(), order.end(), start);
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t i : order) {  // handshakes
      Client& c = clients[i];
      c.broken = false;
      c.server = pick(c, 0, true);
      ++active[static_cast<size_t>(c.server)];  // the pending long-poll
      ++assigned[static_cast<size_t>(c.server)];
      if (has_sid) sids[common::mix64(i + 1)] = static_cast<uint32_t>(c.server);
      if (f.cookie) c.cookie = std::string(f.cookie->id(static_cast<uint32_t>(c.server)));
      if (compare && f.names[static_cast<size_t>(c.server)] != c.server_name) ++remapped;
      c.server_name = f.names[static_cast<size_t>(c.server)];
    }
    for (size_t step = 0; step <= cfg.polls; ++step) {  // polls, then the upgrade
      std::shuffle(order.begin(), order.end(), rng);
      for (size_t i : order) {
        Client& c = clients[i];
        if (c.broken) continue;
        if (pick(c, common::mix64(i + 1), false) != c.server) {
          c.broken = true;
          ++broken;
          --active[static_cast<size_t>(c.server)];
        }
      }
    }
  }
  PhaseStats st;
  double total = 0, worst = 0, sq = 0;
  for (uint32_t a : assigned) total += a, worst = std::max<double>(worst, a);
  double mean = total / static_cast<double>(n);
  for (uint32_t a : assigned) sq += (a - mean) * (a - mean);
  st.spread = mean > 0 ? worst / mean : 0;
  st.stddev = mean > 0 ? std::sqrt(sq / static_cast<double>(n)) / mean : 0;
  st.broken = 100.0 * static_cast<double>(broken) / static_cast<double>(clients.size());
  st.remapped = 100.0 * static_cast<double>(remapped) / static_cast<double>(clients.size());
  return st;
}

// One core, a stream of distinct keys, loads held at a realistic level.
double picksPerSecond(const StrategySpec& v, const Fleet& f, size_t iterations) {
  std::vector<uint32_t> active(f.names.size(), 1000);
  lb::PickState state;
  std::string cookie_header = f.cookie ? "a=1; tether_sid=" + std::string(f.cookie->id(0)) : "";
  auto& table = lb::SidTable::global();
  const bool has_sid = v.has(Layer::Sid);
  if (has_sid) table.learn(lb::SidTable::keyOf(7, "bench-sid-0000000000"), 0, 60'000, 0);
  uint64_t sink = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < iterations; ++i) {
    if (has_sid) {  // the layer's lookup (shared, sharded, locked) before the strategy
      uint64_t key = lb::SidTable::keyOf(7, "bench-sid-0000000000");  // the layer hashes each request's sid
      sink += static_cast<uint64_t>(table.find(key, 1) + 1);
    }
    if (f.cookie) sink += static_cast<uint64_t>(f.cookie->serverFor(cookie_header) + 1);
    lb::PickContext ctx;
    ctx.active = active;
    ctx.has_key = v.key != KeySource::None;
    ctx.key = common::mix64(i);
    sink += static_cast<uint64_t>(f.selector->pick(ctx, state));
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (sink == 42) std::puts("");  // keep the loop
  return static_cast<double>(iterations) / secs;
}

}  // namespace

std::string clientAddress(const SimConfig& cfg, size_t client) {
  return formatAddress(cfg.address_base + static_cast<uint32_t>(cfg.hot_keys + client % cfg.nat_groups));
}

std::string clientId(size_t client) { return "user-" + std::to_string(client); }

std::vector<StrategyResult> runSimulation(const SimConfig& cfg) { return runSimulation(cfg, defaultSpecs()); }

std::vector<StrategyResult> runSimulation(const SimConfig& cfg, const std::vector<StrategySpec>& specs) {
  std::vector<std::string> names = cfg.server_names;
  if (names.empty())
    for (size_t i = 0; i < cfg.servers; ++i) names.push_back("srv-" + std::to_string(i));
  std::vector<std::string> removed = names;
  removed.erase(removed.begin() + static_cast<long>(names.size() / 2));
  std::vector<std::string> added = removed;
  added.push_back(cfg.server_names.empty() ? "srv-" + std::to_string(cfg.servers) : "added-server");

  std::vector<StrategyResult> out;
  for (const StrategySpec& v : specs) {
    std::vector<Client> clients(cfg.clients);
    for (size_t i = 0; i < cfg.clients; ++i) {
      bool hot = cfg.hot_share > 0 && static_cast<double>(common::mix64(i) % 1'000'000) < cfg.hot_share * 1e6;
      size_t id = hot ? common::mix64(i + 77) % cfg.hot_keys : i;  // hot clients share a few keys
      std::string address = hot ? formatAddress(cfg.address_base + static_cast<uint32_t>(id)) : clientAddress(cfg, i);
      clients[i].key = v.key == KeySource::ClientAddress ? lb::hashAddress(address, 32, 128)
                                                         : lb::hashKeyValue(hot ? "hot-" + std::to_string(id) : clientId(i));
    }
    StrategyResult r;
    r.name = v.name;
    Fleet f1 = buildFleet(v, names, cfg.balance_factor);
    PhaseStats p1 = runPhase(v, f1, clients, cfg, false);
    Fleet f2 = buildFleet(v, removed, cfg.balance_factor);
    PhaseStats p2 = runPhase(v, f2, clients, cfg, true);
    Fleet f3 = buildFleet(v, added, cfg.balance_factor);
    PhaseStats p3 = runPhase(v, f3, clients, cfg, true);
    r.spread = p1.spread;
    r.stddev = p1.stddev;
    r.broken = p1.broken;
    r.remap_remove = p2.remapped;
    r.remap_add = p3.remapped;
    r.spread_after_add = p3.spread;
    r.picks_per_sec = cfg.pick_iterations ? picksPerSecond(v, f1, cfg.pick_iterations) : 0;
    out.push_back(r);
  }
  return out;
}

std::string formatTable(const SimConfig& cfg, const std::vector<StrategyResult>& results) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line),
                "tether-bench affinity: %zu clients, %zu NAT groups, %zu servers (remove srv-%zu, add srv-%zu), "
                "%zu polls + upgrade, waves of %zu, balance_factor %.2f, hot keys: %.0f%% of clients on %zu keys\n",
                cfg.clients, cfg.nat_groups, cfg.servers, cfg.servers / 2, cfg.servers, cfg.polls, cfg.wave,
                cfg.balance_factor, cfg.hot_share * 100, cfg.hot_share > 0 ? cfg.hot_keys : 0);
  out += line;
  std::snprintf(line, sizeof(line), "%-28s %8s %8s %10s %10s %9s %9s %12s\n", "strategy", "max/mean", "stddev",
                "remap-rm%", "remap-add%", "broken%", "max/mean+", "picks/s");
  out += line;
  for (const auto& r : results) {
    char picks[32] = "-";  // not measured (--picks 0, or a run without the pick-cost loop)
    if (r.picks_per_sec > 0) std::snprintf(picks, sizeof(picks), "%.3g", r.picks_per_sec);
    std::snprintf(line, sizeof(line), "%-28s %8.3f %8.3f %10.2f %10.2f %9.2f %9.3f %12s\n", r.name.c_str(),
                  r.spread, r.stddev, r.remap_remove, r.remap_add, r.broken, r.spread_after_add, picks);
    out += line;
  }
  out += "(max/mean+ = spread after the server was added; remap = % of clients whose next session lands elsewhere)\n";
  return out;
}

std::string toCsv(const std::vector<StrategyResult>& results) {
  std::string out = "strategy,max_over_mean,stddev_over_mean,remap_remove_pct,remap_add_pct,broken_pct,max_over_mean_after_add,picks_per_sec\n";
  char line[256];
  for (const auto& r : results) {
    std::snprintf(line, sizeof(line), "%s,%.4f,%.4f,%.3f,%.3f,%.3f,%.4f,%.0f\n", r.name.c_str(), r.spread, r.stddev,
                  r.remap_remove, r.remap_add, r.broken, r.spread_after_add, r.picks_per_sec);
    out += line;
  }
  return out;
}

std::string gnuplotScript(const std::string& csv, const std::string& skewed_csv, const std::string& png) {
  return "set terminal pngcairo size 1400,1300 font 'Sans,10' noenhanced\n"
         "set output '" + png + "'\n"
         "set datafile separator ','\n"
         "set key autotitle columnhead\n"
         "set style data histograms\n"
         "set style histogram clustered gap 1\n"
         "set style fill solid 0.8 border -1\n"
         "set xtics rotate by -30 scale 0\n"
         "set grid ytics\n"
         "set multiplot layout 3,1 title 'tether-bench affinity (simulation)'\n"
         "set title 'Sessions: % remapped on remove / add, % broken while healthy'\n"
         "set ylabel '%'\n"
         "set yrange [0:105]\n"
         "plot '" + csv + "' using 4:xtic(1) title 'remap on remove', '' using 5 title 'remap on add', '' using 6 title 'broken'\n"
         "set title 'Load spread: sessions placed per server (max/mean; 1.0 = perfect)'\n"
         "set ylabel 'max/mean'\n"
         "set yrange [0.9:*]\n"
         "plot '" + csv + "' using 2:xtic(1) title 'uniform keys', '' using 7 title 'uniform, after add', '" +
         skewed_csv + "' using 2 title 'skewed keys'\n"
         "set title 'Skewed keys: % sessions broken while healthy (bounded loads re-place hot keys per request)'\n"
         "set ylabel '%'\n"
         "set yrange [0:105]\n"
         "plot '" + skewed_csv + "' using 6:xtic(1) title 'broken (skewed)'\n"
         "unset multiplot\n";
}

}  // namespace bench::affinity
