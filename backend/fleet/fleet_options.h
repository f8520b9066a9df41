// tether-chat fleet's command line: its own flags (--instances, --base-port, --host,
// --print-upstreams, --help, --version), every other flag passed through to the instances and
// validated here with the server's own parser, so a typo fails before anything starts (exit 2)
// instead of making every instance exit and the supervisor restart them forever. Pure, no I/O.
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

// Parses `fleet` arguments (everything after "fleet"). Returns false with `error` set: a message
// for a bad command line (exit 2), or, with `info` true, the help or version text (stdout, exit 0).
bool parseFleetArgs(int argc, char** argv, FleetOptions& out, std::string& error, bool& info);

const char* fleetUsage();

// The YAML `servers:` block for tether.
std::string upstreamsYaml(const FleetOptions& opt);

}  // namespace backend::fleet
