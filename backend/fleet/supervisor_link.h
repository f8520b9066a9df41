// The instance's side of tether-chat fleet: die with the supervisor. The supervisor puts its pid
// in $TETHER_FLEET_SUPERVISOR_PID; an instance started with it asks the kernel for SIGTERM when
// its parent dies (PR_SET_PDEATHSIG, which survives exec) and then checks that its parent is
// still that pid, since a supervisor killed between fork and that request would leave it
// unnoticed. SIGTERM starts the usual graceful drain (--drain), so clients are told to go.
#pragma once

#include <string>

namespace backend::fleet {

inline constexpr const char* kSupervisorPidEnv = "TETHER_FLEET_SUPERVISOR_PID";

// Without the variable: nothing to do, true. With it: true once linked; false with `error` when
// the variable is malformed, the request fails, or the supervisor is already gone.
bool followSupervisor(std::string& error);

}  // namespace backend::fleet
