// tether-chat fleet: a process supervisor for N chat instances on consecutive ports (what pm2
// `-i max` or Node's cluster module give a Socket.IO fleet).
//
// It starts the instances as child processes of the same binary, restarts one that dies with an
// exponential backoff (250 ms doubling to 10 s, reset after 30 s of healthy uptime) and logs
// every exit and restart; SIGTERM/SIGINT are forwarded to every child for a graceful drain, and
// the supervisor exits when all children have stopped (0 if they all exited cleanly).
// `--print-upstreams` only prints the matching tether YAML `servers:` block and exits.
#pragma once

#include <string>
#include <vector>

namespace backend::fleet {

struct FleetOptions {
  unsigned instances = 1;          // "auto" = number of CPUs
  unsigned base_port = 8001;
  std::string host = "127.0.0.1";
  bool print_upstreams = false;
  std::vector<std::string> child_args;  // passed through to every instance (--redis, --path, ...)
};

// Parses `fleet` arguments (everything after "fleet"). Returns false with a message on error.
bool parseFleetArgs(int argc, char** argv, FleetOptions& out, std::string& error);

// The YAML `servers:` block for tether.
std::string upstreamsYaml(const FleetOptions& opt);

// Runs the fleet until every child has stopped; returns the process exit code.
int runFleet(const FleetOptions& opt, const std::string& self_exe);

}  // namespace backend::fleet
