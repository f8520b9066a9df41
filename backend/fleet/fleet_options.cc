// tether-chat fleet flags: see fleet_options.h.
#include "backend/fleet/fleet_options.h"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <thread>

#include "backend/chat/options.h"

namespace backend::fleet {
namespace {

bool parseUnsigned(std::string_view s, unsigned& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

const char* fleetUsage() {
  return "usage: tether-chat fleet --instances N|auto [fleet options] [server options]\n"
         "Runs N tether-chat servers on consecutive ports, restarts one that dies (backoff 250 ms\n"
         "to 10 s), forwards SIGTERM/SIGINT for a graceful drain; the servers stop with it.\n"
         "  --instances N|auto       number of servers, auto = one per CPU (1)\n"
         "  --base-port N            port of the first server; the others follow (8001)\n"
         "  --host ADDR              listen address of every server (127.0.0.1)\n"
         "  --print-upstreams        print tether's YAML servers: block for the fleet and exit\n"
         "  --help, -h               this text\n"
         "  --version                print the version\n"
         "Server options (tether-chat --help) are passed to every server; --port is not (it is\n"
         "chosen per server from --base-port).\n";
}

bool parseFleetArgs(int argc, char** argv, FleetOptions& out, std::string& error, bool& info) {
  info = false;
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view name) -> const char* {
      if (i + 1 >= argc) {
        error = std::string(name) + " needs a value";
        return nullptr;
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      info = true;
      error = fleetUsage();
      return false;
    } else if (a == "--version") {
      std::vector<std::string> version = {"--version"};
      bool help = false;
      backend::chat::parseOptions(version, error, help);  // the server's own version line
      info = true;
      return false;
    } else if (a == "--instances") {
      const char* v = value(a);
      if (!v) return false;
      if (std::string_view(v) == "auto") out.instances = std::max(1u, std::thread::hardware_concurrency());
      else if (!parseUnsigned(v, out.instances) || out.instances == 0 || out.instances > 256) {
        error = "--instances must be 1..256 or auto";
        return false;
      }
    } else if (a == "--base-port") {
      const char* v = value(a);
      if (!v) return false;
      if (!parseUnsigned(v, out.base_port) || out.base_port == 0 || out.base_port > 65535) {
        error = "--base-port must be a port number";
        return false;
      }
    } else if (a == "--host") {
      const char* v = value(a);
      if (!v) return false;
      out.host = v;
    } else if (a == "--print-upstreams") {
      out.print_upstreams = true;
    } else if (a == "--port") {
      error = "--port is chosen per instance by the fleet: use --base-port";
      return false;
    } else {
      out.child_args.emplace_back(a);  // a server option (and its value, next round)
    }
  }
  if (out.base_port + out.instances - 1 > 65535) {
    error = "--base-port + --instances runs past port 65535";
    return false;
  }
  bool help = false;
  if (!backend::chat::parseOptions(out.child_args, error, help)) return false;  // "unknown flag --x"
  return true;
}

std::string upstreamsYaml(const FleetOptions& opt) {
  std::string y = "    servers:\n";
  for (unsigned i = 0; i < opt.instances; ++i) {
    std::string addr = (opt.host.find(':') != std::string::npos ? "[" + opt.host + "]" : opt.host) + ":" +
                       std::to_string(opt.base_port + i);
    y += "      - {name: s" + std::to_string(i + 1) + ", address: \"" + addr + "\"}\n";
  }
  return y;
}

}  // namespace backend::fleet
