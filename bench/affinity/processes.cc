// Child processes, ports and the temp dir of the e2e run; see processes.h.
#include "bench/affinity/processes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

namespace bench::affinity {
namespace {

volatile sig_atomic_t g_interrupted = 0;

void onSignal(int) { g_interrupted = 1; }

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Waits until `pid` exits or `deadline` (now() seconds) passes, then SIGKILLs and reaps it.
void reapBy(pid_t pid, double deadline) {
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// A blocking connect with a bound; the fd or -1.
int connectWithin(const std::string& host, int port, double timeout_s) {
  sockaddr_in a = loopback(port);
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) return -1;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof(err);
  if (::poll(&p, 1, static_cast<int>(timeout_s * 1000)) != 1 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
      err != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The file's contents ("" when unreadable); /proc files report size 0, so read to the end.
std::string readFile(const std::string& path) {
  std::string out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

}  // namespace

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void installInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

bool interrupted() { return g_interrupted != 0; }

int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a = loopback(0);
  socklen_t len = sizeof(a);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool waitForPort(const std::string& host, int port, double timeout_s) {
  double deadline = now() + timeout_s;
  while (now() < deadline && !interrupted()) {
    int fd = connectWithin(host, port, 0.5);
    if (fd >= 0) {
      ::close(fd);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string httpGet(int port, const std::string& path, double timeout_s) {
  int fd = connectWithin("127.0.0.1", port, timeout_s);
  if (fd < 0) return "";
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  double deadline = now() + timeout_s;
  size_t sent = 0;
  std::string out;
  char buf[16384];
  while (now() < deadline) {
    pollfd p{fd, static_cast<short>(sent < req.size() ? POLLOUT : POLLIN), 0};
    if (::poll(&p, 1, 100) < 0) break;
    if (sent < req.size()) {
      ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
      else if (n < 0 && errno != EAGAIN) break;
      continue;
    }
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN) continue;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  size_t body = out.find("\r\n\r\n");
  return body == std::string::npos ? "" : out.substr(body + 4);
}

double cpuSeconds(pid_t pid) {
  std::string text = readFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = text.rfind(')');  // the command name may contain spaces
  if (paren == std::string::npos) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string f;
  unsigned long long utime = 0, stime = 0;
  // Fields after the name start at 3 (state); utime is 14, stime 15.
  for (int i = 3; i <= 15 && (fields >> f); ++i) {
    if (i == 14) utime = std::strtoull(f.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(f.c_str(), nullptr, 10);
  }
  long hz = ::sysconf(_SC_CLK_TCK);
  return hz > 0 ? static_cast<double>(utime + stime) / static_cast<double>(hz) : -1;
}

ProcessSet::~ProcessSet() {
  stopAll();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string ProcessSet::makeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/tether-bench-e2e-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back(0);
  if (!::mkdtemp(buf.data())) return "mkdtemp " + tmpl + ": " + std::strerror(errno);
  dir_ = buf.data();
  return "";
}

pid_t ProcessSet::spawn(const std::vector<std::string>& argv, const std::string& log_name) {
  std::string log = dir_ + "/" + log_name;
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::signal(SIGINT, SIG_IGN);  // Ctrl-C reaches the bench, which stops its children in order
    ::signal(SIGPIPE, SIG_DFL);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(fd);
  if (pid < 0) return -1;
  pids_.push_back(pid);
  return pid;
}

bool ProcessSet::signal(pid_t pid, int sig) const {
  if (std::find(pids_.begin(), pids_.end(), pid) == pids_.end()) return false;
  return ::kill(pid, sig) == 0;
}

bool ProcessSet::alive(pid_t pid) {
  auto it = std::find(pids_.begin(), pids_.end(), pid);
  if (it == pids_.end()) return false;
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    pids_.erase(it);
    return false;
  }
  return true;
}

bool ProcessSet::stop(pid_t pid, int sig, double timeout_s) {
  auto it = std::find(pids_.begin(), pids_.end(), pid);
  if (it == pids_.end()) return false;
  ::kill(pid, sig);
  reapBy(pid, now() + timeout_s);
  pids_.erase(std::find(pids_.begin(), pids_.end(), pid));
  return true;
}

void ProcessSet::stopAll() {
  for (pid_t pid : pids_) ::kill(pid, SIGTERM);
  double deadline = now() + 5;
  for (pid_t pid : pids_) reapBy(pid, deadline);
  pids_.clear();
}

std::string ProcessSet::tail(const std::string& log_name, size_t max_bytes) const {
  std::string text = readFile(dir_ + "/" + log_name);
  return text.size() > max_bytes ? text.substr(text.size() - max_bytes) : text;
}

}  // namespace bench::affinity
