// Flags of `tether-bench chat`, parsed into plain values and checked; see usage() for each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bench::chat {

struct ChatOptions {
  std::string url;         // ws://127.0.0.1:PORT[/socket.io/] or HOST:PORT
  uint32_t clients = 100;
  uint32_t rooms = 10;
  double rate = 1;         // messages per second per client
  size_t size = 64;        // text bytes per message
  double duration_s = 10;  // measurement window
  double warmup_s = 2;     // load before the window
  uint32_t threads = 1;    // one libuv loop each
  int pid = 0;             // the server to sample in /proc (0: none)
  double ramp = 2000;      // new connections per second, all threads together
  std::string label = "server";
};

void printChatUsage();
// False (after a message on stderr) for a bad or missing flag; `help` is set for -h/--help.
bool parseChatOptions(int argc, char** argv, ChatOptions& o, bool& help);

}  // namespace bench::chat
