// tether-chat entry point: parse flags, run. Everything else lives in backend/chat/runner.cc.
#include <uv.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "backend/chat/options.h"
#include "backend/chat/runner.h"
#include "backend/fleet/supervisor.h"
#include "backend/fleet/supervisor_link.h"

#ifndef TETHER_DEFAULT_WEB_ROOT
#define TETHER_DEFAULT_WEB_ROOT "backend/web"
#endif

// `tether-chat fleet ...`: the supervisor (backend/fleet/supervisor.h) runs N copies of this
// binary, each in server mode with its own --port.
static int runFleetCommand(int argc, char** argv) {
  backend::fleet::FleetOptions opt;
  std::string error;
  bool info = false;
  if (!backend::fleet::parseFleetArgs(argc, argv, opt, error, info)) {
    if (info) {
      std::fputs(error.c_str(), stdout);
      if (error.back() != '\n') std::fputc('\n', stdout);
      return 0;
    }
    std::fprintf(stderr, "tether-chat fleet: %s\n%s", error.c_str(), backend::fleet::fleetUsage());
    return 2;
  }
  if (opt.print_upstreams) {
    std::fputs(backend::fleet::upstreamsYaml(opt).c_str(), stdout);
    return 0;
  }
  char exe[4096];
  size_t len = sizeof(exe);
  if (uv_exepath(exe, &len) != 0) {
    std::fprintf(stderr, "tether-chat fleet: cannot find its own executable\n");
    return 1;
  }
  return backend::fleet::runFleet(opt, std::string(exe, len));
}

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "fleet") return runFleetCommand(argc - 2, argv + 2);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string error;
  bool help = false;
  auto options = backend::chat::parseOptions(args, error, help);
  if (!options) {
    std::fprintf(help ? stdout : stderr, "%s\n", error.c_str());
    if (!help) std::fprintf(stderr, "%s", backend::chat::usage());
    return help ? 0 : 2;
  }
  if (!backend::fleet::followSupervisor(error)) {
    std::fprintf(stderr, "tether-chat: %s\n", error.c_str());
    return 1;
  }
  if (options->webRoot.empty()) options->webRoot = TETHER_DEFAULT_WEB_ROOT;
  return backend::chat::run(*options);
}
