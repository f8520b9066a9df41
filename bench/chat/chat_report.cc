// printChatReport: see chat_report.h.
#include "bench/chat/chat_report.h"

#include <cstdio>
#include <string>

namespace bench::chat {
namespace {

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

}  // namespace

void printChatReport(const ChatOptions& o, const ChatResult& r) {
  double w = r.window_s > 0 ? r.window_s : 1;
  double deliveries_s = static_cast<double>(r.window_deliveries) / w;
  double sends_s = static_cast<double>(r.window_sends) / w;
  double acks_s = static_cast<double>(r.window_acks) / w;
  double server_cpu = r.server_cpu_s / w;
  double per_cpu_s = r.server_cpu_s > 0 ? static_cast<double>(r.window_deliveries) / r.server_cpu_s : 0;
  double rss_per_client = r.joined && r.rss_connected_kib > r.rss_idle_kib
                              ? static_cast<double>(r.rss_connected_kib - r.rss_idle_kib) / static_cast<double>(r.joined)
                              : 0;
  const Histogram& h = r.latency_us;
  double ms = 1000.0;

  std::printf("tether-bench chat  %s  (%s)\n", o.url.c_str(), o.label.c_str());
  std::printf("  load        %u clients in %u rooms, %.3g msg/s each, %zu B text, %u thread(s); %.1f s warm-up + %.1f s window\n",
              o.clients, o.rooms, o.rate, o.size, o.threads, o.warmup_s, o.duration_s);
  std::printf("  clients     %llu joined in %.2f s, %llu failed to join, %llu dropped\n", ull(r.joined), r.connect_s,
              ull(r.connect_failed), ull(r.disconnects));
  std::printf("  window      %.0f deliveries/s, %.0f sends/s, %.0f acks/s\n", deliveries_s, sends_s, acks_s);
  std::printf("  totals      %llu sent, %llu acked, %llu delivered of %llu expected (%llu missing), %llu misrouted, %llu error acks\n",
              ull(r.total_sent), ull(r.total_acked), ull(r.total_received), ull(r.total_expected), ull(r.missing()),
              ull(r.misrouted), ull(r.ack_errors));
  std::printf("  latency     send -> receive: p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  (%llu samples)\n",
              static_cast<double>(h.percentile(0.5)) / ms, static_cast<double>(h.percentile(0.99)) / ms,
              static_cast<double>(h.percentile(0.999)) / ms, static_cast<double>(h.max()) / ms, ull(h.count()));
  if (r.server_sampled) {
    std::printf("  server      pid %d: %.3f CPU s/s, %.0f deliveries per CPU-second; RSS %.1f MiB idle, %.1f MiB connected, "
                "%.1f MiB under load, %.2f KiB per client\n",
                o.pid, server_cpu, per_cpu_s, static_cast<double>(r.rss_idle_kib) / 1024,
                static_cast<double>(r.rss_connected_kib) / 1024, static_cast<double>(r.rss_load_kib) / 1024, rss_per_client);
  }
  std::printf("  generator   %.3f CPU s/s in all; per thread:", r.gen_process_cpu_s / w);
  for (double c : r.gen_thread_cpu_s) std::printf(" %.3f", c / w);
  std::printf("; %zu B unsent when sending stopped\n", r.backlog_at_stop);

  std::printf("{\"label\":%s,\"clients\":%u,\"rooms\":%u,\"rate\":%g,\"size\":%zu,\"threads\":%u,", jsonString(o.label).c_str(),
              o.clients, o.rooms, o.rate, o.size, o.threads);
  std::printf("\"joined\":%llu,\"connectFailed\":%llu,\"disconnects\":%llu,\"errors\":%llu,\"misrouted\":%llu,\"ackErrors\":%llu,",
              ull(r.joined), ull(r.connect_failed), ull(r.disconnects), ull(r.errors()), ull(r.misrouted), ull(r.ack_errors));
  std::printf("\"windowS\":%.3f,\"deliveriesPerSec\":%.0f,\"sendsPerSec\":%.0f,\"acksPerSec\":%.0f,", r.window_s, deliveries_s,
              sends_s, acks_s);
  std::printf("\"sent\":%llu,\"acked\":%llu,\"received\":%llu,\"expected\":%llu,\"missing\":%llu,", ull(r.total_sent),
              ull(r.total_acked), ull(r.total_received), ull(r.total_expected), ull(r.missing()));
  std::printf("\"latencySamples\":%llu,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"p999Ms\":%.3f,\"maxMs\":%.3f,", ull(h.count()),
              static_cast<double>(h.percentile(0.5)) / ms, static_cast<double>(h.percentile(0.99)) / ms,
              static_cast<double>(h.percentile(0.999)) / ms, static_cast<double>(h.max()) / ms);
  if (r.server_sampled) {
    std::printf("\"serverCpuPerSec\":%.3f,\"deliveriesPerCpuSec\":%.0f,\"rssIdleMiB\":%.1f,\"rssConnectedMiB\":%.1f,"
                "\"rssUnderLoadMiB\":%.1f,\"rssPerClientKiB\":%.2f,",
                server_cpu, per_cpu_s, static_cast<double>(r.rss_idle_kib) / 1024, static_cast<double>(r.rss_connected_kib) / 1024,
                static_cast<double>(r.rss_load_kib) / 1024, rss_per_client);
  }
  std::printf("\"genCpuPerSec\":%.3f,\"genThreadCpuPerSec\":[", r.gen_process_cpu_s / w);
  for (size_t i = 0; i < r.gen_thread_cpu_s.size(); ++i) std::printf("%s%.3f", i ? "," : "", r.gen_thread_cpu_s[i] / w);
  std::printf("],\"backlogAtStopBytes\":%zu}\n", r.backlog_at_stop);
  std::fflush(stdout);
}

}  // namespace bench::chat
