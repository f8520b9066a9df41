// Parsing a bench target URL and refusing anything that is not loopback.
//
// The load generators are for this machine only: they accept 127.0.0.0/8, ::1 and "localhost"
// (taken as 127.0.0.1) and nothing else, so a mistyped URL can never load someone's server.
// Accepted: ws://HOST:PORT/path, http://HOST:PORT/path, [::1] in brackets. No DNS lookups.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

namespace bench {

struct Target {
  std::string scheme;     // "ws" or "http"
  std::string host;       // as written (for the Host header)
  std::string path = "/";
  sockaddr_storage addr{};
};

// Returns an empty string on success, else a message saying what is wrong.
std::string parseLoopbackTarget(const std::string& url, Target& out);

}  // namespace bench
