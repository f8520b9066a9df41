// YAML -> Config: see config_loader.h.
//
// Each section has a small reader function that checks the node's kind, rejects unknown keys
// and converts scalars (yaml_values.h); upstreams and the resolver have their own file
// (upstream_section.h). Errors are raised as yaml::LoadError carrying the yaml-cpp mark of the
// offending node, and turned into "FILE:LINE:COL: message" at the top.
#include "proxy/config/config_loader.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/uv_util.h"
#include "proxy/config/cidr.h"
#include "proxy/config/route_section.h"
#include "proxy/config/upstream_section.h"
#include "proxy/config/yaml_values.h"

namespace proxy::config {

using namespace yaml;

namespace {

void readTls(const YAML::Node& node, TlsConfig& t, const std::string& source) {
  expectMap(node, "tls");
  checkKeys(node, "tls", {"cert", "key", "min_version", "sni", "session_ticket_keys", "client_ca", "verify_client", "ocsp",
                          "session_ticket_rotation"});
  if (!node["cert"] || !node["key"]) fail(node, "tls needs 'cert' and 'key'");
  t.cert = pemFile(node["cert"], "tls.cert", source, t.cert_at);
  t.key = pemFile(node["key"], "tls.key", source, t.key_at);
  std::string unused_at;
  if (node["ocsp"]) t.ocsp = pemFile(node["ocsp"], "tls.ocsp", source, unused_at);
  if (node["min_version"]) {
    t.min_version = scalar(node["min_version"], "tls.min_version");
    if (t.min_version != "TLSv1.2" && t.min_version != "TLSv1.3") fail(node["min_version"], "tls.min_version must be TLSv1.2 or TLSv1.3");
  }
  if (node["client_ca"]) t.client_ca = pemFile(node["client_ca"], "tls.client_ca", source, t.client_ca_at);
  if (node["verify_client"]) {
    std::string v = scalar(node["verify_client"], "tls.verify_client");
    if (v != "optional" && v != "required") fail(node["verify_client"], "tls.verify_client must be optional or required");
    if (t.client_ca.empty()) fail(node["verify_client"], "tls.verify_client needs tls.client_ca (the CAs client certificates must chain to)");
    t.verify_client_required = v == "required";
  }
  if (node["session_ticket_keys"]) {
    const YAML::Node& k = node["session_ticket_keys"];
    std::string path = resolvePath(scalar(k, "tls.session_ticket_keys"), source);
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) fail(k, "tls.session_ticket_keys '" + path + "': " + systemReason(errno));
    constexpr size_t kMaxKeys = 16;
    char buf[80 * kMaxKeys + 1];
    size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    if (n == 0 || n % 80 != 0 || n > 80 * kMaxKeys)
      fail(k, "tls.session_ticket_keys '" + path + "': must hold one to 16 keys of 80 bytes each, got " + std::to_string(n) +
                  " bytes (openssl rand 80 > FILE)");
    t.session_ticket_keys.assign(buf, n);
    if (node["session_ticket_rotation"])
      fail(node["session_ticket_rotation"], "tls.session_ticket_rotation is for the process's own keys; with session_ticket_keys, "
                                            "rotate by putting a new key first in the file and reloading");
  }
  if (node["session_ticket_rotation"]) {
    t.session_ticket_rotation = durationValue(node["session_ticket_rotation"], "tls.session_ticket_rotation");
    if (t.session_ticket_rotation.count() < 1000) fail(node["session_ticket_rotation"], "tls.session_ticket_rotation must be at least 1s");
  }
  if (node["sni"]) {
    if (!node["sni"].IsSequence()) fail(node["sni"], "tls.sni must be a list");
    for (const auto& e : node["sni"]) {
      expectMap(e, "an sni entry");
      checkKeys(e, "tls.sni entry", {"names", "cert", "key", "ocsp"});
      if (!e["names"] || !e["names"].IsSequence() || !e["cert"] || !e["key"]) fail(e, "an sni entry needs 'names' (a list), 'cert' and 'key'");
      TlsSniConfig sni;
      for (const auto& n : e["names"]) {
        std::string name = scalar(n, "sni name");
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        sni.names.push_back(name);
      }
      sni.cert = pemFile(e["cert"], "tls.sni cert", source, sni.cert_at);
      sni.key = pemFile(e["key"], "tls.sni key", source, sni.key_at);
      if (e["ocsp"]) sni.ocsp = pemFile(e["ocsp"], "tls.sni ocsp", source, unused_at);
      t.sni.push_back(std::move(sni));
    }
  }
}

// `http2: true` or `http2: {max_concurrent_streams: 128, ...}` (the map turns it on too).
void readHttp2(const YAML::Node& node, Http2Config& h) {
  if (!node.IsMap()) {
    h.enabled = boolValue(node, "http2");
    return;
  }
  checkKeys(node, "http2", {"max_concurrent_streams", "max_header_list_bytes", "initial_window_bytes", "connection_window_bytes"});
  h.enabled = true;
  if (node["max_concurrent_streams"])
    h.max_concurrent_streams = static_cast<uint32_t>(unsignedValue(node["max_concurrent_streams"], "http2.max_concurrent_streams", 1, 10'000));
  if (node["max_header_list_bytes"]) {
    uint64_t v = sizeValue(node["max_header_list_bytes"], "http2.max_header_list_bytes");
    if (v < 1024 || v > 16 * 1024 * 1024) fail(node["max_header_list_bytes"], "http2.max_header_list_bytes must be between 1KiB and 16MiB");
    h.max_header_list_bytes = static_cast<uint32_t>(v);
  }
  // RFC 9113 6.9.2: windows are at most 2^31-1; below 16 KiB a body crawls.
  auto window = [&](const char* key, uint32_t& out) {
    if (!node[key]) return;
    uint64_t v = sizeValue(node[key], std::string("http2.") + key);
    if (v < 16 * 1024 || v > 0x7fffffffULL) fail(node[key], std::string("http2.") + key + " must be between 16KiB and 2GiB-1");
    out = static_cast<uint32_t>(v);
  };
  window("initial_window_bytes", h.initial_window_bytes);
  window("connection_window_bytes", h.connection_window_bytes);
  if (h.connection_window_bytes < h.initial_window_bytes) h.connection_window_bytes = h.initial_window_bytes;
}

void readListener(const YAML::Node& node, ListenerConfig& l, size_t index, const std::string& source) {
  expectMap(node, "a listener");
  checkKeys(node, "listener", {"name", "address", "tls", "trusted_proxies", "proxy_protocol", "redirect_https", "http2"});
  if (node["http2"]) readHttp2(node["http2"], l.http2);
  if (node["proxy_protocol"]) l.proxy_protocol = boolValue(node["proxy_protocol"], "proxy_protocol");
  if (node["redirect_https"]) {
    l.redirect_https = boolValue(node["redirect_https"], "redirect_https");
    if (l.redirect_https && node["tls"]) fail(node["redirect_https"], "redirect_https is for plain listeners; this one has tls");
  }
  if (node["tls"]) {
    l.tls_enabled = true;
    readTls(node["tls"], l.tls, source);
  }
  if (node["trusted_proxies"]) {
    const YAML::Node tp = node["trusted_proxies"];
    if (!tp.IsSequence()) fail(tp, "trusted_proxies must be a list of CIDR blocks");
    for (const auto& e : tp) {
      Cidr c;
      std::string s = scalar(e, "trusted_proxies entry");
      if (!parseCidr(s, c)) fail(e, "trusted_proxies entry '" + s + "' is not a CIDR block like 10.0.0.0/8");
      l.trusted_proxies.push_back(c);
    }
  }
  if (!node["address"]) fail(node, "listener needs an 'address'");
  l.address = scalar(node["address"], "address");
  l.sockaddr = addressValue(node["address"], "listener address");
  l.name = node["name"] ? scalar(node["name"], "name") : "listener" + std::to_string(index);
}


void readTimeouts(const YAML::Node& node, Timeouts& t) {
  expectMap(node, "timeouts");
  checkKeys(node, "timeouts", {"connect", "client_header", "keepalive", "upstream_response", "upstream_keepalive", "shutdown", "tunnel_idle"});
  if (node["connect"]) t.connect = durationValue(node["connect"], "timeouts.connect");
  if (node["client_header"]) t.client_header = durationValue(node["client_header"], "timeouts.client_header");
  if (node["keepalive"]) t.keepalive = durationValue(node["keepalive"], "timeouts.keepalive");
  if (node["upstream_response"]) t.upstream_response = durationValue(node["upstream_response"], "timeouts.upstream_response");
  if (node["upstream_keepalive"]) t.upstream_keepalive = durationValue(node["upstream_keepalive"], "timeouts.upstream_keepalive");
  if (node["shutdown"]) t.shutdown = durationValue(node["shutdown"], "timeouts.shutdown");
  if (node["tunnel_idle"]) t.tunnel_idle = durationValue(node["tunnel_idle"], "timeouts.tunnel_idle");
}

void readLimits(const YAML::Node& node, Limits& l) {
  expectMap(node, "limits");
  checkKeys(node, "limits", {"max_connections", "max_header_bytes", "max_body_bytes", "per_client"});
  if (node["max_connections"]) l.max_connections = unsignedValue(node["max_connections"], "limits.max_connections", 1, 10'000'000);
  if (node["max_header_bytes"]) {
    l.max_header_bytes = sizeValue(node["max_header_bytes"], "limits.max_header_bytes");
    if (l.max_header_bytes < 256 || l.max_header_bytes > (1u << 20)) fail(node["max_header_bytes"], "limits.max_header_bytes must be between 256B and 1MiB");
  }
  if (node["max_body_bytes"]) l.max_body_bytes = sizeValue(node["max_body_bytes"], "limits.max_body_bytes");
  if (const YAML::Node pc = node["per_client"]) {
    expectMap(pc, "limits.per_client");
    checkKeys(pc, "limits.per_client", {"connections", "requests_per_second", "burst"});
    PerClientLimits& p = l.per_client;
    if (pc["connections"]) p.connections = static_cast<uint32_t>(unsignedValue(pc["connections"], "limits.per_client.connections", 1, 1'000'000));
    if (pc["requests_per_second"])
      p.requests_per_second = static_cast<uint32_t>(unsignedValue(pc["requests_per_second"], "limits.per_client.requests_per_second", 1, 1'000'000));
    if (pc["burst"]) {
      if (!pc["requests_per_second"]) fail(pc["burst"], "limits.per_client.burst needs requests_per_second");
      p.burst = static_cast<uint32_t>(unsignedValue(pc["burst"], "limits.per_client.burst", 1, 10'000'000));
    }
    if (p.burst == 0) p.burst = p.requests_per_second;
  }
}

// request_id: X-Request-Id. A header tether owns for the request: not one it frames the message
// with or writes itself.
void readRequestId(const YAML::Node& node, std::string& out) {
  out = scalar(node, "request_id");
  if (out.empty() || out.size() > 64) fail(node, "request_id must be a header name (1-64 characters), like X-Request-Id");
  for (char c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      fail(node, "request_id '" + out + "' is not a header name (letters, digits, '-' and '_')");
  static constexpr std::string_view kReserved[] = {"host", "content-length", "transfer-encoding", "connection", "upgrade",
                                                   "keep-alive", "te", "trailer", "proxy-connection", "x-forwarded-for",
                                                   "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "cookie", "set-cookie"};
  std::string lower = out;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::string_view r : kReserved)
    if (lower == r) fail(node, "request_id cannot be " + out + ": tether writes that header itself");
}

// admin: {address: 127.0.0.1:9901, token: secret}
// The token's first line, from a file (relative to the config file's folder).
std::string tokenFromFile(const YAML::Node& node, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(node, "admin.token_file '" + path + "' cannot be read");
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) token.pop_back();
  if (token.empty()) fail(node, "admin.token_file '" + path + "' is empty");
  return token;
}

bool loopback(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in&>(ss).sin_addr.s_addr) >> 24) == 127;
  if (ss.ss_family == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr);
  return false;
}

// admin: {address, token | token_file, read_token, allow_unauthenticated}; without a token in the
// file, $TETHER_ADMIN_TOKEN. An address other hosts can reach needs a token unless the operator
// says otherwise in so many words.
void readAdmin(const YAML::Node& node, AdminConfig& a, const std::string& source) {
  expectMap(node, "admin");
  checkKeys(node, "admin", {"address", "token", "token_file", "read_token", "allow_unauthenticated"});
  if (!node["address"]) fail(node, "admin needs an 'address'");
  a.address = scalar(node["address"], "admin.address");
  a.sockaddr = addressValue(node["address"], "admin.address");
  if (node["token"] && node["token_file"]) fail(node["token_file"], "admin: give token or token_file, not both");
  if (node["token"]) a.token = scalar(node["token"], "admin.token");
  if (node["token_file"]) a.token = tokenFromFile(node["token_file"], resolvePath(scalar(node["token_file"], "admin.token_file"), source));
  if (a.token.empty())
    if (const char* env = std::getenv("TETHER_ADMIN_TOKEN"); env && *env) a.token = env;
  if (node["read_token"]) {
    a.read_token = scalar(node["read_token"], "admin.read_token");
    if (a.token.empty()) fail(node["read_token"], "admin.read_token needs admin.token (or token_file, $TETHER_ADMIN_TOKEN) for the write endpoints");
    if (a.read_token == a.token) fail(node["read_token"], "admin.read_token must differ from admin.token");
  }
  if (node["allow_unauthenticated"]) a.allow_unauthenticated = boolValue(node["allow_unauthenticated"], "admin.allow_unauthenticated");
  if (a.token.empty() && !loopback(a.sockaddr) && !a.allow_unauthenticated)
    fail(node["address"], "admin.address " + a.address + " is reachable from other hosts and has no token: anyone could drain "
                          "or reload the fleet. Set admin.token, admin.token_file or $TETHER_ADMIN_TOKEN, bind a loopback "
                          "address (127.0.0.1:PORT), or accept the risk with allow_unauthenticated: true");
  a.enabled = true;
}

// access_log: {path: /var/log/tether/access.log, format: json|combined}
void readAccessLog(const YAML::Node& node, AccessLogConfig& l) {
  expectMap(node, "access_log");
  checkKeys(node, "access_log", {"path", "format"});
  if (!node["path"]) fail(node, "access_log needs a 'path'");
  l.path = scalar(node["path"], "access_log.path");
  if (node["format"]) {
    std::string f = scalar(node["format"], "access_log.format");
    if (f == "json") l.format = AccessLogConfig::Format::Json;
    else if (f == "combined") l.format = AccessLogConfig::Format::Combined;
    else fail(node["format"], "access_log.format must be json or combined, got '" + f + "'");
  }
  l.enabled = true;
}

void readRoot(const YAML::Node& root, Config& c) {
  if (!root.IsMap()) fail(root, "the configuration must be a mapping");
  checkKeys(root, "the top level", {"workers", "listeners", "upstreams", "routes", "timeouts", "limits", "admin", "access_log",
                                    "resolver", "request_id"});
  if (root["workers"]) {
    if (root["workers"].IsScalar() && root["workers"].Scalar() == "auto") {
      c.workers = std::max(1u, std::thread::hardware_concurrency());
    } else {
      c.workers = static_cast<unsigned>(unsignedValue(root["workers"], "workers", 1, 256));
    }
  }
  const YAML::Node listeners = root["listeners"];
  if (!listeners || !listeners.IsSequence() || listeners.size() == 0) fail(listeners ? listeners : root, "'listeners' must be a non-empty list");
  for (size_t i = 0; i < listeners.size(); ++i) {
    ListenerConfig l;
    readListener(listeners[i], l, i, c.source);
    c.listeners.push_back(std::move(l));
  }
  const YAML::Node upstreams = root["upstreams"];
  if (!upstreams || !upstreams.IsMap() || upstreams.size() == 0) fail(upstreams ? upstreams : root, "'upstreams' must be a non-empty mapping of name -> upstream");
  for (auto it = upstreams.begin(); it != upstreams.end(); ++it) {
    UpstreamConfig u;
    readUpstream(it->first.Scalar(), it->second, u, c.source);
    c.upstreams.push_back(std::move(u));
  }
  if (root["request_id"]) readRequestId(root["request_id"], c.request_id);
  if (root["routes"]) {
    const YAML::Node routes = root["routes"];
    if (!routes.IsSequence()) fail(routes, "'routes' must be a list");
    for (const auto& rn : routes) {
      RouteConfig r;
      readRoute(rn, r, !c.request_id.empty(), c.source);
      bool found = r.action != RouteConfig::Action::Proxy;
      for (size_t i = 0; i < c.upstreams.size() && !found; ++i)
        if (c.upstreams[i].name == r.upstream) {
          r.upstream_index = i;
          found = true;
        }
      if (!found) fail(rn["upstream"], "route names unknown upstream '" + r.upstream + "'");
      c.routes.push_back(std::move(r));
    }
  } else if (c.upstreams.size() > 1) {
    fail(root, "'routes' is required when there is more than one upstream");
  }
  if (root["timeouts"]) readTimeouts(root["timeouts"], c.timeouts);
  if (root["limits"]) readLimits(root["limits"], c.limits);
  if (root["admin"]) {
    readAdmin(root["admin"], c.admin, c.source);
    for (const auto& l : c.listeners)  // the admin API is never served on a public listener
      if (common::formatSockAddr(reinterpret_cast<const sockaddr*>(&l.sockaddr)) ==
          common::formatSockAddr(reinterpret_cast<const sockaddr*>(&c.admin.sockaddr)))
        fail(root["admin"]["address"], "admin.address must differ from every listener address (" + l.name + ")");
  }
  if (root["access_log"]) readAccessLog(root["access_log"], c.access_log);
  if (root["resolver"]) readResolver(root["resolver"], c.resolver);
}

std::string formatError(const std::string& source, const YAML::Mark& mark, const std::string& msg) {
  return positionOf(mark, source) + ": " + msg;
}

}  // namespace

LoadResult loadConfigText(std::string_view yaml, const std::string& source_name, Config& out) {
  Config c;
  c.source = source_name;
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    readRoot(root, c);
  } catch (const LoadError& e) {
    return {false, formatError(source_name, e.mark, e.message)};
  } catch (const YAML::Exception& e) {
    return {false, formatError(source_name, e.mark, e.msg)};
  }
  out = std::move(c);
  return {true, {}};
}

LoadResult loadConfigFile(const std::string& path, Config& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {false, path + ": cannot open file"};
  std::ostringstream ss;
  ss << in.rdbuf();
  return loadConfigText(ss.str(), path, out);
}

}  // namespace proxy::config
