// `tether-bench affinity`: flags -> SimConfig -> table on stdout, CSV + PNG (gnuplot) in --out.
// With --e2e the arguments go to the end-to-end driver (e2e_main.h) instead.
#include "bench/affinity/main_affinity.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "bench/affinity/affinity_sim.h"
#include "bench/affinity/e2e_main.h"
#include "bench/common/out_dir.h"

namespace {

constexpr const char* kUsage =
    "usage: tether-bench affinity [--clients N] [--nat-groups N] [--servers N] [--polls N] [--wave N]\n"
    "                             [--balance-factor F] [--picks N] [--hot-share F] [--hot-keys N]\n"
    "                             [--out DIR] [--no-plot]\n"
    "       tether-bench affinity --e2e ...   (measured on real processes; --e2e --help)\n"
    "  simulates Socket.IO sessions against every strategy, with uniform keys and with --hot-share\n"
    "  (default 0.2) of the clients on --hot-keys (default 4) keys; writes DIR/affinity_bench.csv,\n"
    "  DIR/affinity_bench_skewed.csv and DIR/affinity_bench.png (DIR: $TMPDIR/tether-bench)\n";

}  // namespace

namespace bench::affinity {
namespace {

bool writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

bool haveGnuplot() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

}  // namespace

int runGnuplot(const std::string& script_path, const std::string& script, const std::string& png) {
  if (!haveGnuplot()) {
    std::fprintf(stderr, "gnuplot not found: no plot (%s); install gnuplot-nox or pass --no-plot\n", png.c_str());
    return 0;
  }
  if (!writeFile(script_path, script)) {
    std::fprintf(stderr, "cannot write %s\n", script_path.c_str());
    return 1;
  }
  int rc = std::system(("gnuplot '" + script_path + "'").c_str());
  std::remove(script_path.c_str());
  if (rc != 0) {
    std::fprintf(stderr, "gnuplot failed (%d)\n", rc);
    return 1;
  }
  std::printf("wrote %s\n", png.c_str());
  return 0;
}

int affinityMain(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--e2e") return e2eMain(argc, argv);
  bench::affinity::SimConfig cfg;
  std::string out_dir = bench::defaultOutDir();
  bool plot = true;
  double hot_share = 0.2;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-plot") {
      plot = false;
      continue;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n%s", a.c_str(), kUsage);
      return 2;
    }
    std::string v = argv[++i];
    char* end = nullptr;
    unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    bool numeric = end && *end == 0;
    if (a == "--out") out_dir = v;
    else if (a == "--balance-factor") cfg.balance_factor = std::strtod(v.c_str(), nullptr);
    else if (a == "--hot-share") hot_share = std::strtod(v.c_str(), nullptr);
    else if (!numeric || n == 0) {
      std::fprintf(stderr, "bad value for %s: %s\n%s", a.c_str(), v.c_str(), kUsage);
      return 2;
    } else if (a == "--clients") cfg.clients = n;
    else if (a == "--nat-groups") cfg.nat_groups = n;
    else if (a == "--servers") cfg.servers = n;
    else if (a == "--polls") cfg.polls = n;
    else if (a == "--wave") cfg.wave = n;
    else if (a == "--picks") cfg.pick_iterations = n;
    else if (a == "--hot-keys") cfg.hot_keys = n;
    else {
      std::fprintf(stderr, "unknown flag %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (cfg.servers < 2) {
    std::fprintf(stderr, "--servers must be at least 2\n");
    return 2;
  }
  if (hot_share < 0 || hot_share > 1) {
    std::fprintf(stderr, "--hot-share must be in [0, 1]\n");
    return 2;
  }
  auto results = bench::affinity::runSimulation(cfg);
  std::fputs(bench::affinity::formatTable(cfg, results).c_str(), stdout);
  bench::affinity::SimConfig skewed_cfg = cfg;
  skewed_cfg.hot_share = hot_share;
  skewed_cfg.pick_iterations = 0;  // pick cost does not depend on the key mix
  auto skewed = bench::affinity::runSimulation(skewed_cfg);
  std::fputs("\n", stdout);
  std::fputs(bench::affinity::formatTable(skewed_cfg, skewed).c_str(), stdout);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  std::string csv = out_dir + "/affinity_bench.csv";
  std::string skewed_csv = out_dir + "/affinity_bench_skewed.csv";
  std::string png = out_dir + "/affinity_bench.png";
  if (!writeFile(csv, bench::affinity::toCsv(results)) || !writeFile(skewed_csv, bench::affinity::toCsv(skewed))) {
    std::fprintf(stderr, "cannot write %s\n", csv.c_str());
    return 1;
  }
  std::printf("wrote %s %s\n", csv.c_str(), skewed_csv.c_str());
  if (!plot) return 0;
  return runGnuplot(out_dir + "/.affinity_bench.gnuplot", bench::affinity::gnuplotScript(csv, skewed_csv, png), png);
}

}  // namespace bench::affinity
