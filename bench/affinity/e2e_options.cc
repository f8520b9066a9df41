// The --e2e flags; see e2e_options.h.
#include "bench/affinity/e2e_options.h"

#include <cstdlib>

namespace bench::affinity {

const char* const kE2eUsage =
    "usage: tether-bench affinity --e2e [--strategies LIST] [--servers N] [--clients N] [--nat-groups N]\n"
    "                             [--wave N] [--cookies keep|drop] [--remove-at N] [--add-at N] [--no-churn]\n"
    "                             [--balance-factor F] [--backend-cmd CMD] [--tether PATH] [--tether-chat PATH]\n"
    "                             [--workers N] [--session-timeout SECONDS] [--out DIR] [--no-plot]\n"
    "       tether-bench affinity --e2e --configs A.yaml,B.yaml ...   your configs, backends started on\n"
    "                             their servers' addresses (one upstream, loopback, no churn)\n"
    "       tether-bench affinity --e2e --target http://127.0.0.1:PORT [--target-pid PID] ...   a running\n"
    "                             tether (no churn; its backends must send X-Served-By)\n"
    "  Starts tether once per --strategies entry (default: the simulation's rows) in front of --servers\n"
    "  backends (tether-chat, or --backend-cmd with {port} and {name}; the backend must name itself in an\n"
    "  X-Served-By header) on 127.0.0.1, and runs 3 x --clients (default 2000) browser-like Engine.IO\n"
    "  sessions (polling handshake, CONNECT, 2 polls, websocket upgrade), --wave (64) at a time, each client\n"
    "  from its own address in 127.0.0.0/8 (--nat-groups: fewer addresses, as behind NAT). At session\n"
    "  --remove-at (default: clients) srv-N/2 is removed (config reload, then killed); at --add-at (default:\n"
    "  2 x clients) srv-N is started and added. Prints the measured table and the simulation's for the same\n"
    "  parameters; writes DIR/affinity_e2e.csv and DIR/affinity_e2e.png (gnuplot, if installed). DIR: $TMPDIR/tether-bench.\n"
    "  strategies: round_robin least_conn ip_hash consistent_hash, cookie, cookie(STRATEGY), sid, layers\n"
    "  sid+ cookie+ in front, +bounded after consistent_hash (e.g. sid+consistent_hash+bounded)\n";

namespace {

bool number(const std::string& v, size_t& out) {
  if (v.empty() || v.size() > 12) return false;
  for (char c : v)
    if (c < '0' || c > '9') return false;
  out = std::strtoull(v.c_str(), nullptr, 10);
  return true;
}

}  // namespace

std::string parseE2eOptions(const std::vector<std::string>& args, E2eOptions& o) {
  o = E2eOptions{};
  std::string strategies;
  bool nat_set = false, remove_set = false, add_set = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--e2e") continue;
    if (a == "-h" || a == "--help") {
      o.help = true;
      return "";
    }
    if (a == "--no-plot") {
      o.plot = false;
      continue;
    }
    if (a == "--no-churn") {
      o.params.churn = false;
      continue;
    }
    bool takes_value = a == "--strategies" || a == "--servers" || a == "--clients" || a == "--nat-groups" ||
                       a == "--wave" || a == "--cookies" || a == "--remove-at" || a == "--add-at" ||
                       a == "--balance-factor" || a == "--backend-cmd" || a == "--tether" || a == "--tether-chat" ||
                       a == "--workers" || a == "--session-timeout" || a == "--out" || a == "--configs" ||
                       a == "--target" || a == "--target-pid";
    if (!takes_value) return "unknown flag '" + a + "'";
    if (i + 1 >= args.size()) return a + " needs a value";
    const std::string& v = args[++i];
    size_t n = 0;
    auto positive = [&](size_t& field) -> std::string {
      if (!number(v, n) || n == 0) return "bad value for " + a + ": '" + v + "' (a positive integer)";
      field = n;
      return "";
    };
    std::string err;
    if (a == "--strategies") strategies = v;
    else if (a == "--servers") err = positive(o.params.servers);
    else if (a == "--clients") err = positive(o.params.clients);
    else if (a == "--nat-groups") err = positive(o.params.nat_groups), nat_set = true;
    else if (a == "--wave") err = positive(o.params.wave);
    else if (a == "--remove-at") err = positive(o.params.remove_at), remove_set = true;
    else if (a == "--add-at") err = positive(o.params.add_at), add_set = true;
    else if (a == "--cookies") {
      if (v != "keep" && v != "drop") return "bad value for --cookies: '" + v + "' (keep or drop)";
      o.params.cookies = v == "keep";
    } else if (a == "--balance-factor") {
      char* end = nullptr;
      o.balance_factor = std::strtod(v.c_str(), &end);
      if (!end || *end || !(o.balance_factor > 1)) return "bad value for --balance-factor: '" + v + "' (a number > 1)";
    } else if (a == "--backend-cmd") {
      if (v.find("{port}") == std::string::npos) return "--backend-cmd must contain {port}";
      o.backend_cmd = v;
    } else if (a == "--tether") o.tether_bin = v;
    else if (a == "--tether-chat") o.chat_bin = v;
    else if (a == "--workers") {
      size_t w = 0;
      err = positive(w);
      if (err.empty() && w > 64) return "bad value for --workers: '" + v + "' (1..64)";
      o.workers = static_cast<int>(w);
    } else if (a == "--session-timeout") {
      size_t t = 0;
      err = positive(t);
      o.session_timeout_s = static_cast<double>(t);
    } else if (a == "--out") o.out_dir = v;
    else if (a == "--configs") {
      size_t start = 0;
      for (;;) {
        size_t end = v.find(',', start);
        std::string path = v.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (path.empty()) return "empty path in --configs";
        o.configs.push_back(path);
        if (end == std::string::npos) break;
        start = end + 1;
      }
    } else if (a == "--target") o.target_url = v;
    else if (a == "--target-pid") {
      size_t pid = 0;
      err = positive(pid);
      o.target_pid = static_cast<int>(pid);
    }
    if (!err.empty()) return err;
  }
  int modes = !strategies.empty() + !o.configs.empty() + !o.target_url.empty();
  if (modes > 1) return "--strategies, --configs and --target exclude each other";
  if (o.target_pid && o.target_url.empty()) return "--target-pid needs --target";
  if (!o.configs.empty() || !o.target_url.empty()) {
    if (remove_set || add_set) return "--remove-at/--add-at need --strategies (the bench rewrites the membership)";
    o.params.churn = false;
    o.params.fleet = o.configs.empty() ? "the target's servers" : "each config's servers";
  }
  if (!o.target_url.empty() && o.target_url.rfind("http://", 0) != 0)
    return "--target must be an http:// URL on 127.0.0.0/8";
  if (strategies.empty()) {
    if (o.configs.empty() && o.target_url.empty()) o.strategies = defaultSpecs();
  } else if (std::string err = parseStrategyList(strategies, o.strategies); !err.empty()) {
    return err;
  }
  E2eParams& p = o.params;
  if (p.servers < 2) return "--servers must be at least 2";
  if (p.servers > 64) return "--servers must be at most 64";
  if (p.clients > 1'000'000) return "--clients must be at most 1000000";
  if (!nat_set) p.nat_groups = p.clients;
  if (p.nat_groups > 1'000'000) return "--nat-groups must be at most 1000000";
  if (p.wave > 4096) return "--wave must be at most 4096";
  if (!p.churn && (remove_set || add_set)) return "--no-churn with --remove-at/--add-at";
  if (!remove_set) p.remove_at = p.clients;
  if (!add_set) p.add_at = 2 * p.clients;
  if (p.churn && !(p.remove_at < p.add_at && p.add_at < 3 * p.clients))
    return "need --remove-at < --add-at < 3 x --clients (sessions are numbered over the whole run)";
  return "";
}

}  // namespace bench::affinity
