// The result of one `tether-bench chat` run and how it is printed: a text report for people,
// then one JSON line for scripts (bench/chat/run_cpp.sh, saturate.sh, the integration test).
//
// Window figures (deliveries/s, sends/s, acks/s, CPU) are counter and /proc differences between
// two samples taken at the window's edges, divided by the time between the samples. Totals
// cover the whole load phase plus the drain after it: `expected` is sum over sends of the
// sender's room size, so missing = expected - received counts deliveries that never came.
// The generator's CPU per thread (s/s) near 1.0 says the generator, not the server, was the
// limit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/chat/chat_options.h"
#include "bench/common/histogram.h"

namespace bench::chat {

struct ChatResult {
  double connect_s = 0;  // from start until every client joined or failed
  uint64_t joined = 0, connect_failed = 0, disconnects = 0, ack_errors = 0, misrouted = 0;
  double window_s = 0;
  uint64_t window_deliveries = 0, window_sends = 0, window_acks = 0;
  uint64_t total_sent = 0, total_expected = 0, total_received = 0, total_acked = 0;
  size_t backlog_at_stop = 0;  // bytes the generator had not written when sending stopped
  Histogram latency_us;
  bool server_sampled = false;
  double server_cpu_s = 0;  // in the window
  uint64_t rss_idle_kib = 0, rss_connected_kib = 0, rss_load_kib = 0;
  std::vector<double> gen_thread_cpu_s;  // in the window, per generator thread
  double gen_process_cpu_s = 0;          // in the window, the whole generator

  uint64_t errors() const { return connect_failed + disconnects + ack_errors + misrouted; }
  uint64_t missing() const { return total_expected > total_received ? total_expected - total_received : 0; }
};

// Text report, then the JSON line, on stdout.
void printChatReport(const ChatOptions& o, const ChatResult& r);

}  // namespace bench::chat
