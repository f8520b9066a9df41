// The --e2e driver: per strategy, a fresh stack (backends + tether), the traffic with churn,
// the figures; then the table, the simulation's table for the same parameters, CSV and plot.
#include "bench/affinity/e2e_main.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/affinity/affinity_sim.h"
#include "bench/affinity/e2e_options.h"
#include "bench/affinity/e2e_runner.h"
#include "bench/affinity/main_affinity.h"
#include "bench/affinity/processes.h"
#include "bench/affinity/stack.h"

namespace bench::affinity {
namespace {

// Client source addresses: 127.1.0.0 + group (the simulation's NAT-group numbering).
constexpr uint32_t kClientAddressBase = 0x7F010000;

// `explicit_path`, else the first of `candidates` (relative to tether-bench's folder) that is
// executable. "" when none.
std::string findBinary(const std::string& explicit_path, const std::vector<std::string>& candidates) {
  if (!explicit_path.empty()) return ::access(explicit_path.c_str(), X_OK) == 0 ? explicit_path : "";
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (const auto& c : candidates) {
    auto p = (self.parent_path() / c).lexically_normal();
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

std::string serverName(size_t i) { return "srv-" + std::to_string(i); }

// One strategy on a fresh stack. "" or what went wrong.
std::string runStrategy(const E2eOptions& o, const StrategySpec& spec, ProcessSet& procs, const StackOptions& so,
                        const SimConfig& addresses, E2eResult& r) {
  const E2eParams& p = o.params;
  Stack stack(procs, so);
  std::vector<std::string> members;
  for (size_t i = 0; i < p.servers; ++i) {
    if (std::string err = stack.startBackend(serverName(i)); !err.empty()) return err;
    members.push_back(serverName(i));
  }
  if (std::string err = stack.startTether(spec, members); !err.empty()) return err;
  r.name = spec.name;
  r.servers_healthy = members;
  const std::string removed = serverName(p.servers / 2), added = serverName(p.servers);
  ChurnHooks hooks;
  hooks.remove = [&]() -> std::string {
    members.erase(std::find(members.begin(), members.end(), removed));
    if (std::string err = stack.reload(members); !err.empty()) return err;
    return stack.killBackend(removed);
  };
  hooks.add = [&]() -> std::string {
    if (std::string err = stack.startBackend(added); !err.empty()) return err;
    members.push_back(added);
    r.servers_after_add = members;
    return stack.reload(members);
  };
  double cpu0 = cpuSeconds(stack.tetherPid());
  std::string err;
  {
    TrafficRun traffic(p, addresses, o.session_timeout_s, stack.port(), hooks);
    err = traffic.run(r);
  }
  double cpu1 = cpuSeconds(stack.tetherPid());
  if (cpu0 >= 0 && cpu1 >= cpu0) r.cpu_seconds = cpu1 - cpu0;
  stack.stopTether();
  stack.stopBackends();
  return err;
}

bool writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int e2eMain(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  E2eOptions o;
  if (std::string err = parseE2eOptions(args, o); !err.empty()) {
    std::fprintf(stderr, "tether-bench affinity --e2e: %s\n%s", err.c_str(), kE2eUsage);
    return 2;
  }
  if (o.help) {
    std::fputs(kE2eUsage, stdout);
    return 0;
  }
  StackOptions so;
  so.tether_bin = findBinary(o.tether_bin, {"../proxy/tether", "tether"});
  so.chat_bin = o.backend_cmd.empty() ? findBinary(o.chat_bin, {"../backend/tether-chat", "tether-chat"}) : "";
  so.backend_cmd = o.backend_cmd;
  so.workers = o.workers;
  so.balance_factor = o.balance_factor;
  if (so.tether_bin.empty() || (o.backend_cmd.empty() && so.chat_bin.empty())) {
    std::fprintf(stderr, "tether-bench affinity --e2e: %s not found (pass --tether / --tether-chat)\n",
                 so.tether_bin.empty() ? "tether" : "tether-chat");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  installInterruptHandlers();
  ProcessSet procs;
  if (std::string err = procs.makeTempDir(); !err.empty()) {
    std::fprintf(stderr, "tether-bench affinity --e2e: %s\n", err.c_str());
    return 1;
  }

  SimConfig sim;
  sim.clients = o.params.clients;
  sim.nat_groups = o.params.nat_groups;
  sim.servers = o.params.servers;
  sim.polls = 3;
  sim.wave = o.params.wave;
  sim.balance_factor = o.balance_factor;
  sim.pick_iterations = 0;
  sim.address_base = kClientAddressBase;

  std::vector<E2eResult> results;
  int rc = 0;
  for (const auto& spec : o.strategies) {
    results.emplace_back();
    E2eResult& r = results.back();
    std::fprintf(stderr, "e2e %s ...\n", spec.name.c_str());
    std::string err = runStrategy(o, spec, procs, so, sim, r);
    if (!err.empty()) {
      std::fprintf(stderr, "e2e %s: %s\n", spec.name.c_str(), err.c_str());
      rc = 1;
      break;
    }
    std::fprintf(stderr, "e2e %s: %zu sessions in %.1f s (%zu broken, %zu failed)\n", spec.name.c_str(), r.sessions,
                 r.wall_seconds, r.broken, r.failed);
    size_t shown = 0;
    for (const auto& [what, n] : r.errors)
      if (shown++ < 3) std::fprintf(stderr, "    %zu x %s\n", n, what.c_str());
  }
  std::vector<StrategySpec> ran(o.strategies.begin(), o.strategies.begin() + static_cast<long>(results.size()));
  auto predicted = runSimulation(sim, ran);
  std::fputs(formatE2eTable(o.params, results).c_str(), stdout);
  std::fputs("\nsimulation, same parameters:\n", stdout);
  std::fputs(formatTable(sim, predicted).c_str(), stdout);
  std::string csv = o.out_dir + "/affinity_e2e.csv", png = o.out_dir + "/affinity_e2e.png";
  if (!writeFile(csv, toE2eCsv(results, predicted))) {
    std::fprintf(stderr, "cannot write %s\n", csv.c_str());
    return 1;
  }
  std::printf("wrote %s\n", csv.c_str());
  if (o.plot && rc == 0) {
    char title[200];
    std::snprintf(title, sizeof(title), "tether-bench affinity --e2e: %zu servers, %zu clients (measured vs simulation)",
                  o.params.servers, o.params.clients);
    rc = runGnuplot(o.out_dir + "/.affinity_e2e.gnuplot", e2eGnuplotScript(csv, png, title), png);
  }
  return rc;
}

}  // namespace bench::affinity
