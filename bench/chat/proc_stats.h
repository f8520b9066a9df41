// CPU time and memory of a process from Linux /proc, and CPU time of one of our threads.
//
// Server CPU is utime + stime (fields 14 and 15 of /proc/PID/stat, in clock ticks of
// sysconf(_SC_CLK_TCK), usually 10 ms), so a rate over a window of a few seconds is good to
// about a percent. RSS is VmRSS from /proc/PID/status. The parsers are pure and take the file's
// text; the readers return false when the process is gone or the text is not as expected.
// Worked example: "1234 (tether chat) S 1 ... 250 30 ..." with utime 250 and stime 30 at 100
// ticks/s is 2.8 CPU seconds (the command name may hold spaces and parentheses: fields are
// counted from the last ')').
#pragma once

#include <pthread.h>

#include <cstdint>
#include <string_view>

namespace bench::chat {

// utime + stime in ticks from /proc/PID/stat text.
bool parseStatCpuTicks(std::string_view stat, uint64_t& ticks);
// VmRSS in KiB from /proc/PID/status text.
bool parseStatusRssKiB(std::string_view status, uint64_t& kib);

bool readProcessCpuSeconds(int pid, double& seconds);
bool readProcessRssKiB(int pid, uint64_t& kib);
// CPU seconds used so far by `thread` (a thread of this process); -1 when unavailable.
double threadCpuSeconds(pthread_t thread);

}  // namespace bench::chat
