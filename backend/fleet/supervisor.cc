// Fleet supervisor: see supervisor.h.
#include "backend/fleet/supervisor.h"

#include <uv.h>

#include <unistd.h>

#include <cstring>
#include <memory>

#include "common/log.h"
#include "backend/fleet/supervisor_link.h"
#include "common/uv_util.h"

extern char** environ;

namespace backend::fleet {
namespace {

constexpr uint64_t kMinBackoffMs = 250, kMaxBackoffMs = 10'000, kHealthyMs = 30'000;

struct Child {
  struct Fleet* fleet = nullptr;
  unsigned index = 0;
  unsigned port = 0;
  uv_process_t proc{};
  uv_timer_t restart_timer{};
  bool running = false;
  uint64_t started_ms = 0;
  uint64_t backoff_ms = kMinBackoffMs;
  unsigned restarts = 0;
};

struct Fleet {
  const FleetOptions* opt = nullptr;
  std::string exe;
  std::vector<std::string> env;  // this process's environment plus the supervisor's pid
  uv_loop_t* loop = nullptr;
  std::vector<std::unique_ptr<Child>> children;
  uv_signal_t sigterm{}, sigint{};
  bool stopping = false;
  int exit_code = 0;
};

void spawn(Child& c);

void onExit(uv_process_t* p, int64_t status, int term_signal) {
  auto* c = static_cast<Child*>(p->data);
  Fleet& f = *c->fleet;
  c->running = false;
  uv_close(reinterpret_cast<uv_handle_t*>(p), nullptr);
  common::logInfo("instance_exited", {{"instance", c->index}, {"port", c->port}, {"status", static_cast<long long>(status)},
                                      {"signal", term_signal}});
  if (f.stopping) {
    if (status != 0 || term_signal != 0) f.exit_code = 1;  // a drain ends in exit(0), nothing else
    bool any = false;
    for (auto& ch : f.children) any = any || ch->running;
    if (!any) {
      for (auto& ch : f.children) common::closeHandle(&ch->restart_timer);
      common::closeHandle(&f.sigterm);
      common::closeHandle(&f.sigint);
    }
    return;
  }
  uint64_t now = uv_now(f.loop);
  if (now - c->started_ms >= kHealthyMs) c->backoff_ms = kMinBackoffMs;  // it had been fine
  common::logWarn("instance_restart_scheduled", {{"instance", c->index}, {"in_ms", static_cast<long long>(c->backoff_ms)}});
  uv_timer_start(&c->restart_timer, [](uv_timer_t* t) { spawn(*static_cast<Child*>(t->data)); }, c->backoff_ms, 0);
  c->backoff_ms = std::min(c->backoff_ms * 2, kMaxBackoffMs);
}

void spawn(Child& c) {
  Fleet& f = *c.fleet;
  if (f.stopping) return;
  std::vector<std::string> args = {f.exe, "--port", std::to_string(c.port), "--host", f.opt->host};
  args.insert(args.end(), f.opt->child_args.begin(), f.opt->child_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  uv_stdio_container_t stdio[3];
  for (int i = 0; i < 3; ++i) {
    stdio[i].flags = UV_INHERIT_FD;
    stdio[i].data.fd = i;
  }
  std::vector<char*> envp;
  for (auto& e : f.env) envp.push_back(e.data());
  envp.push_back(nullptr);
  uv_process_options_t o{};
  o.file = f.exe.c_str();
  o.args = argv.data();
  o.env = envp.data();
  o.exit_cb = &onExit;
  o.stdio_count = 3;
  o.stdio = stdio;
  c.proc.data = &c;
  int rc = uv_spawn(f.loop, &c.proc, &o);
  if (rc < 0) {
    common::logError("instance_spawn_failed", {{"instance", c.index}, {"error", common::uvErr(rc)}});
    uv_close(reinterpret_cast<uv_handle_t*>(&c.proc), nullptr);
    uv_timer_start(&c.restart_timer, [](uv_timer_t* t) { spawn(*static_cast<Child*>(t->data)); }, c.backoff_ms, 0);
    c.backoff_ms = std::min(c.backoff_ms * 2, kMaxBackoffMs);
    return;
  }
  c.running = true;
  c.started_ms = uv_now(f.loop);
  if (c.restarts++ > 0) common::logInfo("instance_restarted", {{"instance", c.index}, {"port", c.port}, {"pid", c.proc.pid}});
}

void onStopSignal(uv_signal_t* h, int signum) {
  auto* f = static_cast<Fleet*>(h->data);
  if (f->stopping) return;
  f->stopping = true;
  common::logInfo("fleet_stopping", {{"signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"}});
  bool any = false;
  for (auto& c : f->children) {
    uv_timer_stop(&c->restart_timer);
    if (c->running) {
      any = true;
      int rc = uv_process_kill(&c->proc, SIGTERM);
      if (rc < 0) common::logWarn("instance_kill_failed", {{"instance", c->index}, {"error", common::uvErr(rc)}});
    }
  }
  if (!any) {
    for (auto& c : f->children) common::closeHandle(&c->restart_timer);
    common::closeHandle(&f->sigterm);
    common::closeHandle(&f->sigint);
  }
}

}  // namespace

int runFleet(const FleetOptions& opt, const std::string& self_exe) {
  Fleet f;
  f.opt = &opt;
  f.exe = self_exe;
  const std::string link_prefix = std::string(kSupervisorPidEnv) + "=";
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, link_prefix.c_str(), link_prefix.size()) != 0) f.env.emplace_back(*e);
  f.env.push_back(link_prefix + std::to_string(getpid()));
  f.loop = uv_default_loop();
  uv_signal_init(f.loop, &f.sigterm);
  uv_signal_init(f.loop, &f.sigint);
  f.sigterm.data = f.sigint.data = &f;
  uv_signal_start(&f.sigterm, &onStopSignal, SIGTERM);
  uv_signal_start(&f.sigint, &onStopSignal, SIGINT);
  for (unsigned i = 0; i < opt.instances; ++i) {
    auto c = std::make_unique<Child>();
    c->fleet = &f;
    c->index = i;
    c->port = opt.base_port + i;
    uv_timer_init(f.loop, &c->restart_timer);
    c->restart_timer.data = c.get();
    f.children.push_back(std::move(c));
  }
  for (auto& c : f.children) spawn(*c);
  common::logInfo("fleet_started", {{"instances", opt.instances}, {"base_port", opt.base_port}});
  uv_run(f.loop, UV_RUN_DEFAULT);
  common::logInfo("fleet_stopped", {{"exit_code", f.exit_code}});
  return f.exit_code;
}

}  // namespace backend::fleet
