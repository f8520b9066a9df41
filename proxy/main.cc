// tether entry point: flags, config, workers, signals. The only file the tests do not link.
#include <signal.h>
#include <sys/resource.h>
#include <uv.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/log.h"
#include "proxy/config/config_loader.h"
#include "proxy/lb/compare.h"
#include "proxy/server/worker.h"

namespace {

constexpr const char* kUsage =
    "usage: tether -c FILE [-t] [--log-level LEVEL]\n"
    "  -c, --config FILE   configuration file (YAML)\n"
    "  -t, --test          check the configuration and exit (0 valid, 1 invalid)\n"
    "      --compare-with OLD  with -t: preview affinity changes (keys moved, load spread) from OLD\n"
    "      --keys FILE     with --compare-with: one key (or address) a line instead of a synthetic sample\n"
    "      --log-level L   debug | info | warn | error (default info)\n"
    "      --version       print the version\n"
    "  -h, --help          this text\n"
    "signals: SIGTERM/SIGINT drain and exit\n";

struct Flags {
  std::string config;
  bool test = false;
  std::string compare_with;  // affinity change preview (lb/compare.h)
  std::string keys_file;
};

int parseFlags(int argc, char** argv, Flags& f) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](const char* what) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "tether: %s needs a value\n%s", what, kUsage);
        return nullptr;
      }
      return argv[++i];
    };
    if (a == "-c" || a == "--config") {
      const char* v = next("-c");
      if (!v) return 1;
      f.config = v;
    } else if (a == "-t" || a == "--test") {
      f.test = true;
    } else if (a == "--compare-with" || a == "--keys") {
      const char* v = next(a.c_str());
      if (!v) return 1;
      (a == "--keys" ? f.keys_file : f.compare_with) = v;
    } else if (a == "--log-level") {
      const char* v = next("--log-level");
      common::LogLevel level;
      if (!v || !common::parseLogLevel(v, level)) {
        std::fprintf(stderr, "tether: --log-level must be debug, info, warn or error\n");
        return 1;
      }
      common::setLogLevel(level);
    } else if (a == "--version") {
      std::printf("tether %s\n", TETHER_VERSION);
      return -1;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return -1;
    } else {
      std::fprintf(stderr, "tether: unknown argument '%s'\n%s", a.c_str(), kUsage);
      return 1;
    }
  }
  if ((!f.compare_with.empty() || !f.keys_file.empty()) && !f.test) {
    std::fprintf(stderr, "tether: --compare-with and --keys need -t\n%s", kUsage);
    return 1;
  }
  if (f.config.empty()) {
    std::fprintf(stderr, "tether: -c FILE is required\n%s", kUsage);
    return 1;
  }
  return 0;
}

void raiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

struct MainLoop {
  uv_loop_t* loop = uv_default_loop();
  uv_signal_t sigterm, sigint;
  std::vector<std::unique_ptr<proxy::server::Worker>>* workers = nullptr;
};

void onStopSignal(uv_signal_t* h, int signum) {
  auto* m = static_cast<MainLoop*>(h->data);
  common::logInfo("shutdown", {{"signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"}});
  for (auto& w : *m->workers) w->requestStop();
  uv_close(reinterpret_cast<uv_handle_t*>(&m->sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&m->sigint), nullptr);
}

// -t --compare-with OLD: prints lb::compareConfigs(OLD, new) (affinity change preview).
int compareWith(const Flags& flags, const proxy::config::Config& now) {
  proxy::config::Config old;
  proxy::config::LoadResult r = proxy::config::loadConfigFile(flags.compare_with, old);
  if (!r.ok) {
    std::fprintf(stderr, "%s\n", r.error.c_str());
    return 1;
  }
  proxy::lb::CompareOptions opts;
  if (!flags.keys_file.empty()) {
    std::ifstream in(flags.keys_file);
    if (!in) {
      std::fprintf(stderr, "tether: cannot open keys file %s\n", flags.keys_file.c_str());
      return 1;
    }
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) opts.keys.push_back(line);
  }
  std::printf("affinity change preview: %s -> %s\n%s", flags.compare_with.c_str(), flags.config.c_str(),
              proxy::lb::formatComparison(proxy::lb::compareConfigs(old, now, opts)).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  int rc = parseFlags(argc, argv, flags);
  if (rc != 0) return rc < 0 ? 0 : 1;

  auto cfg = std::make_shared<proxy::config::Config>();
  proxy::config::LoadResult loaded = proxy::config::loadConfigFile(flags.config, *cfg);
  if (!loaded.ok) {
    std::fprintf(stderr, "%s\n", loaded.error.c_str());
    if (flags.test) std::fprintf(stderr, "tether: configuration file %s test failed\n", flags.config.c_str());
    return 1;
  }
  if (flags.test) {
    std::printf("tether: configuration file %s test is successful\n", flags.config.c_str());
    if (!flags.compare_with.empty()) return compareWith(flags, *cfg);
    return 0;
  }

  signal(SIGPIPE, SIG_IGN);
  raiseFdLimit();
  std::atomic<uint64_t> connections{0};
  std::vector<std::unique_ptr<proxy::server::Worker>> workers;
  std::shared_ptr<const proxy::config::Config> shared = cfg;
  for (unsigned i = 0; i < cfg->workers; ++i) {
    workers.push_back(std::make_unique<proxy::server::Worker>(i, shared, connections));
    std::string error;
    if (!workers.back()->bind(error)) {
      common::logError("listen_failed", {{"error", error}});
      std::fprintf(stderr, "tether: %s\n", error.c_str());
      for (auto& w : workers) w->requestStop(), w->start();
      return 1;
    }
  }
  for (auto& w : workers) w->start();
  for (const auto& l : cfg->listeners) common::logInfo("listening", {{"listener", l.name}, {"address", l.address}});
  common::logInfo("started", {{"version", TETHER_VERSION}, {"workers", cfg->workers}, {"config", flags.config}});

  MainLoop m;
  m.workers = &workers;
  uv_signal_init(m.loop, &m.sigterm);
  uv_signal_init(m.loop, &m.sigint);
  m.sigterm.data = m.sigint.data = &m;
  uv_signal_start(&m.sigterm, &onStopSignal, SIGTERM);
  uv_signal_start(&m.sigint, &onStopSignal, SIGINT);
  uv_run(m.loop, UV_RUN_DEFAULT);
  for (auto& w : workers) w->join();
  common::logInfo("stopped");
  return 0;
}
