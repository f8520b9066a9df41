// tether-bench: load generators for tether, one subcommand per file set (bench/<name>/).
// `tether-bench ws ...` is the WebSocket generator, `tether-bench affinity ...` the affinity
// simulation and its end-to-end measurement (--e2e), `tether-bench chat ...` the Socket.IO chat
// load generator and `tether-bench chat-sink` the trivial chat server it can be measured against;
// a new subcommand is one table row. Loopback targets only; every run is bounded in time.
#include <cstdio>
#include <cstring>

#include "bench/affinity/main_affinity.h"
#include "bench/chat/chat_bench.h"
#include "bench/chat/chat_sink.h"
#include "bench/ws/ws_bench.h"

namespace {

struct Subcommand {
  const char* name;
  int (*main)(int argc, char** argv);  // argv[0] is the subcommand name
  const char* summary;
};

const Subcommand kSubcommands[] = {
    {"ws", &bench::ws::wsBenchMain, "open-loop WebSocket echo load: messages/s and RTT percentiles"},
    {"affinity", &bench::affinity::affinityMain,
     "strategies and affinity layers: simulation, or measured on real processes (--e2e)"},
    {"chat", &bench::chat::chatBenchMain, "Socket.IO chat load: deliveries/s, send->receive latency, server CPU and RSS"},
    {"chat-sink", &bench::chat::chatSinkMain, "a trivial Socket.IO chat server (one prebuilt frame per broadcast)"},
};

void usage() {
  std::fprintf(stderr, "usage: tether-bench SUBCOMMAND [options]   (SUBCOMMAND --help for its options)\n");
  for (const auto& s : kSubcommands) std::fprintf(stderr, "  %-10s %s\n", s.name, s.summary);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  for (const auto& s : kSubcommands)
    if (!std::strcmp(argv[1], s.name)) return s.main(argc - 1, argv + 1);
  std::fprintf(stderr, "tether-bench: unknown subcommand '%s'\n", argv[1]);
  usage();
  return 2;
}
