// tether-chat command line: flags -> a validated Options struct. Pure, no I/O.
//
// Durations (--ping-interval, --ping-timeout, --connect-timeout, --drain, --outage-wait,
// --write-delay) take a unit ("25s", "500ms"); a bare number means milliseconds, as the
// Engine.IO options are written.
// Sizes (--max-payload, --max-send-queue) take a bare byte count or a unit ("1MiB").
// --redis is validated here (backend/bus/redis_url.h) so a typo fails at startup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace backend::chat {

struct Options {
  std::string host = "127.0.0.1";
  int port = 3000;
  std::string id;  // default hostname:port, filled by main once the port is known
  std::string path = "/socket.io/";
  uint64_t pingIntervalMs = 25000;
  uint64_t pingTimeoutMs = 20000;
  size_t maxPayload = 1'000'000;
  size_t maxConnections = 0;  // 0: unlimited
  uint64_t connectTimeoutMs = 45000;
  size_t maxSendQueue = 1 << 20;
  uint64_t writeDelayMs = 0;  // WebSocket frames wait up to this long to leave together
  uint64_t drainMs = 10000;
  std::string app = "chat";   // chat | echo
  std::string webRoot;        // directory holding index.html and node_modules/
  std::string logLevel = "info";
  // Fleet bus (backend/bus/): empty redisUrl = standalone.
  std::string redisUrl;       // redis://[:password@]host[:port][/db]
  std::string redisPassword;  // --redis-password, else $TETHER_REDIS_PASSWORD, else the URL's
  size_t history = 1000;      // per-room stream length (XADD MAXLEN ~)
  size_t outageQueue = 1000;  // sends held while Redis is unreachable (0: refuse at once)
  uint64_t outageWaitMs = 10000;  // how long one may be held
};

// Parses argv (without argv[0]). On error returns nullopt and sets `error`; "--help" and
// "--version" set `help` to true and `error` to the text to print on stdout (exit 0).
std::optional<Options> parseOptions(const std::vector<std::string>& args, std::string& error, bool& help);

const char* usage();

}  // namespace backend::chat
