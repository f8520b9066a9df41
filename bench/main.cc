// tether-bench: load generators and simulations, one subcommand per file.
//   tether-bench ws ...        WebSocket open-loop load (bench/ws/ws_load.cc)
#include <cstdio>
#include <cstring>

int runWsBench(int argc, char** argv);

int main(int argc, char** argv) {
  if (argc >= 2 && !std::strcmp(argv[1], "ws")) return runWsBench(argc - 2, argv + 2);
  std::fprintf(stderr, "usage: tether-bench ws --url ws://127.0.0.1:PORT/ [options]   (see --help of each subcommand)\n");
  return 2;
}
