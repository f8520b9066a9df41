// The `ws` subcommand: option parsing, the pacing timer, measurement and the report.
// See ws_bench.h for what it measures and ws_bench_conn.h for one connection.
#include "bench/ws/ws_bench.h"

#include <uv.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench/common/fd_limit.h"
#include "bench/common/histogram.h"
#include "bench/common/target.h"
#include "bench/ws/ws_bench_conn.h"

namespace bench::ws {
namespace {

struct Options {
  std::string url;
  uint32_t connections = 100;
  double connect_rate = 2000;   // new connections per second
  double rate = 10000;          // messages per second, all connections together
  size_t size = 64;             // payload bytes (>= 8: the stamp)
  double duration_s = 10;       // measurement window
  double warmup_s = 2;
  double hold_s = 0;            // > 0: open the connections, keep them idle this long, no load
};

constexpr uint64_t kNsPerS = 1'000'000'000ull;
constexpr uint64_t kTickNs = 1'000'000ull;  // the pacing timer's period

void usage() {
  std::fprintf(stderr,
               "usage: tether-bench ws --url ws://127.0.0.1:PORT/path [options]\n"
               "  -c, --connections N    connections to open (default 100, max 100000)\n"
               "      --connect-rate N   new connections per second (default 2000)\n"
               "  -r, --rate N           messages per second, all connections together (default 10000)\n"
               "  -s, --size N           payload bytes per message, >= 8 (default 64)\n"
               "  -d, --duration S       measurement window in seconds (default 10, max 600)\n"
               "  -w, --warmup S         seconds of load before measuring (default 2)\n"
               "      --hold S           idle mode: open all connections, print 'HOLDING n', keep them\n"
               "                         idle S seconds (for memory measurements), close, exit\n"
               "The target must echo each message (tether-echo). Loopback targets only.\n");
}

bool parseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "-h" || a == "--help") return false;
    if (!(v = next())) {
      std::fprintf(stderr, "tether-bench ws: %s needs a value\n", a.c_str());
      return false;
    }
    if (a == "--url" || a == "-u") o.url = v;
    else if (a == "-c" || a == "--connections") o.connections = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    else if (a == "--connect-rate") o.connect_rate = std::strtod(v, nullptr);
    else if (a == "-r" || a == "--rate") o.rate = std::strtod(v, nullptr);
    else if (a == "-s" || a == "--size") o.size = std::strtoul(v, nullptr, 10);
    else if (a == "-d" || a == "--duration") o.duration_s = std::strtod(v, nullptr);
    else if (a == "-w" || a == "--warmup") o.warmup_s = std::strtod(v, nullptr);
    else if (a == "--hold") o.hold_s = std::strtod(v, nullptr);
    else {
      std::fprintf(stderr, "tether-bench ws: unknown option %s\n", a.c_str());
      return false;
    }
  }
  const char* bad = o.url.empty()                                  ? "--url is required"
                    : o.connections == 0 || o.connections > 100000 ? "--connections must be 1..100000"
                    : !(o.connect_rate > 0)                        ? "--connect-rate must be > 0"
                    : !(o.rate > 0) || o.rate > 1e7                ? "--rate must be in (0, 1e7]"
                    : o.size < 8 || o.size > (16u << 20)           ? "--size must be 8..16 MiB"
                    : !(o.duration_s > 0) || o.duration_s > 600    ? "--duration must be in (0, 600]"
                    : o.warmup_s < 0 || o.warmup_s > 60            ? "--warmup must be 0..60"
                    : o.hold_s < 0 || o.hold_s > 600               ? "--hold must be 0..600"
                                                                   : nullptr;
  if (bad) std::fprintf(stderr, "tether-bench ws: %s\n", bad);
  return bad == nullptr;
}

class Runner final : public ConnOwner {
 public:
  Runner(const Options& o, const Target& t) : opt_(o), target_(t), read_buffer_(new char[kReadBuffer]) {}

  int run() {
    int rc = uv_loop_init(&loop_);
    if (rc < 0) return fatal("loop_init", rc);
    uv_timer_init(&loop_, &tick_);
    tick_.data = this;
    start_ns_ = uv_hrtime();
    conns_.reserve(opt_.connections);
    uv_timer_start(&tick_, &Runner::onTickCb, 0, 1);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    return report();
  }

  void onOpen() override { ++open_; }
  void onEcho(uint64_t stamp_ns) override {
    ++received_;
    if (stamp_ns >= measure_from_ns_ && stamp_ns < measure_to_ns_ && measure_to_ns_ != 0) {
      uint64_t now = uv_hrtime();
      hist_.record(now > stamp_ns ? (now - stamp_ns) / 1000 : 0);
    }
  }
  void onFailed(const char* what, int status) override {
    ++failed_;
    if (failed_ <= 5)
      std::fprintf(stderr, "tether-bench ws: connection failed: %s%s%s\n", what, status ? " " : "", status ? uv_err_name(status) : "");
  }

 private:
  enum class Phase : uint8_t { Connecting, Hold, Load, Draining, Done };
  static constexpr size_t kReadBuffer = 64 * 1024;

  int fatal(const char* what, int rc) {
    std::fprintf(stderr, "tether-bench ws: %s: %s\n", what, uv_strerror(rc));
    return 1;
  }

  static void onTickCb(uv_timer_t* t) { static_cast<Runner*>(t->data)->tick(); }

  void tick() {
    uint64_t now = uv_hrtime();
    if (phase_ == Phase::Connecting) connectSome(now);
    if (phase_ == Phase::Hold && now >= hold_until_ns_) finish();
    if (phase_ == Phase::Load) sendDue(now);
    if (phase_ == Phase::Draining && (received_ >= sent_ || now >= drain_until_ns_)) finish();
  }

  void connectSome(uint64_t now) {
    double elapsed = static_cast<double>(now - start_ns_) / 1e9;
    auto due = static_cast<uint32_t>(std::min<double>(opt_.connections, std::floor(opt_.connect_rate * elapsed) + 1));
    while (conns_.size() < due) {
      conns_.push_back(std::make_unique<Conn>(&loop_, target_, *this, read_buffer_.get(), kReadBuffer));
      conns_.back()->start();
    }
    bool all_started = conns_.size() == opt_.connections;
    bool settled = open_ + failed_ >= opt_.connections;
    if (all_started && (settled || now - start_ns_ > 60 * kNsPerS)) {
      if (open_ == 0) {
        std::fprintf(stderr, "tether-bench ws: no connection could be opened\n");
        return finish();
      }
      connect_s_ = static_cast<double>(now - start_ns_) / 1e9;
      if (opt_.hold_s > 0) {
        std::printf("HOLDING %llu\n", static_cast<unsigned long long>(open_));
        std::fflush(stdout);
        phase_ = Phase::Hold;
        hold_until_ns_ = now + static_cast<uint64_t>(opt_.hold_s * 1e9);
        return;
      }
      phase_ = Phase::Load;
      load_from_ns_ = now;
      measure_from_ns_ = now + static_cast<uint64_t>(opt_.warmup_s * 1e9);
      measure_to_ns_ = measure_from_ns_ + static_cast<uint64_t>(opt_.duration_s * 1e9);
    }
  }

  // Open loop: message k is due at load_from + k/rate; whatever is due goes out now, round-robin
  // over open connections, one flush per connection per tick. The stamp is the due time, except
  // that the 1 ms pacing tick itself is not charged: a message at most one tick late is stamped
  // with the send time. Being later than that (the generator fell behind) counts as latency.
  void sendDue(uint64_t now) {
    uint64_t end = std::min(now, measure_to_ns_);
    auto due = static_cast<uint64_t>(static_cast<double>(end - load_from_ns_) * opt_.rate / 1e9);
    size_t n = conns_.size();
    while (sent_ < due) {
      uint64_t stamp = load_from_ns_ + static_cast<uint64_t>(static_cast<double>(sent_) * 1e9 / opt_.rate);
      if (now - stamp < kTickNs) stamp = now;
      Conn* c = nullptr;
      for (size_t tries = 0; tries < n && !c; ++tries) {
        Conn* cand = conns_[next_++ % n].get();
        if (cand->state() == Conn::State::Open) c = cand;
      }
      if (!c) return finish();  // every connection is gone
      c->queueMessage(stamp, opt_.size);
      if (stamp >= measure_from_ns_ && stamp < measure_to_ns_) ++sent_measured_;  // as onEcho counts
      ++sent_;
    }
    for (auto& c : conns_) c->flush();
    if (now >= measure_to_ns_) {
      phase_ = Phase::Draining;
      drain_until_ns_ = now + 2 * kNsPerS;
      size_t backlog = 0;
      for (auto& c : conns_) backlog += c->backlog();
      backlog_at_end_ = backlog;
    }
  }

  void finish() {
    phase_ = Phase::Done;
    uv_timer_stop(&tick_);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    for (auto& c : conns_) c->close();
  }

  int report() {
    if (opt_.hold_s > 0) {
      std::printf("RESULT mode=ws-hold conns=%llu failed=%llu connect_s=%.2f\n", static_cast<unsigned long long>(open_),
                  static_cast<unsigned long long>(failed_), connect_s_);
      return open_ > 0 && failed_ == 0 ? 0 : 1;
    }
    double window = opt_.duration_s;
    uint64_t echoed = hist_.count();
    double mps = static_cast<double>(echoed) / window;
    std::printf("tether-bench ws  %s\n", opt_.url.c_str());
    std::printf("  connections  %u requested, %llu opened in %.2f s, %llu failed\n", opt_.connections,
                static_cast<unsigned long long>(open_), connect_s_, static_cast<unsigned long long>(failed_));
    std::printf("  offered      %.0f msg/s x %zu B, %.1f s warm-up + %.1f s measured (open loop)\n", opt_.rate, opt_.size,
                opt_.warmup_s, window);
    std::printf("  measured     %llu sent, %llu echoed in time, %.0f msg/s, backlog at end %zu B\n",
                static_cast<unsigned long long>(sent_measured_), static_cast<unsigned long long>(echoed), mps, backlog_at_end_);
    std::printf("  RTT (us)     p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu  mean %.0f\n",
                static_cast<unsigned long long>(hist_.percentile(0.50)), static_cast<unsigned long long>(hist_.percentile(0.90)),
                static_cast<unsigned long long>(hist_.percentile(0.99)), static_cast<unsigned long long>(hist_.percentile(0.999)),
                static_cast<unsigned long long>(hist_.max()), hist_.mean());
    std::printf("RESULT mode=ws conns=%llu failed=%llu size=%zu rate=%.0f sent=%llu echoed=%llu msgs_per_s=%.0f "
                "p50_us=%llu p90_us=%llu p99_us=%llu p999_us=%llu max_us=%llu\n",
                static_cast<unsigned long long>(open_), static_cast<unsigned long long>(failed_), opt_.size, opt_.rate,
                static_cast<unsigned long long>(sent_measured_), static_cast<unsigned long long>(echoed), mps,
                static_cast<unsigned long long>(hist_.percentile(0.50)), static_cast<unsigned long long>(hist_.percentile(0.90)),
                static_cast<unsigned long long>(hist_.percentile(0.99)), static_cast<unsigned long long>(hist_.percentile(0.999)),
                static_cast<unsigned long long>(hist_.max()));
    std::fflush(stdout);
    return open_ > 0 && failed_ == 0 ? 0 : 1;
  }

  const Options& opt_;
  const Target& target_;
  std::unique_ptr<char[]> read_buffer_;
  uv_loop_t loop_;
  uv_timer_t tick_;
  std::vector<std::unique_ptr<Conn>> conns_;
  Phase phase_ = Phase::Connecting;
  Histogram hist_;
  uint64_t start_ns_ = 0, hold_until_ns_ = 0, load_from_ns_ = 0, measure_from_ns_ = 0, measure_to_ns_ = 0, drain_until_ns_ = 0;
  uint64_t open_ = 0, failed_ = 0, sent_ = 0, sent_measured_ = 0, received_ = 0;
  size_t next_ = 0;
  size_t backlog_at_end_ = 0;
  double connect_s_ = 0;
};

}  // namespace

int wsBenchMain(int argc, char** argv) {
  Options o;
  if (!parseArgs(argc, argv, o)) {
    usage();
    return 2;
  }
  Target t;
  std::string err = parseLoopbackTarget(o.url, t);
  if (err.empty() && t.scheme != "ws") err = "ws needs a ws:// URL";
  if (!err.empty()) {
    std::fprintf(stderr, "tether-bench ws: %s\n", err.c_str());
    return 2;
  }
  raiseFdLimit();
  Runner r(o, t);
  return r.run();
}

}  // namespace bench::ws
