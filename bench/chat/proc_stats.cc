// /proc readers: see proc_stats.h.
#include "bench/chat/proc_stats.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>

namespace bench::chat {
namespace {

bool readFile(const std::string& path, std::string& out) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return false;
  char buf[4096];
  size_t n;
  out.clear();
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return !out.empty();
}

bool digits(std::string_view s, size_t& pos, uint64_t& v) {
  size_t start = pos;
  v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 19) v = v * 10 + static_cast<uint64_t>(s[pos++] - '0');
  return pos > start;
}

}  // namespace

bool parseStatCpuTicks(std::string_view stat, uint64_t& ticks) {
  size_t pos = stat.rfind(')');
  if (pos == std::string_view::npos) return false;
  ++pos;
  // After ") " come field 3 (state) onwards; utime is field 14, stime 15: skip 11 fields.
  for (int field = 3; field < 14; ++field) {
    pos = stat.find(' ', pos + 1);
    if (pos == std::string_view::npos) return false;
  }
  uint64_t utime = 0, stime = 0;
  ++pos;
  if (!digits(stat, pos, utime) || pos >= stat.size() || stat[pos] != ' ') return false;
  ++pos;
  if (!digits(stat, pos, stime)) return false;
  ticks = utime + stime;
  return true;
}

bool parseStatusRssKiB(std::string_view status, uint64_t& kib) {
  size_t pos = status.find("VmRSS:");
  if (pos == std::string_view::npos) return false;
  pos += 6;
  while (pos < status.size() && (status[pos] == ' ' || status[pos] == '\t')) ++pos;
  return digits(status, pos, kib);
}

bool readProcessCpuSeconds(int pid, double& seconds) {
  std::string text;
  uint64_t ticks = 0;
  if (!readFile("/proc/" + std::to_string(pid) + "/stat", text) || !parseStatCpuTicks(text, ticks)) return false;
  long hz = sysconf(_SC_CLK_TCK);
  seconds = static_cast<double>(ticks) / static_cast<double>(hz > 0 ? hz : 100);
  return true;
}

bool readProcessRssKiB(int pid, uint64_t& kib) {
  std::string text;
  return readFile("/proc/" + std::to_string(pid) + "/status", text) && parseStatusRssKiB(text, kib);
}

double threadCpuSeconds(pthread_t thread) {
  clockid_t id;
  timespec ts;
  if (pthread_getcpuclockid(thread, &id) != 0 || clock_gettime(id, &ts) != 0) return -1;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace bench::chat
