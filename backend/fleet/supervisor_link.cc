// Dying with the fleet supervisor: see supervisor_link.h.
#include "backend/fleet/supervisor_link.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdlib>
#include <cstring>

namespace backend::fleet {

bool followSupervisor(std::string& error) {
  const char* v = std::getenv(kSupervisorPidEnv);
  if (!v) return true;
  const std::string text = v;
  unsetenv(kSupervisorPidEnv);  // not inherited by anything this instance might start
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 1) {
    error = std::string(kSupervisorPidEnv) + " is not a process id: '" + text + "'";
    return false;
  }
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
    error = std::string("cannot follow the fleet supervisor: prctl: ") + std::strerror(errno);
    return false;
  }
  if (getppid() != pid) {
    error = "the fleet supervisor (pid " + text + ") is already gone";
    return false;
  }
  return true;
}

}  // namespace backend::fleet
