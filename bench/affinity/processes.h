// Child processes of `tether-bench affinity --e2e`: tether and the backends on free loopback
// ports, their logs and configs in one temp dir, all removed when the run ends.
//
// Cleanup holds on every path: ProcessSet's destructor stops every child it started (SIGTERM,
// SIGKILL after a bound) and removes the temp dir; SIGINT/SIGTERM set a flag (interrupted())
// that the run checks between steps and in its loop, so an interrupted run unwinds through the
// same destructor; children get PR_SET_PDEATHSIG, so even a killed bench leaves none behind.
// Blocking helpers (port waits, one HTTP GET) are for setup between measurements only.
#pragma once

#include <netinet/in.h>

#include <sys/types.h>

#include <string>
#include <vector>

namespace bench::affinity {

// SIGINT/SIGTERM handlers that set interrupted(); idempotent.
void installInterruptHandlers();
bool interrupted();

// 127.0.0.1:port.
sockaddr_in loopback(int port);
// A port on 127.0.0.1 the kernel says is free now; -1 on failure.
int freeLoopbackPort();
// True once something accepts on host:port (an IPv4 literal), false after `timeout_s` (or when
// interrupted).
bool waitForPort(const std::string& host, int port, double timeout_s);
// GET http://127.0.0.1:port/path with a bound; returns the body, "" on failure.
std::string httpGet(int port, const std::string& path, double timeout_s);
// utime + stime of `pid` in seconds from /proc/PID/stat; < 0 when unreadable.
double cpuSeconds(pid_t pid);

class ProcessSet {
 public:
  ProcessSet() = default;
  ProcessSet(const ProcessSet&) = delete;
  ProcessSet& operator=(const ProcessSet&) = delete;
  ~ProcessSet();  // stopAll() and removes the temp dir

  // Creates the temp dir (mkdtemp under $TMPDIR or /tmp). "" or why it failed.
  std::string makeTempDir();
  const std::string& dir() const { return dir_; }
  // Starts argv (argv[0] a path) with stdout and stderr appended to dir()/log_name. -1 on failure.
  pid_t spawn(const std::vector<std::string>& argv, const std::string& log_name);
  // Signals `pid` and waits up to `timeout_s` for it to exit, then SIGKILLs it. True if it was ours.
  bool stop(pid_t pid, int sig, double timeout_s);
  bool signal(pid_t pid, int sig) const;
  // True while `pid` has not exited (reaps it when it has).
  bool alive(pid_t pid);
  void stopAll();
  // The last lines of a log in dir(), for error messages.
  std::string tail(const std::string& log_name, size_t max_bytes = 2000) const;

 private:
  std::string dir_;
  std::vector<pid_t> pids_;
};

}  // namespace bench::affinity
