// Per-strategy e2e figures and their table / CSV / plot; see e2e_stats.h.
#include "bench/affinity/e2e_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace bench::affinity {
namespace {

double pct(size_t part, size_t whole) { return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0; }

std::vector<uint64_t> countsOver(const std::map<std::string, uint64_t>& placed, const std::vector<std::string>& fleet) {
  std::vector<uint64_t> counts;
  for (const auto& name : fleet) {
    auto it = placed.find(name);
    counts.push_back(it == placed.end() ? 0 : it->second);
  }
  for (const auto& [name, n] : placed)  // a server outside the fleet (e.g. "" when unknown)
    if (std::find(fleet.begin(), fleet.end(), name) == fleet.end()) counts.push_back(n);
  return counts;
}

double ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

// A row name as one CSV field: quoted when it holds a comma or a quote.
std::string csvField(const std::string& v) {
  if (v.find_first_of(",\"") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace

Spread spreadOf(const std::vector<uint64_t>& counts) {
  Spread s;
  if (counts.empty()) return s;
  double total = 0, worst = 0, sq = 0;
  for (uint64_t c : counts) total += static_cast<double>(c), worst = std::max(worst, static_cast<double>(c));
  double mean = total / static_cast<double>(counts.size());
  if (mean <= 0) return s;
  for (uint64_t c : counts) sq += (static_cast<double>(c) - mean) * (static_cast<double>(c) - mean);
  s.max_over_mean = worst / mean;
  s.stddev_over_mean = std::sqrt(sq / static_cast<double>(counts.size())) / mean;
  return s;
}

double E2eResult::brokenPct() const { return pct(healthy_broken, healthy_sessions); }
double E2eResult::remapRemovePct() const { return pct(remap_rm_moved, remap_rm_clients); }
double E2eResult::remapAddPct() const { return pct(remap_add_moved, remap_add_clients); }
Spread E2eResult::spreadHealthy() const { return spreadOf(countsOver(placed_healthy, servers_healthy)); }
Spread E2eResult::spreadAfterAdd() const { return spreadOf(countsOver(placed_after_add, servers_after_add)); }
double E2eResult::cpuMicrosPerSession() const {
  return cpu_seconds < 0 || sessions == 0 ? -1 : cpu_seconds * 1e6 / static_cast<double>(sessions);
}

std::string formatE2eTable(const E2eParams& p, const std::vector<E2eResult>& results) {
  std::string out;
  char line[512];
  if (p.churn) {
    std::snprintf(line, sizeof(line),
                  "tether-bench affinity --e2e: %zu clients on %zu addresses, %zu servers (remove srv-%zu at session "
                  "%zu, add srv-%zu at session %zu), 3 polls + upgrade, %zu concurrent, cookies %s\n",
                  p.clients, p.nat_groups, p.servers, p.servers / 2, p.remove_at, p.servers, p.add_at, p.wave,
                  p.cookies ? "kept" : "dropped");
  } else {
    std::string fleet = p.fleet.empty() ? std::to_string(p.servers) + " servers" : p.fleet;
    std::snprintf(line, sizeof(line),
                  "tether-bench affinity --e2e: %zu clients on %zu addresses, %s (no churn), 3 polls + "
                  "upgrade, %zu concurrent, cookies %s\n",
                  p.clients, p.nat_groups, fleet.c_str(), p.wave, p.cookies ? "kept" : "dropped");
  }
  out += line;
  std::snprintf(line, sizeof(line), "%-28s %8s %8s %10s %10s %9s %9s %8s %7s %7s %7s %7s %7s %9s %7s\n", "strategy",
                "max/mean", "stddev", "remap-rm%", "remap-add%", "broken%", "max/mean+", "churn-br", "failed",
                "hs-p50", "hs-p99", "up-p50", "up-p99", "cpu-us/s", "secs");
  out += line;
  for (const auto& r : results) {
    Spread h = r.spreadHealthy(), a = r.spreadAfterAdd();
    char rmb[16] = "-", addb[16] = "-", plus[16] = "-", cpu[16] = "-", upp50[16] = "-", upp99[16] = "-";
    if (p.churn) {
      std::snprintf(rmb, sizeof(rmb), "%.2f", r.remapRemovePct());
      std::snprintf(addb, sizeof(addb), "%.2f", r.remapAddPct());
      std::snprintf(plus, sizeof(plus), "%.3f", a.max_over_mean);
    }
    if (r.cpuMicrosPerSession() >= 0) std::snprintf(cpu, sizeof(cpu), "%.0f", r.cpuMicrosPerSession());
    if (r.upgrade_us.count()) {
      std::snprintf(upp50, sizeof(upp50), "%.2f", ms(r.upgrade_us.percentile(0.5)));
      std::snprintf(upp99, sizeof(upp99), "%.2f", ms(r.upgrade_us.percentile(0.99)));
    }
    std::snprintf(line, sizeof(line), "%-28s %8.3f %8.3f %10s %10s %9.2f %9s %8zu %7zu %7.2f %7.2f %7s %7s %9s %7.1f\n",
                  r.name.c_str(), h.max_over_mean, h.stddev_over_mean, rmb, addb, r.brokenPct(), plus, r.churn_broken,
                  r.failed, ms(r.handshake_us.percentile(0.5)), ms(r.handshake_us.percentile(0.99)), upp50, upp99, cpu,
                  r.wall_seconds);
    out += line;
  }
  out += "(hs/up = handshake/upgrade latency in ms; cpu-us/s = tether CPU microseconds per session; churn-br = "
         "sessions in flight at a churn event that broke or failed)\n";
  return out;
}

std::string toE2eCsv(const std::vector<E2eResult>& results, const std::vector<StrategyResult>& predicted) {
  std::string out =
      "strategy,max_over_mean,stddev_over_mean,remap_remove_pct,remap_add_pct,broken_pct,max_over_mean_after_add,"
      "churn_broken,failed,sessions,handshake_p50_ms,handshake_p99_ms,upgrade_p50_ms,upgrade_p99_ms,"
      "cpu_us_per_session,seconds,sim_max_over_mean,sim_remap_remove_pct,sim_remap_add_pct,sim_broken_pct,"
      "sim_max_over_mean_after_add\n";
  char line[512];
  for (size_t i = 0; i < results.size(); ++i) {
    const E2eResult& r = results[i];
    StrategyResult s = i < predicted.size() ? predicted[i] : StrategyResult{};
    Spread h = r.spreadHealthy(), a = r.spreadAfterAdd();
    char cpu[32] = "";  // empty when not known
    if (r.cpuMicrosPerSession() >= 0) std::snprintf(cpu, sizeof(cpu), "%.1f", r.cpuMicrosPerSession());
    std::snprintf(line, sizeof(line), "%s,%.4f,%.4f,%.3f,%.3f,%.3f,%.4f,%zu,%zu,%zu,%.3f,%.3f,%.3f,%.3f,%s,%.2f,",
                  csvField(r.name).c_str(), h.max_over_mean, h.stddev_over_mean, r.remapRemovePct(), r.remapAddPct(),
                  r.brokenPct(), a.max_over_mean, r.churn_broken, r.failed, r.sessions,
                  ms(r.handshake_us.percentile(0.5)), ms(r.handshake_us.percentile(0.99)),
                  ms(r.upgrade_us.percentile(0.5)), ms(r.upgrade_us.percentile(0.99)), cpu, r.wall_seconds);
    out += line;
    if (s.name.empty()) {  // no prediction for this row (a running target, an unmodelled config)
      out += ",,,,\n";
      continue;
    }
    std::snprintf(line, sizeof(line), "%.4f,%.3f,%.3f,%.3f,%.4f\n", s.spread, s.remap_remove, s.remap_add, s.broken,
                  s.spread_after_add);
    out += line;
  }
  return out;
}

std::string e2eGnuplotScript(const std::string& csv, const std::string& png, const std::string& title) {
  return "set terminal pngcairo size 1400,1300 font 'Sans,10' noenhanced\n"
         "set output '" + png + "'\n"
         "set datafile separator ','\n"
         "set key autotitle columnhead\n"  // the CSV's header line is not a data row
         "set style data histograms\n"
         "set style histogram clustered gap 1\n"
         "set style fill solid 0.8 border -1\n"
         "set xtics rotate by -30 scale 0\n"
         "set grid ytics\n"
         "set key outside right top\n"
         "set multiplot layout 3,1 title '" + title + "'\n"
         "set title 'Sessions broken while healthy (%): measured vs simulated'\n"
         "set ylabel '%'\n"
         "set yrange [0:105]\n"
         "plot '" + csv + "' using 6:xtic(1) title 'measured', '' using 20 title 'simulation'\n"
         "set title 'Load spread: handshakes per server, max/mean (1.0 = perfect)'\n"
         "set ylabel 'max/mean'\n"
         "set yrange [0.9:*]\n"
         "plot '" + csv + "' using 2:xtic(1) title 'measured', '' using 17 title 'simulation', "
         "'' using 7 title 'measured, after add', '' using 21 title 'simulation, after add'\n"
         "set title 'Clients whose next session lands on another server (%)'\n"
         "set ylabel '%'\n"
         "set yrange [0:105]\n"
         "plot '" + csv + "' using 4:xtic(1) title 'remove: measured', '' using 18 title 'remove: simulation', "
         "'' using 5 title 'add: measured', '' using 19 title 'add: simulation'\n"
         "unset multiplot\n";
}

}  // namespace bench::affinity
