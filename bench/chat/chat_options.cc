// parseChatOptions / printChatUsage: see chat_options.h.
#include "bench/chat/chat_options.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "bench/chat/sio_packets.h"

namespace bench::chat {
namespace {

bool number(const char* v, double& out) {
  char* end = nullptr;
  out = std::strtod(v, &end);
  return end != v && *end == '\0';
}

}  // namespace

void printChatUsage() {
  std::fprintf(stderr,
               "usage: tether-bench chat --url ws://127.0.0.1:PORT [options]   (or --url 127.0.0.1:PORT)\n"
               "  Socket.IO chat load: N WebSocket-only clients in R rooms (client i in room i %% R) send\n"
               "  stamped \"message\" events; every member's receive is a delivery timed send -> receive.\n"
               "  -c, --clients N      clients (default 100, max 200000)\n"
               "  -R, --rooms R        rooms (default 10)\n"
               "  -r, --rate X         messages per second per client (default 1)\n"
               "  -s, --size B         text bytes per message, >= %zu (default 64)\n"
               "  -d, --duration S     measurement window in seconds (default 10, max 600)\n"
               "  -w, --warmup S       seconds of load before the window (default 2)\n"
               "  -t, --threads T      generator threads, one libuv loop each (default 1, max 64)\n"
               "  -p, --pid PID        the server's process: CPU s/s and RSS from /proc/PID\n"
               "      --ramp N         new connections per second, all threads (default 2000)\n"
               "      --label NAME     names the run in the report (default server)\n"
               "Prints a text report, then one JSON line. Exit 0 when every client joined and none\n"
               "dropped, 1 otherwise, 2 for bad flags. Loopback targets only.\n",
               kMinTextSize);
}

bool parseChatOptions(int argc, char** argv, ChatOptions& o, bool& help) {
  help = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-h" || a == "--help") {
      help = true;
      return false;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "tether-bench chat: %s needs a value\n", argv[i]);
      return false;
    }
    const char* v = argv[++i];
    double x = 0;
    bool is_text = a == "--url" || a == "-u" || a == "--label";
    if (!is_text && !number(v, x)) {
      std::fprintf(stderr, "tether-bench chat: %s: not a number: %s\n", argv[i - 1], v);
      return false;
    }
    if (a == "--url" || a == "-u") o.url = v;
    else if (a == "--label") o.label = v;
    else if (a == "-c" || a == "--clients") o.clients = x >= 0 && x <= 1e6 ? static_cast<uint32_t>(x) : 0;
    else if (a == "-R" || a == "--rooms") o.rooms = x >= 0 && x <= 1e6 ? static_cast<uint32_t>(x) : 0;
    else if (a == "-r" || a == "--rate") o.rate = x;
    else if (a == "-s" || a == "--size") o.size = x >= 0 && x <= 1e6 ? static_cast<size_t>(x) : 0;
    else if (a == "-d" || a == "--duration") o.duration_s = x;
    else if (a == "-w" || a == "--warmup") o.warmup_s = x;
    else if (a == "-t" || a == "--threads") o.threads = x >= 0 && x <= 1000 ? static_cast<uint32_t>(x) : 0;
    else if (a == "-p" || a == "--pid") o.pid = x > 0 && x < 1e9 ? static_cast<int>(x) : -1;
    else if (a == "--ramp") o.ramp = x;
    else {
      std::fprintf(stderr, "tether-bench chat: unknown flag %s\n", argv[i - 1]);
      return false;
    }
  }
  const char* bad = o.url.empty()                                ? "--url is required"
                    : o.clients == 0 || o.clients > 200000       ? "--clients must be 1..200000"
                    : o.rooms == 0 || o.rooms > o.clients        ? "--rooms must be 1..clients"
                    : !(o.rate > 0) || o.rate > 10000            ? "--rate must be in (0, 10000]"
                    : o.size < kMinTextSize || o.size > 100000   ? "--size must be 32..100000"
                    : !(o.duration_s > 0) || o.duration_s > 600  ? "--duration must be in (0, 600]"
                    : !(o.warmup_s >= 0) || o.warmup_s > 60      ? "--warmup must be 0..60"
                    : o.threads == 0 || o.threads > 64           ? "--threads must be 1..64"
                    : o.threads > o.clients                      ? "--threads must be <= --clients"
                    : o.pid < 0                                  ? "--pid must be a process id"
                    : !(o.ramp > 0)                              ? "--ramp must be > 0"
                                                                 : nullptr;
  if (bad) std::fprintf(stderr, "tether-bench chat: %s\n", bad);
  return bad == nullptr;
}

}  // namespace bench::chat
