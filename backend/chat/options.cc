// Flag parsing for tether-chat; see options.h.
#include "backend/chat/options.h"

#include <charconv>

#include "backend/bus/redis_url.h"
#include "common/log.h"
#include "common/units.h"

#ifndef TETHER_VERSION
#error "TETHER_VERSION is set by backend/CMakeLists.txt"
#endif

namespace backend::chat {
namespace {

std::optional<uint64_t> parseMillis(const std::string& v) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc() && p == v.data() + v.size()) return n;
  auto d = common::parseDuration(v);
  if (!d) return std::nullopt;
  return static_cast<uint64_t>(d->count());
}

}  // namespace

const char* usage() {
  return "usage: tether-chat [options]                      one chat server\n"
         "       tether-chat fleet --instances N|auto [...]   N servers under a supervisor\n"
         "                                                    (tether-chat fleet --help)\n"
         "  --help, -h               this text\n"
         "  --version                print the version\n"
         "  --host ADDR              listen address (127.0.0.1)\n"
         "  --port N                 listen port, 0 picks a free one (3000)\n"
         "  --id NAME                instance id shown to clients and in X-Served-By (hostname:port)\n"
         "  --path PATH              Engine.IO path (/socket.io/)\n"
         "  --ping-interval DUR      heartbeat interval (25000 ms)\n"
         "  --ping-timeout DUR       heartbeat timeout (20000 ms)\n"
         "  --max-payload BYTES      largest accepted message/POST body (1000000)\n"
         "  --max-connections N      sessions above this get 503 (unlimited)\n"
         "  --connect-timeout DUR    close sessions without a Socket.IO CONNECT (45000 ms)\n"
         "  --max-send-queue BYTES   per-client backlog cap (1MiB)\n"
         "  --write-delay DUR        coalesce a WebSocket client's frames for up to DUR into one\n"
         "                           write: fewer syscalls, up to DUR more latency (0)\n"
         "  --drain DUR              SIGTERM grace before closing sessions (10s)\n"
         "  --app chat|echo          chat app or the protocol conformance echo app (chat)\n"
         "  --web-root DIR           directory with index.html and node_modules (backend/web)\n"
         "  --log-level LEVEL        debug|info|warn|error (info)\n"
         "  --redis URL              redis://[:password@]host[:port][/db]: rooms, presence and\n"
         "                           history shared by the fleet (standalone without it)\n"
         "  --redis-password PW      Redis AUTH password (default $TETHER_REDIS_PASSWORD)\n"
         "  --history N              messages kept per room for recovery (1000)\n"
         "  --outage-queue N         sends held while Redis is unreachable, committed in order\n"
         "                           when it is back; past N they are refused (1000)\n"
         "  --outage-wait DUR        longest a send is held before it is refused (10s)\n";
}

std::optional<Options> parseOptions(const std::vector<std::string>& args, std::string& error, bool& help) {
  Options o;
  help = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    if (flag == "--help" || flag == "-h") {
      help = true;
      error = usage();
      return std::nullopt;
    }
    if (flag == "--version") {
      help = true;
      error = std::string("tether-chat ") + TETHER_VERSION;
      return std::nullopt;
    }
    size_t eq = flag.find('=');
    if (eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else {
      if (i + 1 >= args.size()) {
        error = "missing value for " + flag;
        return std::nullopt;
      }
      value = args[++i];
    }
    auto bad = [&]() {
      error = "invalid value for " + flag + ": '" + value + "'";
      return std::nullopt;
    };
    auto number = [&](uint64_t& out) {
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
      return ec == std::errc() && p == value.data() + value.size();
    };
    uint64_t n = 0;
    if (flag == "--host") {
      o.host = value;
    } else if (flag == "--port") {
      if (!number(n) || n > 65535) return bad();
      o.port = static_cast<int>(n);
    } else if (flag == "--id") {
      // Printable ASCII only: the id goes into the X-Served-By response header.
      if (value.empty() || value.size() > 64) return bad();
      for (char c : value)
        if (c < 0x21 || c > 0x7e) return bad();
      o.id = value;
    } else if (flag == "--path") {
      if (value.empty() || value[0] != '/') return bad();
      o.path = value.back() == '/' ? value : value + "/";
    } else if (flag == "--ping-interval" || flag == "--ping-timeout" || flag == "--connect-timeout" ||
               flag == "--drain" || flag == "--outage-wait") {
      auto ms = parseMillis(value);
      if (!ms || (*ms == 0 && flag != "--drain")) return bad();
      if (flag == "--ping-interval") o.pingIntervalMs = *ms;
      if (flag == "--ping-timeout") o.pingTimeoutMs = *ms;
      if (flag == "--connect-timeout") o.connectTimeoutMs = *ms;
      if (flag == "--drain") o.drainMs = *ms;
      if (flag == "--outage-wait") o.outageWaitMs = *ms;
    } else if (flag == "--write-delay") {
      auto ms = parseMillis(value);
      if (!ms || *ms > 1000) return bad();
      o.writeDelayMs = *ms;
    } else if (flag == "--max-payload" || flag == "--max-send-queue") {
      auto size = common::parseSize(value);
      if (!size || *size < 16) return bad();
      (flag == "--max-payload" ? o.maxPayload : o.maxSendQueue) = *size;
    } else if (flag == "--max-connections") {
      if (!number(n)) return bad();
      o.maxConnections = n;
    } else if (flag == "--app") {
      if (value != "chat" && value != "echo") return bad();
      o.app = value;
    } else if (flag == "--web-root") {
      o.webRoot = value;
    } else if (flag == "--log-level") {
      common::LogLevel level;
      if (!common::parseLogLevel(value, level)) {
        error = "invalid value for --log-level: '" + value + "' (debug, info, warn or error)";
        return std::nullopt;
      }
      o.logLevel = value;
    } else if (flag == "--redis") {
      std::string why;
      if (!bus::parseRedisUrl(value, why)) {
        error = "invalid value for --redis: " + why;
        return std::nullopt;
      }
      o.redisUrl = value;
    } else if (flag == "--redis-password") {
      o.redisPassword = value;
    } else if (flag == "--history") {
      if (!number(n) || n < 1 || n > 1'000'000) return bad();
      o.history = n;
    } else if (flag == "--outage-queue") {
      if (!number(n) || n > 1'000'000) return bad();
      o.outageQueue = n;
    } else {
      error = "unknown flag " + flag;
      return std::nullopt;
    }
  }
  return o;
}

}  // namespace backend::chat
