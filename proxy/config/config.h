// tether's configuration as plain, validated structs.
//
// The YAML loader (config_loader.h) is the only code that sees YAML; everything at run time reads
// these structs. Every field carries the default documented in docs/configuration.md, so a
// default-constructed Config plus one listener and one upstream is a working proxy. Addresses are
// resolved to sockaddr at load time: the data path never parses text or does DNS. A server whose
// host name is re-resolved while tether runs (`resolve: true`) is kept as a template in
// UpstreamConfig::resolve; the members DNS returns for it are added to `servers` by the discovery
// engine (proxy/upstream/discovery.h), which hands the workers a new Config when they change.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/units.h"
#include "proxy/config/template.h"

namespace proxy::tls {
class ClientContext;
}

namespace proxy::config {

using common::Millis;

struct ServerConfig {
  std::string address;        // "127.0.0.1:8001", "[::1]:8001"; for a member found by DNS, its IP:PORT
  std::string name;           // its identity: defaults to the address as written; NAME@IP:PORT for
                              // a member found by DNS. Names it in logs, metrics, cookies, sid pins
  sockaddr_storage sockaddr{};
  uint32_t weight = 1;        // 1..256
  bool backup = false;
  // Administrative state from `state: up|drain|down`. A drained server gets no new sessions
  // (pinned ones stay); a down one gets nothing until changed.
  enum class AdminState : uint8_t { Up, Drain, Down };
  AdminState state = AdminState::Up;
  // `resolve: true` templates only: the host name and port to look up.
  std::string host;
  uint16_t port = 0;
  // The host name the address was written with ("app.internal:443"), also for the members DNS
  // gives; "" for an IP literal. The default TLS server name of an upstream with `tls:`.
  std::string hostname;
};

// The active check of an upstream's servers (`health_check:`). Probes run once per process (the
// membership manager, proxy/upstream/membership_manager.h), not once per worker.
struct HealthCheckConfig {
  enum class Type : uint8_t { Http, Tcp };
  bool enabled = false;       // true when the upstream has a health_check section
  Type type = Type::Http;
  std::string path = "/health";
  std::string host;           // Host header; empty: the server's address
  Millis interval{2'000};
  Millis timeout{1'000};
  uint32_t rise = 2;          // consecutive successes to become up
  uint32_t fall = 3;          // consecutive failures to become down
  struct StatusRange {
    uint16_t lo, hi;
  };
  std::vector<StatusRange> expect_status{{200, 399}};
  bool initial_up = true;     // `initial: up|down`
};

// ---- affinity (see docs/configuration.md "Affinity and hashing") ----

// One source of a hashing key, as written in `hash_key:`.
struct KeySource {
  enum class Kind : uint8_t { RemoteAddr, Header, Cookie, Query, Path };
  Kind kind = Kind::RemoteAddr;
  std::string name;  // header / cookie / query parameter name (header lower-case)
};

struct CookieConfig {
  enum class Secure : uint8_t { Auto, On, Off };
  std::string name = "tether_sid";
  uint64_t max_age = 0;              // seconds; 0 = session cookie (no Max-Age)
  std::string path = "/";
  Secure secure = Secure::Auto;      // auto: only on TLS listeners
  std::string same_site = "Lax";     // Strict | Lax | None | "" (omitted)
  std::string fallback = "least_conn";
};

enum class AffinityLayer : uint8_t { Sid, Cookie };

// `upstreams.NAME.tls`: requests to the upstream's servers (and its health checks) go over TLS.
struct UpstreamTlsConfig {
  bool enabled = false;
  std::string at;              // "FILE:LINE:COL" of the `tls` key
  std::string ca, ca_at;       // PEM CAs the servers' certificates must chain to; "": the system's
  bool verify = true;          // false: any certificate is accepted (the connection is still TLS)
  std::string sni;             // server name sent and verified; "": the server's hostname (if any)
  std::string cert, cert_at, key, key_at;  // client certificate and key (PEM), both or neither
  // The OpenSSL client context for these settings, built after loading (tls/client_context.h)
  // by whoever loads the file (main, at start and on reload); shared by every copy of the config.
  std::shared_ptr<const tls::ClientContext> context;
};

struct UpstreamConfig {
  std::string name;
  std::string strategy = "round_robin";  // `strategy: cookie` is stored as its fallback + Cookie layer
  std::vector<KeySource> hash_key;       // consistent_hash key sources, first present wins
  uint32_t ipv4_prefix = 32;             // remote_addr keys: leading bits of an IPv4 address hashed
  uint32_t ipv6_prefix = 128;
  double balance_factor = 0;             // consistent_hash bounded loads; 0 = off, else > 1
  CookieConfig cookie;
  std::vector<AffinityLayer> affinity;   // layers in front of the strategy, in order
  Millis sid_ttl{60'000};                // sid entry lifetime when the handshake gives none
  bool sid_token = true;                 // hand clients sealed sids (lb/affinity/sid_token.h)
  std::string sid_secret;                // keys the sid tokens' tag, with the upstream's name
  uint32_t keepalive = 64;    // idle connections kept per worker
  uint32_t retries = 1;       // further servers tried when connecting fails
  std::vector<ServerConfig> servers;     // the members picks choose from (may be empty: 503)
  std::vector<ServerConfig> resolve;     // `resolve: true` templates (see the top of this file)
  // Active checks and passive detection (nginx's max_fails/fail_timeout).
  HealthCheckConfig health_check;
  uint32_t max_fails = 3;     // 0 disables passive detection
  Millis fail_timeout{10'000};
  Millis slow_start{0};       // a server coming back up ramps its weight over this time; 0: off
  UpstreamTlsConfig tls;
};

struct TlsSniConfig {
  std::vector<std::string> names;  // lower-case host names; "*.example.com" allowed
  std::string cert, key;           // PEM files (paths resolved against the config file's folder)
  std::string cert_at, key_at;     // "FILE:LINE:COL" of the keys, for certificate errors
  std::string ocsp;                // DER OCSP response to staple (tls/ocsp_staple.h); "": none
};

struct TlsConfig {
  std::string cert, key;           // default certificate chain and key (PEM)
  std::string cert_at, key_at;     // "FILE:LINE:COL" of the keys, for certificate errors
  std::string min_version = "TLSv1.2";  // TLSv1.2 | TLSv1.3
  std::string ocsp;                // DER OCSP response for `cert` to staple; "": none
  std::vector<TlsSniConfig> sni;
  // Session ticket keys: the contents of tls.session_ticket_keys, one or more 80-byte keys (name
  // 16, HMAC 32, AES 32; the first encrypts, all decrypt), shared by replicas that resume each
  // other's sessions; empty: the process's own keys, rotated every session_ticket_rotation.
  std::string session_ticket_keys;
  Millis session_ticket_rotation{3'600'000};
  // Client certificates (mTLS): CAs that sign them (PEM); empty: none asked for. `optional`:
  // a client may send none, but one it sends must verify.
  std::string client_ca, client_ca_at;
  bool verify_client_required = true;
};

// A CIDR block ("10.0.0.0/8", "::1/128"), parsed.
struct Cidr {
  int family = 0;          // AF_INET / AF_INET6
  uint8_t addr[16] = {};
  uint32_t prefix = 0;
};

// A listener's `http2:` (true, or a map of these limits). TLS listeners offer h2 by ALPN; plain
// ones accept h2c with prior knowledge; HTTP/1.1 keeps working on both.
struct Http2Config {
  bool enabled = false;
  uint32_t max_concurrent_streams = 128;
  uint32_t max_header_list_bytes = 64 * 1024;   // decoded header list of one request
  uint32_t initial_window_bytes = 64 * 1024;    // per stream, for request bodies
  uint32_t connection_window_bytes = 1024 * 1024;
  bool operator==(const Http2Config&) const = default;
};

struct ListenerConfig {
  std::string name;
  std::string address;
  sockaddr_storage sockaddr{};
  bool tls_enabled = false;
  TlsConfig tls;
  // Every connection starts with a PROXY protocol header (v1 or v2); its source is the client.
  bool proxy_protocol = false;
  // Plain HTTP only: every request but ACME HTTP-01 challenges is answered 308 to https://.
  bool redirect_https = false;
  Http2Config http2;
  // Addresses whose forwarding headers are believed: a request from one of them keeps its
  // X-Forwarded-For chain, X-Forwarded-Proto and X-Forwarded-Host, and its client is the
  // right-most X-Forwarded-For entry not in this list. With proxy_protocol, only these peers may
  // connect at all.
  std::vector<Cidr> trusted_proxies;
};

// `request_headers` / `response_headers` of a route: names removed, then lines added. `set` is a
// remove plus an add. Values are templates (template.h).
struct HeaderRules {
  std::vector<std::string> remove;  // lower-case names: every header of the name goes (set names too)
  struct Line {
    std::string name;               // as written
    Template value;
  };
  std::vector<Line> add;            // added after tether's own headers, in the order written
  bool empty() const { return remove.empty() && add.empty(); }
};

// A route: what it matches, then what it does (proxy to `upstream`, `respond`, or `redirect`).
struct RouteConfig {
  std::string host = "*";     // exact, "*.example.com" or "*"; compared lower-case, port ignored
  std::string path_prefix = "/";
  std::string path;           // exact path (query ignored); when set, path_prefix is not used
  std::vector<std::string> methods;  // upper-case; empty: any
  struct HeaderMatch {
    std::string name;         // lower-case
    std::string value;        // exact, case-sensitive
  };
  std::vector<HeaderMatch> headers;  // all must be present with these values
  enum class Action : uint8_t { Proxy, Respond, Redirect };
  Action action = Action::Proxy;
  std::string upstream;
  size_t upstream_index = 0;  // resolved by the loader
  // Proxy: the path sent upstream. strip_prefix removes path_prefix; rewrite_prefix replaces it.
  bool rewrite_path = false;
  std::string rewrite_prefix;  // "" with strip_prefix ("/" when the rest would be empty)
  // Respond: a fixed answer from tether.
  uint16_t status = 0;        // respond.status or redirect.status
  Template body;              // respond.body
  std::string content_type = "text/plain";
  // Redirect: Location.
  Template location;
  std::string at;             // "FILE:LINE:COL" of the route, for `tether -t` warnings
  HeaderRules request_headers, response_headers;
  // Per-route overrides; 0 / unset: the global value.
  Millis upstream_response{0}, tunnel_idle{0};
  uint64_t max_body_bytes = 0;
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

// `limits.per_client`: per client address, shared by all workers (edge/client_limiter.h).
// 0 turns a limit off; both off (the default) costs nothing.
struct PerClientLimits {
  uint32_t connections = 0;          // concurrent connections
  uint32_t requests_per_second = 0;  // token bucket rate...
  uint32_t burst = 0;                // ...and size (defaults to the rate)
  bool enabled() const { return connections || requests_per_second; }
};

struct Limits {
  uint64_t max_connections = 100'000;  // past it: 503 with Retry-After (plain), close (TLS)
  uint64_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 10 * 1024 * 1024;
  PerClientLimits per_client;
};

// DNS discovery for `resolve: true` servers (`resolver:`).
struct ResolverConfig {
  std::vector<std::string> servers;  // "IP[:port]"; empty: the system's (/etc/resolv.conf)
  Millis interval{5'000};            // re-resolve period; a longer record TTL is honoured, up to 5 min
};

// Admin listener (/metrics, /status, server state changes): off unless `admin.address` is set.
// Never served on a public listener. An empty token means no authentication (bind to loopback).
struct AdminConfig {
  bool enabled = false;
  std::string address;
  sockaddr_storage sockaddr{};
  std::string token;          // when set, requests need "Authorization: Bearer <token>" (from
                              // `token`, `token_file` or $TETHER_ADMIN_TOKEN)
  std::string read_token;     // also accepted for the read-only endpoints (/metrics, /status)
  bool allow_unauthenticated = false;  // a non-loopback address without a token, on purpose
};

// Optional access log, one line per response, buffered per worker (metrics/access_log.h).
struct AccessLogConfig {
  bool enabled = false;
  std::string path;
  enum class Format : uint8_t { Json, Combined } format = Format::Json;
};

struct Config;
// The largest body any route accepts (limits.max_body_bytes and the routes' overrides): the
// parser's limit for a head before its route is known.
uint64_t bodyLimitCeiling(const Config& cfg);

struct Config {
  std::string source;          // file path the config came from (for messages)
  unsigned workers = 1;        // resolved: "auto" becomes the number of CPUs
  std::vector<ListenerConfig> listeners;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;  // when empty and there is one upstream, everything goes there
  Timeouts timeouts;
  Limits limits;
  AdminConfig admin;
  AccessLogConfig access_log;
  ResolverConfig resolver;
  // `request_id: X-Request-Id`: the header that carries request ids (edge/request_id.h);
  // empty: off.
  std::string request_id;
};

inline uint64_t bodyLimitCeiling(const Config& cfg) {
  uint64_t n = cfg.limits.max_body_bytes;
  for (const auto& r : cfg.routes) n = r.max_body_bytes > n ? r.max_body_bytes : n;
  return n;
}

}  // namespace proxy::config
