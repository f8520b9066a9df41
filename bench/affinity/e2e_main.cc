// The --e2e driver: per row (a --strategies entry, a --configs file, or the --target), the
// system under test, the traffic (with churn for --strategies), the figures; then the table,
// the simulation's table for the same parameters, CSV and plot.
#include "bench/affinity/e2e_main.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "bench/affinity/affinity_sim.h"
#include "bench/affinity/e2e_options.h"
#include "bench/affinity/e2e_runner.h"
#include "bench/affinity/main_affinity.h"
#include "bench/affinity/processes.h"
#include "bench/affinity/stack.h"
#include "bench/common/target.h"
#include "common/uv_util.h"
#include "proxy/config/config_loader.h"

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

bool isLoopbackV4(const sockaddr_storage& ss) {
  if (ss.ss_family != AF_INET) return false;
  return (ntohl(reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr.s_addr) >> 24) == 127;
}

// Runs the traffic against `target`, with tether's CPU time when `pid` > 0.
std::string measure(const E2eOptions& o, const SimConfig& addresses, const sockaddr_in& target, const std::string& host,
                    pid_t pid, ChurnHooks hooks, E2eResult& r) {
  double cpu0 = pid > 0 ? cpuSeconds(pid) : -1;
  std::string err;
  {
    TrafficRun traffic(o.params, addresses, o.session_timeout_s, target, host, std::move(hooks));
    err = traffic.run(r);
  }
  double cpu1 = pid > 0 ? cpuSeconds(pid) : -1;
  if (cpu0 >= 0 && cpu1 >= cpu0) r.cpu_seconds = cpu1 - cpu0;
  return err;
}

// One --strategies row on a fresh stack, with the churn. "" or what went wrong.
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
  std::string err = measure(o, addresses, loopback(stack.port()), "127.0.0.1:" + std::to_string(stack.port()),
                            stack.tetherPid(), hooks, r);
  stack.stopTether();
  stack.stopBackends();
  return err;
}

// What the simulation can model of a user's upstream, if anything: its strategy and layers with
// equal weights and the client address (or X-Client-Id) as the key.
std::optional<StrategySpec> modelOf(const proxy::config::UpstreamConfig& u, const std::string& name) {
  StrategySpec s;
  s.name = name;
  s.strategy = u.strategy;
  s.bounded = u.balance_factor > 0;
  for (auto l : u.affinity) s.layers.push_back(l == proxy::config::AffinityLayer::Sid ? Layer::Sid : Layer::Cookie);
  for (const auto& srv : u.servers)
    if (srv.weight != 1 || srv.backup) return std::nullopt;
  if (u.strategy == "ip_hash") {
    if (u.ipv4_prefix != 32) return std::nullopt;
    s.key = KeySource::ClientAddress;
  } else if (u.strategy == "consistent_hash") {
    using Kind = proxy::config::KeySource::Kind;
    if (u.hash_key.empty() || u.hash_key[0].kind == Kind::RemoteAddr) s.key = KeySource::ClientAddress;
    else if (u.hash_key[0].kind == Kind::Header && u.hash_key[0].name == "x-client-id") s.key = KeySource::ClientId;
    else return std::nullopt;
  } else if (u.strategy != "round_robin" && u.strategy != "least_conn") {
    return std::nullopt;
  }
  return s;
}

// One --configs row: backends on its servers' addresses, tether on the file as it is.
std::string runConfig(const E2eOptions& o, const std::string& path, ProcessSet& procs, const StackOptions& so,
                      const SimConfig& addresses, E2eResult& r, std::optional<StrategyResult>& predicted) {
  proxy::config::Config cfg;
  auto loaded = proxy::config::loadConfigFile(path, cfg);
  if (!loaded.ok) return loaded.error;
  if (cfg.listeners.empty() || cfg.listeners[0].tls_enabled || !isLoopbackV4(cfg.listeners[0].sockaddr))
    return path + ": the first listener must be plain HTTP on 127.0.0.0/8";
  if (cfg.upstreams.size() != 1 || cfg.upstreams[0].servers.size() < 2 || !cfg.upstreams[0].resolve.empty())
    return path + ": needs exactly one upstream with at least two listed servers";
  const auto& u = cfg.upstreams[0];
  Stack stack(procs, so);
  for (const auto& srv : u.servers) {
    if (!isLoopbackV4(srv.sockaddr)) return path + ": server " + srv.name + " is not on 127.0.0.0/8";
    std::string host = common::formatIp(reinterpret_cast<const sockaddr*>(&srv.sockaddr));
    int port = ntohs(reinterpret_cast<const sockaddr_in*>(&srv.sockaddr)->sin_port);
    if (std::string err = stack.startBackend(srv.name, host, port); !err.empty()) return err;
    r.servers_healthy.push_back(srv.name);
  }
  const auto* listen = reinterpret_cast<const sockaddr_in*>(&cfg.listeners[0].sockaddr);
  int port = ntohs(listen->sin_port);
  if (std::string err = stack.startTetherFile(path, port); !err.empty()) return err;
  std::string err = measure(o, addresses, *listen, cfg.listeners[0].address, stack.tetherPid(), {}, r);
  stack.stopTether();
  stack.stopBackends();
  if (auto spec = modelOf(u, path)) {
    SimConfig sim = addresses;
    sim.servers = u.servers.size();
    sim.server_names = r.servers_healthy;
    sim.balance_factor = u.balance_factor > 0 ? u.balance_factor : sim.balance_factor;
    predicted = runSimulation(sim, {*spec}).at(0);
  }
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
  Target target;
  if (!o.target_url.empty()) {
    std::string err = parseLoopbackTarget(o.target_url, target);
    if (err.empty() && target.addr.ss_family != AF_INET) err = "IPv4 loopback only (clients bind 127.1.x.y)";
    if (!err.empty()) {
      std::fprintf(stderr, "tether-bench affinity --e2e: --target %s: %s\n", o.target_url.c_str(), err.c_str());
      return 2;
    }
  }
  StackOptions so;
  so.tether_bin = findBinary(o.tether_bin, {"../proxy/tether", "tether"});
  so.chat_bin = o.backend_cmd.empty() ? findBinary(o.chat_bin, {"../backend/tether-chat", "tether-chat"}) : "";
  so.backend_cmd = o.backend_cmd;
  so.workers = o.workers;
  so.balance_factor = o.balance_factor;
  if (o.target_url.empty() && (so.tether_bin.empty() || (o.backend_cmd.empty() && so.chat_bin.empty()))) {
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

  std::vector<std::string> names;
  for (const auto& s : o.strategies) names.push_back(s.name);
  for (const auto& c : o.configs) names.push_back(c);
  if (!o.target_url.empty()) names.push_back(o.target_url);

  std::vector<E2eResult> results;
  std::vector<StrategyResult> predicted;
  int rc = 0;
  for (size_t i = 0; i < names.size() && rc == 0; ++i) {
    results.emplace_back();
    E2eResult& r = results.back();
    r.name = names[i];
    std::fprintf(stderr, "e2e %s ...\n", r.name.c_str());
    std::string err;
    std::optional<StrategyResult> prediction;
    if (i < o.strategies.size()) {
      err = runStrategy(o, o.strategies[i], procs, so, sim, r);
      prediction = runSimulation(sim, {o.strategies[i]}).at(0);
    } else if (!o.configs.empty()) {
      err = runConfig(o, names[i], procs, so, sim, r, prediction);
    } else {
      err = measure(o, sim, *reinterpret_cast<const sockaddr_in*>(&target.addr), target.host, o.target_pid, {}, r);
    }
    predicted.push_back(prediction.value_or(StrategyResult{}));
    if (!err.empty()) {
      std::fprintf(stderr, "e2e %s: %s\n", r.name.c_str(), err.c_str());
      rc = 1;
      break;
    }
    std::fprintf(stderr, "e2e %s: %zu sessions in %.1f s (%zu broken, %zu failed)\n", r.name.c_str(), r.sessions,
                 r.wall_seconds, r.broken, r.failed);
    size_t shown = 0;
    for (const auto& [what, n] : r.errors)
      if (shown++ < 3) std::fprintf(stderr, "    %zu x %s\n", n, what.c_str());
  }
  std::fputs(formatE2eTable(o.params, results).c_str(), stdout);
  std::vector<StrategyResult> modelled;
  for (const auto& p : predicted)
    if (!p.name.empty()) modelled.push_back(p);
  if (!modelled.empty()) {
    std::fputs("\nsimulation, same parameters:\n", stdout);
    std::fputs(formatTable(sim, modelled).c_str(), stdout);
  }
  std::string csv = o.out_dir + "/affinity_e2e.csv", png = o.out_dir + "/affinity_e2e.png";
  if (!writeFile(csv, toE2eCsv(results, predicted))) {
    std::fprintf(stderr, "cannot write %s\n", csv.c_str());
    return 1;
  }
  std::printf("wrote %s\n", csv.c_str());
  if (o.plot && rc == 0) {
    char title[200];
    std::snprintf(title, sizeof(title), "tether-bench affinity --e2e: %zu clients (measured vs simulation)",
                  o.params.clients);
    rc = runGnuplot(o.out_dir + "/.affinity_e2e.gnuplot", e2eGnuplotScript(csv, png, title), png);
  }
  return rc;
}

}  // namespace bench::affinity
