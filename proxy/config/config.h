// tether's configuration as plain, validated structs.
//
// The YAML loader (config_loader.h) is the only code that sees YAML; everything at run time reads
// these structs. Every field carries the default documented in docs/configuration.md, so a
// default-constructed Config plus one listener and one upstream is a working proxy. Addresses are
// resolved to sockaddr at load time: the data path never parses text or does DNS.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/units.h"

namespace proxy::config {

using common::Millis;

struct ServerConfig {
  std::string address;        // as written: "127.0.0.1:8001", "[::1]:8001"
  std::string name;           // defaults to address; names the server in logs, metrics, cookies
  sockaddr_storage sockaddr{};
  uint32_t weight = 1;        // 1..256
  bool backup = false;
};

struct UpstreamConfig {
  std::string name;
  std::string strategy = "round_robin";
  uint32_t keepalive = 64;    // idle connections kept per worker
  uint32_t retries = 1;       // further servers tried when connecting fails
  std::vector<ServerConfig> servers;
};

struct TlsSniConfig {
  std::vector<std::string> names;  // lower-case host names; "*.example.com" allowed
  std::string cert, key;           // PEM files (paths resolved against the config file's folder)
};

struct TlsConfig {
  std::string cert, key;           // default certificate chain and key (PEM)
  std::string min_version = "TLSv1.2";  // TLSv1.2 | TLSv1.3
  std::vector<TlsSniConfig> sni;
};

struct ListenerConfig {
  std::string name;
  std::string address;
  sockaddr_storage sockaddr{};
  bool tls_enabled = false;
  TlsConfig tls;
};

struct RouteConfig {
  std::string host = "*";     // exact, "*.example.com" or "*"; compared lower-case, port ignored
  std::string path_prefix = "/";
  std::string upstream;
  size_t upstream_index = 0;  // resolved by the loader
};

struct Timeouts {
  Millis connect{5'000};
  Millis client_header{10'000};
  Millis keepalive{75'000};           // idle client connection between requests
  Millis upstream_response{60'000};   // max silence from the upstream while a response is due
  Millis upstream_keepalive{60'000};  // idle pooled upstream connection
  Millis shutdown{10'000};
  Millis tunnel_idle{3'600'000};      // silent upgraded (WebSocket) tunnel
};

struct Limits {
  uint64_t max_connections = 100'000;
  uint64_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 10 * 1024 * 1024;
};

// Admin listener (/metrics, /status, server state changes): off unless `admin.address` is set.
// Never served on a public listener. An empty token means no authentication (bind to loopback).
struct AdminConfig {
  bool enabled = false;
  std::string address;
  sockaddr_storage sockaddr{};
  std::string token;          // when set, requests need "Authorization: Bearer <token>"
};

// Optional access log, one line per response, buffered per worker (metrics/access_log.h).
struct AccessLogConfig {
  bool enabled = false;
  std::string path;
  enum class Format : uint8_t { Json, Combined } format = Format::Json;
};

struct Config {
  std::string source;          // file path the config came from (for messages)
  unsigned workers = 1;        // resolved: "auto" becomes the number of CPUs
  std::vector<ListenerConfig> listeners;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;  // when empty and there is one upstream, everything goes there
  Timeouts timeouts;
  Limits limits;
  AdminConfig admin;           // admin branch: see AdminConfig
  AccessLogConfig access_log;  // admin branch: see AccessLogConfig
};

}  // namespace proxy::config
