// tether + backends on loopback for the e2e run; see stack.h.
#include "bench/affinity/stack.h"

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

namespace bench::affinity {
namespace {

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

}  // namespace

std::string Stack::startBackend(const std::string& name, const std::string& host, int port) {
  if (port <= 0) port = freeLoopbackPort();
  if (port < 0) return "no free port for " + name;
  std::vector<std::string> argv;
  if (options_.backend_cmd.empty()) {
    argv = {options_.chat_bin, "--host", host, "--port", std::to_string(port), "--id", name,
            "--log-level", "warn", "--drain", "0"};
  } else {
    std::string cmd = replaceAll(replaceAll(replaceAll(options_.backend_cmd, "{port}", std::to_string(port)), "{name}", name),
                                 "{host}", host);
    argv = {"/bin/sh", "-c", "exec " + cmd};
  }
  std::string log = "backend-" + name + ".log";
  pid_t pid = procs_.spawn(argv, log);
  if (pid < 0) return "cannot start backend " + name;
  if (!waitForPort(host, port, 10) || !procs_.alive(pid)) return "backend " + name + " did not listen:\n" + procs_.tail(log);
  backends_[name] = {pid, port};
  return "";
}

std::string Stack::killBackend(const std::string& name) {
  auto it = backends_.find(name);
  if (it == backends_.end()) return "no backend " + name;
  procs_.stop(it->second.first, SIGKILL, 2);
  backends_.erase(it);
  return "";
}

void Stack::stopBackends() {
  for (auto& [name, b] : backends_) procs_.stop(b.first, SIGTERM, 3);
  backends_.clear();
}

std::string Stack::writeConfig(const std::vector<std::string>& members) {
  std::string y = "workers: " + std::to_string(options_.workers) + "\n";
  y += "listeners:\n  - name: web\n    address: 127.0.0.1:" + std::to_string(port_) + "\n";
  y += "admin:\n  address: 127.0.0.1:" + std::to_string(admin_port_) + "\n";
  y += "upstreams:\n  app:\n" + upstreamYaml(spec_, options_.balance_factor) + "    retries: 1\n    servers:\n";
  for (const auto& name : members) {
    auto it = backends_.find(name);
    if (it == backends_.end()) return "no backend " + name;
    y += "      - {address: 127.0.0.1:" + std::to_string(it->second.second) + ", name: " + name + "}\n";
  }
  std::ofstream out(config_path_, std::ios::trunc);
  out << y;
  return out ? "" : "cannot write " + config_path_;
}

std::string Stack::startTether(const StrategySpec& spec, const std::vector<std::string>& members) {
  spec_ = spec;
  port_ = freeLoopbackPort();
  admin_port_ = freeLoopbackPort();
  if (port_ < 0 || admin_port_ < 0 || port_ == admin_port_) return "no free ports for tether";
  ++starts_;
  config_path_ = procs_.dir() + "/tether-" + std::to_string(starts_) + ".yaml";
  log_name_ = "tether-" + std::to_string(starts_) + ".log";
  if (std::string err = writeConfig(members); !err.empty()) return err;
  tether_pid_ = procs_.spawn({options_.tether_bin, "-c", config_path_, "--log-level", "warn"}, log_name_);
  if (tether_pid_ < 0) return "cannot start " + options_.tether_bin;
  if (!waitForPort("127.0.0.1", port_, 10) || !waitForPort("127.0.0.1", admin_port_, 5) || !procs_.alive(tether_pid_))
    return "tether did not start (" + config_path_ + "):\n" + procs_.tail(log_name_);
  generation_ = generation();
  return generation_ > 0 ? "" : "tether's admin /metrics has no tether_config_generation";
}

std::string Stack::startTetherFile(const std::string& path, int port) {
  port_ = port;
  ++starts_;
  log_name_ = "tether-" + std::to_string(starts_) + ".log";
  tether_pid_ = procs_.spawn({options_.tether_bin, "-c", path, "--log-level", "warn"}, log_name_);
  if (tether_pid_ < 0) return "cannot start " + options_.tether_bin;
  if (!waitForPort("127.0.0.1", port_, 10) || !procs_.alive(tether_pid_))
    return "tether did not start on " + path + ":\n" + procs_.tail(log_name_);
  return "";
}

int Stack::generation() {
  std::string body = httpGet(admin_port_, "/metrics", 2);
  const std::string key = "\ntether_config_generation ";
  size_t at = body.find(key);
  return at == std::string::npos ? -1 : std::atoi(body.c_str() + at + key.size());
}

std::string Stack::reload(const std::vector<std::string>& members) {
  if (std::string err = writeConfig(members); !err.empty()) return err;
  if (!procs_.signal(tether_pid_, SIGHUP)) return "tether is not running";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && !interrupted()) {
    int g = generation();
    if (g > generation_) {
      generation_ = g;
      return "";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return "tether did not reload:\n" + procs_.tail(log_name_);
}

std::string Stack::stopTether() {
  if (tether_pid_ < 0) return "";
  procs_.stop(tether_pid_, SIGTERM, 10);
  tether_pid_ = -1;
  return "";
}

}  // namespace bench::affinity
