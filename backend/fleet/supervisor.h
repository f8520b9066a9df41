// tether-chat fleet: a process supervisor for N chat instances on consecutive ports (what pm2
// `-i max` or Node's cluster module give a Socket.IO fleet).
//
// It starts the instances as child processes of the same binary, restarts one that dies with an
// exponential backoff (250 ms doubling to 10 s, reset after 30 s of healthy uptime) and logs
// every exit and restart; SIGTERM/SIGINT are forwarded to every child for a graceful drain, and
// the supervisor exits when all children have stopped (0 if they all exited cleanly).
// The children die with the supervisor even when it is killed outright (SIGKILL, the OOM killer):
// each gets the supervisor's pid in $TETHER_FLEET_SUPERVISOR_PID and follows it
// (supervisor_link.h), so no orphaned instance keeps holding a port.
#pragma once

#include <string>

#include "backend/fleet/fleet_options.h"

namespace backend::fleet {

// Runs the fleet until every child has stopped; returns the process exit code.
int runFleet(const FleetOptions& opt, const std::string& self_exe);

}  // namespace backend::fleet
