// The `chat` subcommand's driver: see chat_bench.h.
#include "bench/chat/chat_bench.h"

#include <sys/resource.h>
#include <uv.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "bench/chat/chat_options.h"
#include "bench/chat/chat_report.h"
#include "bench/chat/chat_worker.h"
#include "bench/chat/proc_stats.h"
#include "bench/common/fd_limit.h"
#include "bench/common/target.h"

namespace bench::chat {
namespace {

constexpr double kDrainS = 5;

struct Totals {
  uint64_t joined = 0, connect_failed = 0, disconnects = 0, sent = 0, acked = 0, ack_errors = 0, received = 0,
           misrouted = 0, expected = 0;
};

struct Sample {
  uint64_t ns = 0;
  Totals t;
  double server_cpu = 0;
  double process_cpu = 0;
  std::vector<double> thread_cpu;
};

Totals sum(const std::vector<std::unique_ptr<Worker>>& workers) {
  Totals t;
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  for (const auto& w : workers) {
    const WorkerCounters& c = w->counters();
    t.joined += get(c.joined);
    t.connect_failed += get(c.connect_failed);
    t.disconnects += get(c.disconnects);
    t.sent += get(c.sent);
    t.acked += get(c.acked);
    t.ack_errors += get(c.ack_errors);
    t.received += get(c.received);
    t.misrouted += get(c.misrouted);
    t.expected += get(c.expected);
  }
  return t;
}

double processCpuSeconds() {
  rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto s = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

Sample sample(std::vector<std::unique_ptr<Worker>>& workers, int pid) {
  Sample s;
  s.ns = uv_hrtime();
  s.t = sum(workers);
  if (pid > 0) readProcessCpuSeconds(pid, s.server_cpu);
  s.process_cpu = processCpuSeconds();
  for (auto& w : workers) s.thread_cpu.push_back(threadCpuSeconds(w->threadHandle()));
  return s;
}

void sleepUntil(uint64_t ns) {
  uint64_t now = uv_hrtime();
  if (ns > now) std::this_thread::sleep_for(std::chrono::nanoseconds(ns - now));
}

}  // namespace

int chatBenchMain(int argc, char** argv) {
  ChatOptions o;
  bool help = false;
  if (!parseChatOptions(argc, argv, o, help)) {
    printChatUsage();
    return help ? 0 : 2;
  }
  Target target;
  std::string url = o.url.find("://") == std::string::npos ? "ws://" + o.url : o.url;
  std::string err = parseLoopbackTarget(url, target);
  if (!err.empty()) {
    std::fprintf(stderr, "tether-bench chat: %s\n", err.c_str());
    return 2;
  }
  if (target.path == "/") target.path = "/socket.io/";
  raiseFdLimit();
  if (std::signal(SIGPIPE, SIG_IGN) == SIG_ERR) std::perror("tether-bench chat: SIGPIPE");  // writes to a closed peer fail, not kill

  ChatResult r;
  bool sampled = o.pid > 0;
  if (sampled && !readProcessRssKiB(o.pid, r.rss_idle_kib)) {
    std::fprintf(stderr, "tether-bench chat: cannot read /proc/%d\n", o.pid);
    return 2;
  }

  Control control;
  std::vector<std::unique_ptr<Worker>> workers;
  for (uint32_t t = 0; t < o.threads; ++t) {
    WorkerParams p;
    p.target = &target;
    for (uint32_t id = t; id < o.clients; id += o.threads) p.client_ids.push_back(id);
    p.rooms = o.rooms;
    p.total_clients = o.clients;
    p.rate = o.rate;
    p.size = o.size;
    p.ramp = o.ramp / o.threads;
    p.connect_timeout_s = 10 + static_cast<double>(o.clients) / o.ramp;
    workers.push_back(std::make_unique<Worker>(std::move(p), control));
  }
  uint64_t t0 = uv_hrtime();
  size_t started = 0;
  for (auto& w : workers) {
    if (!w->start()) break;
    ++started;
  }
  bool ok = started == workers.size();
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < started; ++i) all = all && workers[i]->settled();
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.connect_s = static_cast<double>(uv_hrtime() - t0) / 1e9;
  control.members.assign(o.rooms, 0);
  for (size_t i = 0; i < started; ++i)
    for (uint32_t room = 0; room < o.rooms; ++room) control.members[room] += workers[i]->joinedPerRoom()[room];
  Totals joined = sum(workers);
  if (ok && joined.joined > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the server settles after the joins
    if (sampled) readProcessRssKiB(o.pid, r.rss_connected_kib);
    uint64_t now = uv_hrtime();
    control.load_start_ns = now + 2'000'000;  // every worker sees it before it is due
    control.measure_from_ns = control.load_start_ns + static_cast<uint64_t>(o.warmup_s * 1e9);
    control.measure_to_ns = control.measure_from_ns + static_cast<uint64_t>(o.duration_s * 1e9);
    control.phase.store(static_cast<int>(Phase::Load), std::memory_order_release);
    sleepUntil(control.measure_from_ns);
    Sample a = sample(workers, o.pid);
    sleepUntil(control.measure_to_ns);
    Sample b = sample(workers, o.pid);
    if (sampled) readProcessRssKiB(o.pid, r.rss_load_kib);
    uint64_t drain_until = b.ns + static_cast<uint64_t>(kDrainS * 1e9);
    Totals t = b.t;
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      bool sending_over = uv_hrtime() > control.measure_to_ns + 5'000'000;  // one more tick's sends
      t = sum(workers);
      if (sending_over && t.received >= t.expected && t.acked >= t.sent) break;
      if (uv_hrtime() > drain_until) break;
    }
    r.window_s = static_cast<double>(b.ns - a.ns) / 1e9;
    r.window_deliveries = b.t.received - a.t.received;
    r.window_sends = b.t.sent - a.t.sent;
    r.window_acks = b.t.acked - a.t.acked;
    r.server_sampled = sampled;
    r.server_cpu_s = b.server_cpu - a.server_cpu;
    r.gen_process_cpu_s = b.process_cpu - a.process_cpu;
    for (size_t i = 0; i < a.thread_cpu.size(); ++i) r.gen_thread_cpu_s.push_back(b.thread_cpu[i] - a.thread_cpu[i]);
  } else if (joined.joined == 0) {
    std::fprintf(stderr, "tether-bench chat: no client could join\n");
  }
  control.phase.store(static_cast<int>(Phase::Stop), std::memory_order_release);
  for (size_t i = 0; i < started; ++i) workers[i]->join();

  Totals t = sum(workers);
  r.joined = t.joined;
  r.connect_failed = t.connect_failed;
  r.disconnects = t.disconnects;
  r.ack_errors = t.ack_errors;
  r.misrouted = t.misrouted;
  r.total_sent = t.sent;
  r.total_acked = t.acked;
  r.total_received = t.received;
  r.total_expected = t.expected;
  for (size_t i = 0; i < started; ++i) {
    r.latency_us.merge(workers[i]->latency());
    r.backlog_at_stop += workers[i]->backlogAtStop();
  }
  if (joined.joined > 0) printChatReport(o, r);
  return ok && joined.joined > 0 && r.errors() == 0 ? 0 : 1;
}

}  // namespace bench::chat
