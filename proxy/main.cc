// tether entry point: flags, config, workers, signals. The only file the tests do not link.
#include <signal.h>
#include <sys/resource.h>
#include <uv.h>

#include <atomic>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <tuple>

#include "common/log.h"
#include "common/uv_util.h"
#include "proxy/admin/admin_server.h"
#include "proxy/admin/scrape_sources.h"
#include "proxy/config/config_loader.h"
#include "proxy/lb/compare.h"
#include "proxy/route/router.h"
#include "proxy/metrics/process_metrics.h"
#include "proxy/metrics/worker_metrics.h"
#include "proxy/server/worker.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/tls_context.h"
#include "proxy/upstream/membership_hub.h"
#include "proxy/upstream/discovery.h"
#include "proxy/upstream/membership_manager.h"

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
    "signals: SIGTERM/SIGINT drain and exit; SIGHUP reloads the configuration\n";

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

using TlsContexts = std::vector<std::shared_ptr<const proxy::tls::TlsContext>>;

// One TLS context per listener (null for plain ones), and the client context of every upstream
// with `tls:` (kept in its config). False with a message on the first error.
bool buildTls(proxy::config::Config& cfg, TlsContexts& out, std::string& error) {
  out.clear();
  for (auto& u : cfg.upstreams) {
    if (!u.tls.enabled) continue;
    std::string why;
    u.tls.context = proxy::tls::ClientContext::create(u.tls, why);
    if (!u.tls.context) {
      error = why + " (upstream " + u.name + ")";
      return false;
    }
  }
  for (const auto& l : cfg.listeners) {
    if (!l.tls_enabled) {
      out.push_back(nullptr);
      continue;
    }
    std::string why;
    auto ctx = proxy::tls::TlsContext::create(l.tls, l.http2.enabled, why);
    if (!ctx) {
      error = why + " (listener " + l.name + ")";
      return false;
    }
    out.push_back(std::move(ctx));
  }
  return true;
}

// Every TLS listener's certificates with their expiry, in listener order.
std::vector<proxy::tls::CertExpiry> certExpiries(const proxy::config::Config& cfg, const TlsContexts& tls) {
  std::vector<proxy::tls::CertExpiry> out;
  for (size_t i = 0; i < tls.size() && i < cfg.listeners.size(); ++i) {
    if (!tls[i]) continue;
    for (auto c : tls[i]->certs()) {
      c.listener = cfg.listeners[i].name;
      out.push_back(std::move(c));
    }
  }
  return out;
}

// At start and on every reload: a certificate expired or expiring within 14 days is a warning.
void warnExpiringCerts(const std::vector<proxy::tls::CertExpiry>& certs) {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& c : certs) {
    if (c.not_after - now < proxy::tls::kExpiryWarnSeconds)
      common::logWarn("tls_cert_expires_soon", {{"listener", c.listener}, {"cert", c.cert},
                                                {"not_after", proxy::tls::isoUtc(c.not_after)},
                                                {"seconds_left", static_cast<long long>(c.not_after - now)}});
  }
}

// OCSP responses configured but not stapled (stale, unparsable, not for the certificate): a warning
// line each for -t (`to_stderr`), a log line each at start and on every reload.
void reportOcspSkipped(const proxy::config::Config& cfg, const TlsContexts& tls, bool to_stderr) {
  for (size_t i = 0; i < tls.size() && i < cfg.listeners.size(); ++i) {
    if (!tls[i]) continue;
    for (const auto& o : tls[i]->ocspSkipped()) {
      if (to_stderr)
        std::fprintf(stderr, "tether: warning: listener %s: OCSP response %s for certificate %s is not stapled: %s\n",
                     cfg.listeners[i].name.c_str(), o.file.c_str(), o.cert.c_str(), o.problem.c_str());
      else
        common::logWarn("tls_ocsp_skipped", {{"listener", cfg.listeners[i].name}, {"cert", o.cert}, {"ocsp", o.file}, {"reason", o.problem}});
    }
  }
}

// -t: one line per certificate, "warning:" when it is expired or expires within 14 days.
void reportCertExpiry(const std::vector<proxy::tls::CertExpiry>& certs) {
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (const auto& c : certs) {
    bool soon = false;
    std::string line = proxy::tls::describeExpiry(c, now, soon);
    std::fprintf(stderr, "tether: %s%s\n", soon ? "warning: " : "", line.c_str());
  }
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
  uv_signal_t sigterm, sigint, sighup;
  std::vector<std::unique_ptr<proxy::server::Worker>>* workers = nullptr;
  std::string config_path;
  unsigned workers_count = 1;
  uint64_t generation = 1;
  uint64_t reloads_ok = 0, reloads_failed = 0;
  proxy::admin::AdminServer* admin = nullptr;
  proxy::metrics::ProcessMetrics* process_metrics = nullptr;  // tether_config_reloads_total
  proxy::metrics::SeriesRegistry* series = nullptr;
  proxy::upstream::MembershipManager* members = nullptr;
  proxy::upstream::Discovery* discovery = nullptr;
  std::shared_ptr<const proxy::config::Config> file;  // as loaded; discovery adds members to it
  TlsContexts tls;
  std::vector<proxy::tls::CertExpiry> certs;  // /metrics: tether_tls_cert_not_after_seconds
};

// Makes `effective` the running configuration: identity-keyed state first (metric series, health,
// admin state), then the workers, so a worker building its new generation finds the new
// snapshots and series already there.
void adopt(MainLoop& m, std::shared_ptr<const proxy::config::Config> effective) {
  m.series->sync(*effective);
  m.members->apply(effective);
  for (auto& w : *m.workers) w->requestReload(effective, m.tls);
}

// DNS discovery found other members for a `resolve: true` name: the same switch as a reload,
// from the same file.
void onMembersChanged(MainLoop& m) {
  if (!m.file || !m.workers || m.workers->empty()) return;  // start-up: main adopts once settled
  adopt(m, proxy::upstream::expandMembers(*m.file, m.discovery->names()));
}

// SIGHUP: read and validate the file; on any error keep running the old configuration. On
// success every worker switches at its next loop turn (running exchanges and tunnels stay on the
// configuration they started with).
// Returns "" on success, else the error (the running configuration stays).
std::string reload(MainLoop& m) {
  auto cfg = std::make_shared<proxy::config::Config>();
  proxy::config::LoadResult loaded = proxy::config::loadConfigFile(m.config_path, *cfg);
  TlsContexts tls;
  std::string error = loaded.error;
  if (loaded.ok && !buildTls(*cfg, tls, error)) loaded.ok = false;
  if (m.process_metrics) m.process_metrics->configReload(loaded.ok);
  if (!loaded.ok) {
    ++m.reloads_failed;
    common::logError("reload_failed", {{"error", error}, {"kept_generation", static_cast<long long>(m.generation)}});
    return error;
  }
  if (cfg->workers != m.workers_count)
    common::logWarn("reload_workers_unchanged", {{"configured", cfg->workers}, {"running", m.workers_count}, {"hint", "a restart applies a new worker count"}});
  if (std::string why = m.discovery->configure(*cfg); !why.empty())
    common::logError("discovery_failed", {{"error", why}, {"effect", "resolve: true servers keep their last members"}});
  m.certs = certExpiries(*cfg, tls);
  warnExpiringCerts(m.certs);
  reportOcspSkipped(*cfg, tls, false);
  m.file = std::move(cfg);
  m.tls = std::move(tls);
  if (m.admin && m.file->admin.enabled) m.admin->reconfigure(m.file->admin);
  adopt(m, proxy::upstream::expandMembers(*m.file, m.discovery->names()));
  ++m.reloads_ok;
  ++m.generation;
  common::logInfo("reloaded", {{"generation", static_cast<long long>(m.generation)}, {"config", m.config_path}});
  return {};
}

void onHupSignal(uv_signal_t* h, int) { reload(*static_cast<MainLoop*>(h->data)); }

void onStopSignal(uv_signal_t* h, int signum) {
  auto* m = static_cast<MainLoop*>(h->data);
  common::logInfo("shutdown", {{"signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"}});
  for (auto& w : *m->workers) w->requestStop();
  if (m->admin) m->admin->stop();
  if (m->members) m->members->stop();
  if (m->discovery) m->discovery->stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&m->sigterm), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&m->sigint), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&m->sighup), nullptr);
}

// Waits (at most 2 s) for a first answer for every `resolve: true` name, so the workers start with
// their members instead of answering 503 for the first milliseconds.
void settleDiscovery(uv_loop_t* loop, proxy::upstream::Discovery& d) {
  if (!d.watching()) return;
  uv_timer_t wake;
  if (uv_timer_init(loop, &wake) < 0) return;
  if (uv_timer_start(&wake, [](uv_timer_t*) {}, 2000, 0) == 0) {
    uint64_t deadline = uv_now(loop) + 2000;
    while (!d.settled() && uv_now(loop) < deadline) uv_run(loop, UV_RUN_ONCE);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
}

// -t: a `resolve: true` name that does not resolve now is accepted (tether keeps trying), but
// said. Resolved with the configured resolver, as tether would at run time.
void reportDiscovery(const proxy::config::Config& cfg) {
  bool any = false;
  for (const auto& u : cfg.upstreams) any = any || !u.resolve.empty();
  if (!any) return;
  uv_loop_t loop;
  if (uv_loop_init(&loop) < 0) return;
  {
    proxy::upstream::Discovery d(&loop, nullptr);
    std::string why = d.configure(cfg);
    if (!why.empty()) std::fprintf(stderr, "tether: note: DNS discovery cannot start: %s\n", why.c_str());
    else settleDiscovery(&loop, d);
    for (const auto& u : cfg.upstreams)
      for (const auto& t : u.resolve) {
        auto it = d.names().find(t.host);
        size_t n = it == d.names().end() ? 0 : it->second.size();
        if (n == 0)
          std::fprintf(stderr, "tether: note: upstream %s: '%s' does not resolve now; tether starts anyway and re-resolves it every %lldms (503 until it has members)\n",
                       u.name.c_str(), t.host.c_str(), static_cast<long long>(cfg.resolver.interval.count()));
        else
          std::fprintf(stderr, "tether: upstream %s: '%s' resolves to %zu member(s)\n", u.name.c_str(), t.host.c_str(), n);
      }
    d.stop();
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&loop);
}

// -t and every start: a route an earlier one takes every request of can never be used.
void warnShadowedRoutes(const proxy::config::Config& cfg) {
  proxy::route::Router router(cfg);
  for (auto [shadowed, by] : router.shadowed())
    std::fprintf(stderr, "tether: warning: %s: this route never matches: the route at %s takes all of its requests\n",
                 cfg.routes[shadowed].at.c_str(), cfg.routes[by].at.c_str());
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
  // TLS contexts (one per TLS listener, shared by the workers): certificate errors fail -t too.
  TlsContexts tls;
  std::string tls_error;
  if (!buildTls(*cfg, tls, tls_error)) {
    std::fprintf(stderr, "%s\n", tls_error.c_str());
    if (flags.test) std::fprintf(stderr, "tether: configuration file %s test failed\n", flags.config.c_str());
    return 1;
  }
  warnShadowedRoutes(*cfg);
  if (flags.test) {
    reportCertExpiry(certExpiries(*cfg, tls));
    reportOcspSkipped(*cfg, tls, true);
    reportDiscovery(*cfg);
    std::printf("tether: configuration file %s test is successful\n", flags.config.c_str());
    if (!flags.compare_with.empty()) return compareWith(flags, *cfg);
    return 0;
  }

  signal(SIGPIPE, SIG_IGN);
  raiseFdLimit();
  std::atomic<uint64_t> connections{0};
  MainLoop m;
  // DNS discovery for `resolve: true` servers, on this thread's loop; the workers start with the
  // members it found (see settleDiscovery).
  proxy::upstream::Discovery discovery(m.loop, [&m] { onMembersChanged(m); });
  if (std::string why = discovery.configure(*cfg); !why.empty()) {
    std::fprintf(stderr, "tether: DNS discovery: %s\n", why.c_str());
    return 1;
  }
  settleDiscovery(m.loop, discovery);
  std::shared_ptr<const proxy::config::Config> shared = proxy::upstream::expandMembers(*cfg, discovery.names());
  m.file = cfg;
  m.tls = tls;
  m.certs = certExpiries(*cfg, tls);
  warnExpiringCerts(m.certs);
  reportOcspSkipped(*cfg, tls, false);
  m.discovery = &discovery;
  // One membership manager per process, on this thread's loop; workers follow its snapshots
  // through the hub. Declared before the workers, which unsubscribe from the hub when destroyed.
  proxy::upstream::MembershipHub hub;
  proxy::upstream::MembershipManager members(uv_default_loop(), hub);
  members.apply(shared);
  proxy::metrics::SeriesRegistry series(cfg->workers);
  std::vector<std::unique_ptr<proxy::server::Worker>> workers;
  // Signals are handled before any listener opens: a SIGHUP or SIGTERM that arrives as soon as
  // the port accepts must reload or drain, never hit the default action (terminate).
  m.workers = &workers;
  m.config_path = flags.config;
  m.workers_count = cfg->workers;
  uv_signal_init(m.loop, &m.sigterm);
  uv_signal_init(m.loop, &m.sigint);
  uv_signal_init(m.loop, &m.sighup);
  m.sigterm.data = m.sigint.data = m.sighup.data = &m;
  for (auto [h, cb, sig] : {std::tuple{&m.sigterm, &onStopSignal, SIGTERM}, std::tuple{&m.sigint, &onStopSignal, SIGINT},
                            std::tuple{&m.sighup, &onHupSignal, SIGHUP}}) {
    int src = uv_signal_start(h, cb, sig);
    if (src < 0) common::logError("signal_setup_failed", {{"signal", sig}, {"error", common::uvErr(src)}});
  }
  proxy::metrics::ProcessMetrics process_metrics;
  m.process_metrics = &process_metrics;
  m.series = &series;
  m.members = &members;
  for (unsigned i = 0; i < cfg->workers; ++i) {
    workers.push_back(std::make_unique<proxy::server::Worker>(i, shared, connections, series, tls, &hub));
    std::string error;
    if (!workers.back()->bind(error)) {
      common::logError("listen_failed", {{"error", error}});
      std::fprintf(stderr, "tether: %s\n", error.c_str());
      for (auto& w : workers) w->requestStop(), w->start();
      return 1;
    }
  }
  // The admin listener runs on this (main) thread's loop, next to the membership manager.
  proxy::admin::ScrapeSources sources;
  sources.reload = [&m] { return reload(m); };
  sources.members = &members;
  sources.series = &series;
  sources.discovery = &discovery;
  for (auto& w : workers) sources.workers.push_back(&w->metrics());
  sources.process = &process_metrics;
  sources.certs = &m.certs;
  sources.version = TETHER_VERSION;
  sources.start_time_unix = static_cast<uint64_t>(std::time(nullptr));
  std::unique_ptr<proxy::admin::AdminServer> admin;
  if (cfg->admin.enabled) {
    admin = std::make_unique<proxy::admin::AdminServer>(uv_default_loop(), cfg->admin, sources);
    std::string error;
    if (!admin->start(error)) {
      common::logError("listen_failed", {{"error", error}});
      std::fprintf(stderr, "tether: %s\n", error.c_str());
      for (auto& w : workers) w->requestStop(), w->start();
      for (auto& w : workers) w->join();
      return 1;
    }
    common::logInfo("admin_listening", {{"address", cfg->admin.address}, {"token", cfg->admin.token.empty() ? "none" : "required"},
                                        {"read_token", cfg->admin.read_token.empty() ? "none" : "set"}});
    if (cfg->admin.allow_unauthenticated && cfg->admin.token.empty())
      common::logWarn("admin_unauthenticated", {{"address", cfg->admin.address},
                                                {"effect", "anyone who reaches this address can drain, disable and reload (allow_unauthenticated: true)"}});
  }
  m.admin = admin.get();
  for (auto& w : workers) w->start();
  for (const auto& l : cfg->listeners) common::logInfo("listening", {{"listener", l.name}, {"address", l.address}});
  common::logInfo("started", {{"version", TETHER_VERSION}, {"workers", cfg->workers}, {"config", flags.config}});
  if (int hrc = members.start(); hrc < 0) {
    common::logError("membership_start_failed", {{"error", common::uvErr(hrc)}});
    members.stop();
  }

  uv_run(m.loop, UV_RUN_DEFAULT);
  for (auto& w : workers) w->join();
  common::logInfo("stopped");
  return 0;
}
