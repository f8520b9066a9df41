// YAML -> Config: see config_loader.h.
//
// Each section has a small reader function that checks the node's kind, rejects unknown keys
// and converts scalars with the units from common/units.h. Errors are raised as LoadError (an
// exception local to this file: loading is start-up/reload work, never the data path) carrying the
// yaml-cpp mark of the offending node, and turned into "FILE:LINE:COL: message" at the top.
#include "proxy/config/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <thread>

#include "common/uv_util.h"
#include "proxy/config/cidr.h"
#include "proxy/lb/registry.h"

namespace proxy::config {
namespace {

struct LoadError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& node, std::string message) {
  throw LoadError{node.Mark(), std::move(message)};
}

void expectMap(const YAML::Node& node, std::string_view what) {
  if (!node.IsMap()) fail(node, std::string(what) + " must be a mapping");
}

// Rejects any key of `node` not in `allowed`.
void checkKeys(const YAML::Node& node, std::string_view where, std::initializer_list<std::string_view> allowed) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = it->first.Scalar();
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(it->first, "unknown key '" + key + "' in " + std::string(where) + " (expected one of: " + list + ")");
    }
  }
}

std::string scalar(const YAML::Node& node, std::string_view what) {
  if (!node.IsScalar()) fail(node, std::string(what) + " must be a scalar");
  return node.Scalar();
}

uint64_t unsignedValue(const YAML::Node& node, std::string_view what, uint64_t min, uint64_t max) {
  std::string s = scalar(node, what);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < min || v > max)
    fail(node, std::string(what) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                   "], got '" + s + "'");
  return v;
}

bool boolValue(const YAML::Node& node, std::string_view what) {
  std::string s = scalar(node, what);
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail(node, std::string(what) + " must be true or false, got '" + s + "'");
}

Millis durationValue(const YAML::Node& node, std::string_view what) {
  std::string s = scalar(node, what);
  auto d = common::parseDuration(s);
  if (!d) fail(node, std::string(what) + " must be a duration like 500ms, 10s, 5m or 1h, got '" + s + "'");
  return *d;
}

uint64_t sizeValue(const YAML::Node& node, std::string_view what) {
  std::string s = scalar(node, what);
  auto v = common::parseSize(s);
  if (!v) fail(node, std::string(what) + " must be a size like 16KiB or 10MiB, got '" + s + "'");
  return *v;
}

// Seconds: a plain integer, or a duration ("1h", "30m").
uint64_t durationValueOrSeconds(const YAML::Node& node, std::string_view what) {
  std::string s = scalar(node, what);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && ptr == s.data() + s.size()) return v;
  return static_cast<uint64_t>(durationValue(node, what).count() / 1000);
}

sockaddr_storage addressValue(const YAML::Node& node, std::string_view what) {
  std::string s = scalar(node, what);
  sockaddr_storage ss;
  std::string err;
  if (!common::parseSockAddr(s, ss, err)) fail(node, std::string(what) + " '" + s + "': " + err);
  return ss;
}

// "host:port" with a DNS name for host (not an IP literal). False when `text` is not that shape.
bool splitHostPort(const std::string& text, std::string& host, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || text.front() == '[') return false;
  host = text.substr(0, colon);
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), p);
  if (ec != std::errc() || ptr != text.data() + text.size() || p == 0 || p > 65535) return false;
  for (char ch : host)  // letters, digits, '-', '.', '_' (SRV-style labels)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '.' && ch != '_') return false;
  port = static_cast<uint16_t>(p);
  return true;
}

// A server address: an IP literal, or a host name resolved now (once, like nginx) into one server
// per address; with `resolve: true` the name is kept as a template for DNS discovery instead.
void readServerAddress(const YAML::Node& node, const ServerConfig& proto, bool resolve, UpstreamConfig& u) {
  sockaddr_storage ss;
  std::string err;
  if (common::parseSockAddr(proto.address, ss, err)) {
    if (resolve) fail(node, "resolve: true needs a host name, not an IP address ('" + proto.address + "')");
    ServerConfig s = proto;
    s.sockaddr = ss;
    u.servers.push_back(std::move(s));
    return;
  }
  ServerConfig t = proto;
  if (!splitHostPort(proto.address, t.host, t.port)) fail(node, "server address '" + proto.address + "': " + err);
  if (resolve) {
    u.resolve.push_back(std::move(t));
    return;
  }
  std::vector<sockaddr_storage> addrs;
  std::string why = common::resolveHost(t.host, t.port, addrs);
  if (!why.empty())
    fail(node, "server address '" + proto.address + "': " + why + " (add resolve: true to keep re-resolving it while tether runs)");
  for (const auto& a : addrs) {
    ServerConfig s = proto;
    s.sockaddr = a;
    s.address = common::formatSockAddr(reinterpret_cast<const sockaddr*>(&a));
    if (addrs.size() > 1) s.name = proto.name + "@" + s.address;  // one identity per address
    u.servers.push_back(std::move(s));
  }
}

void readServer(const YAML::Node& node, UpstreamConfig& u) {
  ServerConfig s;
  if (node.IsScalar()) {  // shorthand: "- 127.0.0.1:8001"
    s.address = node.Scalar();
    s.name = s.address;
    if (s.name == "none") fail(node, "'none' is reserved (the proxy's own answers in metrics)");
    return readServerAddress(node, s, false, u);
  }
  expectMap(node, "a server");
  checkKeys(node, "server", {"address", "name", "weight", "backup", "state", "resolve"});
  if (!node["address"]) fail(node, "server needs an 'address'");
  s.address = scalar(node["address"], "address");
  s.name = node["name"] ? scalar(node["name"], "name") : s.address;
  if (s.name == "none" || s.name.find('@') != std::string::npos)
    fail(node["name"] ? node["name"] : node["address"], "server name '" + s.name + "' is reserved ('none', or containing '@')");
  if (node["weight"]) s.weight = static_cast<uint32_t>(unsignedValue(node["weight"], "weight", 1, 256));
  if (node["backup"]) s.backup = boolValue(node["backup"], "backup");
  if (node["state"]) {
    std::string st = scalar(node["state"], "state");
    if (st == "up") s.state = ServerConfig::AdminState::Up;
    else if (st == "drain") s.state = ServerConfig::AdminState::Drain;
    else if (st == "down") s.state = ServerConfig::AdminState::Down;
    else fail(node["state"], "state must be up, drain or down, got '" + st + "'");
  }
  bool resolve = node["resolve"] && boolValue(node["resolve"], "resolve");
  readServerAddress(node["address"], s, resolve, u);
}

void readResolver(const YAML::Node& node, ResolverConfig& r) {
  expectMap(node, "resolver");
  checkKeys(node, "resolver", {"servers", "interval"});
  if (node["servers"]) {
    if (!node["servers"].IsSequence()) fail(node["servers"], "resolver.servers must be a list of IP[:port]");
    for (const auto& e : node["servers"]) {
      std::string v = scalar(e, "resolver server");
      std::string with_port = v;
      if (v.find(':') == std::string::npos || (v.front() == '[' && v.back() == ']')) with_port += ":53";
      sockaddr_storage ss;
      std::string err;
      if (!common::parseSockAddr(with_port, ss, err)) fail(e, "resolver server '" + v + "': " + err);
      r.servers.push_back(with_port);
    }
  }
  if (node["interval"]) {
    r.interval = durationValue(node["interval"], "resolver.interval");
    if (r.interval.count() < 100) fail(node["interval"], "resolver.interval must be at least 100ms");
  }
}

// `expect_status: [200-399, 404]` -> ranges.
HealthCheckConfig::StatusRange statusRange(const YAML::Node& node) {
  std::string s = scalar(node, "expect_status entry");
  auto num = [&](std::string_view t) {
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || ptr != t.data() + t.size() || v < 100 || v > 599)
      fail(node, "expect_status entries must be a status (100..599) or a range like 200-399, got '" + s + "'");
    return static_cast<uint16_t>(v);
  };
  size_t dash = s.find('-');
  if (dash == std::string::npos) {
    uint16_t v = num(s);
    return {v, v};
  }
  HealthCheckConfig::StatusRange r{num(std::string_view(s).substr(0, dash)), num(std::string_view(s).substr(dash + 1))};
  if (r.lo > r.hi) fail(node, "expect_status range '" + s + "' is empty");
  return r;
}

// The `health_check:` section of an upstream.
void readHealthCheck(const YAML::Node& node, HealthCheckConfig& h) {
  expectMap(node, "health_check");
  checkKeys(node, "health_check", {"type", "path", "host", "interval", "timeout", "rise", "fall", "expect_status", "initial"});
  h.enabled = true;
  if (node["type"]) {
    std::string t = scalar(node["type"], "health_check.type");
    if (t == "http") h.type = HealthCheckConfig::Type::Http;
    else if (t == "tcp") h.type = HealthCheckConfig::Type::Tcp;
    else fail(node["type"], "health_check.type must be http or tcp, got '" + t + "'");
  }
  if (node["path"]) {
    h.path = scalar(node["path"], "health_check.path");
    if (h.path.empty() || h.path[0] != '/' || h.path.find_first_of(" \r\n") != std::string::npos)
      fail(node["path"], "health_check.path must start with '/' and contain no spaces");
  }
  if (node["host"]) {
    h.host = scalar(node["host"], "health_check.host");
    if (h.host.find_first_of(" \r\n") != std::string::npos) fail(node["host"], "health_check.host must not contain spaces");
  }
  if (node["interval"]) h.interval = durationValue(node["interval"], "health_check.interval");
  if (node["timeout"]) h.timeout = durationValue(node["timeout"], "health_check.timeout");
  if (h.interval.count() < 10) fail(node["interval"] ? node["interval"] : node, "health_check.interval must be at least 10ms");
  if (h.timeout.count() < 1) fail(node["timeout"] ? node["timeout"] : node, "health_check.timeout must be at least 1ms");
  if (node["rise"]) h.rise = static_cast<uint32_t>(unsignedValue(node["rise"], "health_check.rise", 1, 100));
  if (node["fall"]) h.fall = static_cast<uint32_t>(unsignedValue(node["fall"], "health_check.fall", 1, 100));
  if (node["expect_status"]) {
    const YAML::Node es = node["expect_status"];
    h.expect_status.clear();
    if (es.IsScalar()) h.expect_status.push_back(statusRange(es));
    else if (es.IsSequence() && es.size() > 0)
      for (const auto& e : es) h.expect_status.push_back(statusRange(e));
    else fail(es, "health_check.expect_status must be a status, a range like 200-399, or a list of them");
  }
  if (node["initial"]) {
    std::string i = scalar(node["initial"], "health_check.initial");
    if (i == "up") h.initial_up = true;
    else if (i == "down") h.initial_up = false;
    else fail(node["initial"], "health_check.initial must be up or down, got '" + i + "'");
  }
}

// ---- affinity keys ----

KeySource keySourceValue(const YAML::Node& node) {
  std::string s = scalar(node, "hash_key");
  KeySource k;
  auto named = [&](std::string_view prefix, KeySource::Kind kind) {
    if (s.rfind(prefix, 0) != 0) return false;
    k.kind = kind;
    k.name = s.substr(prefix.size());
    if (k.name.empty()) fail(node, "hash_key '" + s + "' needs a name after '" + std::string(prefix) + "'");
    return true;
  };
  if (s == "remote_addr") k.kind = KeySource::Kind::RemoteAddr;
  else if (s == "path") k.kind = KeySource::Kind::Path;
  else if (!named("header:", KeySource::Kind::Header) && !named("cookie:", KeySource::Kind::Cookie) &&
           !named("query:", KeySource::Kind::Query))
    fail(node, "hash_key must be remote_addr, path, header:NAME, cookie:NAME or query:NAME, got '" + s + "'");
  if (k.kind == KeySource::Kind::Header)
    for (char& c : k.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

void readCookie(const YAML::Node& node, CookieConfig& c) {
  expectMap(node, "cookie");
  checkKeys(node, "cookie", {"name", "max_age", "path", "secure", "same_site", "fallback"});
  if (node["name"]) {
    c.name = scalar(node["name"], "cookie.name");
    if (c.name.empty() || c.name.find_first_of("=;, \t\"") != std::string::npos) fail(node["name"], "cookie.name is not a valid cookie name");
  }
  if (node["max_age"]) c.max_age = static_cast<uint64_t>(durationValueOrSeconds(node["max_age"], "cookie.max_age"));
  if (node["path"]) c.path = scalar(node["path"], "cookie.path");
  if (node["secure"]) {
    std::string s = scalar(node["secure"], "cookie.secure");
    if (s == "auto") c.secure = CookieConfig::Secure::Auto;
    else c.secure = boolValue(node["secure"], "cookie.secure (or auto)") ? CookieConfig::Secure::On : CookieConfig::Secure::Off;
  }
  if (node["same_site"]) {
    c.same_site = scalar(node["same_site"], "cookie.same_site");
    if (c.same_site != "Strict" && c.same_site != "Lax" && c.same_site != "None" && !c.same_site.empty())
      fail(node["same_site"], "cookie.same_site must be Strict, Lax or None");
  }
  if (node["fallback"]) {
    c.fallback = scalar(node["fallback"], "cookie.fallback");
    if (!lb::findStrategy(c.fallback)) fail(node["fallback"], "unknown fallback strategy '" + c.fallback + "' (known: " + lb::strategyNames() + ")");
  }
}

void readAffinityKeys(const YAML::Node& node, UpstreamConfig& u) {
  bool cookie_strategy = false;
  if (node["strategy"]) {
    u.strategy = scalar(node["strategy"], "strategy");
    cookie_strategy = u.strategy == "cookie";
    if (!cookie_strategy && !lb::findStrategy(u.strategy))
      fail(node["strategy"], "unknown strategy '" + u.strategy + "' (known: " + lb::strategyNames() + ", cookie)");
  }
  if (node["cookie"]) readCookie(node["cookie"], u.cookie);
  if (cookie_strategy) u.strategy = u.cookie.fallback;  // `strategy: cookie` = cookie layer + fallback
  if (node["hash_key"]) {
    const YAML::Node hk = node["hash_key"];
    if (hk.IsSequence()) {
      if (hk.size() == 0) fail(hk, "hash_key list must not be empty");
      for (const auto& e : hk) u.hash_key.push_back(keySourceValue(e));
    } else {
      u.hash_key.push_back(keySourceValue(hk));
    }
    if (lb::findStrategy(u.strategy)->key != lb::KeyUse::HashKey)
      fail(hk, "hash_key needs a strategy that hashes it: " + lb::strategyNames([](const lb::Strategy& s) { return s.key == lb::KeyUse::HashKey; }));
  }
  if (node["balance_factor"]) {
    std::string s = scalar(node["balance_factor"], "balance_factor");
    char* end = nullptr;
    double f = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !(f > 1.0 && f <= 100.0)) fail(node["balance_factor"], "balance_factor must be a number > 1 (e.g. 1.25), got '" + s + "'");
    if (!lb::findStrategy(u.strategy)->bounded_loads)
      fail(node["balance_factor"], "balance_factor needs a strategy with bounded loads: " +
                                       lb::strategyNames([](const lb::Strategy& s) { return s.bounded_loads; }));
    u.balance_factor = f;
  }
  if (node["ip_hash"]) {
    const YAML::Node ih = node["ip_hash"];
    expectMap(ih, "ip_hash");
    checkKeys(ih, "ip_hash", {"ipv4_prefix", "ipv6_prefix"});
    if (ih["ipv4_prefix"]) u.ipv4_prefix = static_cast<uint32_t>(unsignedValue(ih["ipv4_prefix"], "ip_hash.ipv4_prefix", 1, 32));
    if (ih["ipv6_prefix"]) u.ipv6_prefix = static_cast<uint32_t>(unsignedValue(ih["ipv6_prefix"], "ip_hash.ipv6_prefix", 1, 128));
  }
  if (node["affinity"]) {
    const YAML::Node af = node["affinity"];
    if (!af.IsSequence()) fail(af, "affinity must be a list of layers: [sid, cookie]");
    for (const auto& e : af) {
      std::string s = scalar(e, "affinity layer");
      AffinityLayer l;
      if (s == "sid") l = AffinityLayer::Sid;
      else if (s == "cookie") l = AffinityLayer::Cookie;
      else fail(e, "unknown affinity layer '" + s + "' (known: sid, cookie)");
      for (AffinityLayer seen : u.affinity)
        if (seen == l) fail(e, "affinity layer '" + s + "' listed twice");
      u.affinity.push_back(l);
    }
  }
  if (node["sid_ttl"]) u.sid_ttl = durationValue(node["sid_ttl"], "sid_ttl");
  if (node["sid_token"]) u.sid_token = boolValue(node["sid_token"], "sid_token");
  if (node["sid_secret"]) u.sid_secret = scalar(node["sid_secret"], "sid_secret");
  if (cookie_strategy) {  // ... and the cookie layer goes in front of it
    bool has = false;
    for (AffinityLayer l : u.affinity) has = has || l == AffinityLayer::Cookie;
    if (!has) u.affinity.push_back(AffinityLayer::Cookie);
  }
}

void readUpstream(const std::string& name, const YAML::Node& node, UpstreamConfig& u) {
  expectMap(node, "an upstream");
  checkKeys(node, "upstream '" + name + "'", {"strategy", "keepalive", "retries", "servers", "hash_key", "balance_factor",
                                             "ip_hash", "cookie", "affinity", "sid_ttl", "sid_token", "sid_secret", "health_check", "max_fails",
                                             "fail_timeout", "slow_start"});
  u.name = name;
  readAffinityKeys(node, u);
  if (node["keepalive"]) u.keepalive = static_cast<uint32_t>(unsignedValue(node["keepalive"], "keepalive", 0, 100000));
  if (node["retries"]) u.retries = static_cast<uint32_t>(unsignedValue(node["retries"], "retries", 0, 100));
  // Active checks and passive detection.
  if (node["health_check"]) readHealthCheck(node["health_check"], u.health_check);
  if (node["max_fails"]) u.max_fails = static_cast<uint32_t>(unsignedValue(node["max_fails"], "max_fails", 0, 1000));
  if (node["fail_timeout"]) u.fail_timeout = durationValue(node["fail_timeout"], "fail_timeout");
  if (node["slow_start"]) u.slow_start = durationValue(node["slow_start"], "slow_start");
  const YAML::Node servers = node["servers"];
  if (!servers || !servers.IsSequence() || servers.size() == 0) fail(servers ? servers : node, "upstream '" + name + "' needs a non-empty 'servers' list");
  std::set<std::string> names;
  for (const auto& sn : servers) {
    size_t servers_before = u.servers.size(), resolve_before = u.resolve.size();
    readServer(sn, u);
    auto unique = [&](const std::vector<ServerConfig>& list, size_t from) {
      for (size_t i = from; i < list.size(); ++i)
        if (!names.insert(list[i].name).second) fail(sn, "duplicate server '" + list[i].name + "' in upstream '" + name + "'");
    };
    unique(u.servers, servers_before);
    unique(u.resolve, resolve_before);
  }
}

// Relative certificate paths are taken from the configuration file's folder.
std::string resolvePath(const std::string& path, const std::string& source) {
  if (path.empty() || path[0] == '/') return path;
  size_t slash = source.rfind('/');
  return slash == std::string::npos ? path : source.substr(0, slash + 1) + path;
}

void readTls(const YAML::Node& node, TlsConfig& t, const std::string& source) {
  expectMap(node, "tls");
  checkKeys(node, "tls", {"cert", "key", "min_version", "sni"});
  if (!node["cert"] || !node["key"]) fail(node, "tls needs 'cert' and 'key'");
  t.cert = resolvePath(scalar(node["cert"], "tls.cert"), source);
  t.key = resolvePath(scalar(node["key"], "tls.key"), source);
  if (node["min_version"]) {
    t.min_version = scalar(node["min_version"], "tls.min_version");
    if (t.min_version != "TLSv1.2" && t.min_version != "TLSv1.3") fail(node["min_version"], "tls.min_version must be TLSv1.2 or TLSv1.3");
  }
  if (node["sni"]) {
    if (!node["sni"].IsSequence()) fail(node["sni"], "tls.sni must be a list");
    for (const auto& e : node["sni"]) {
      expectMap(e, "an sni entry");
      checkKeys(e, "tls.sni entry", {"names", "cert", "key"});
      if (!e["names"] || !e["names"].IsSequence() || !e["cert"] || !e["key"]) fail(e, "an sni entry needs 'names' (a list), 'cert' and 'key'");
      TlsSniConfig sni;
      for (const auto& n : e["names"]) {
        std::string name = scalar(n, "sni name");
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        sni.names.push_back(name);
      }
      sni.cert = resolvePath(scalar(e["cert"], "cert"), source);
      sni.key = resolvePath(scalar(e["key"], "key"), source);
      t.sni.push_back(std::move(sni));
    }
  }
}

void readListener(const YAML::Node& node, ListenerConfig& l, size_t index, const std::string& source) {
  expectMap(node, "a listener");
  checkKeys(node, "listener", {"name", "address", "tls", "trusted_proxies"});
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

void readRoute(const YAML::Node& node, RouteConfig& r) {
  expectMap(node, "a route");
  checkKeys(node, "route", {"host", "path_prefix", "upstream"});
  if (node["host"]) r.host = scalar(node["host"], "host");
  if (node["path_prefix"]) {
    r.path_prefix = scalar(node["path_prefix"], "path_prefix");
    if (r.path_prefix.empty() || r.path_prefix[0] != '/') fail(node["path_prefix"], "path_prefix must start with '/'");
  }
  if (!node["upstream"]) fail(node, "route needs an 'upstream'");
  r.upstream = scalar(node["upstream"], "upstream");
  for (char& c : r.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (r.host != "*" && r.host.find('*') != std::string::npos && r.host.rfind("*.", 0) != 0)
    fail(node["host"], "host must be exact, '*.domain' or '*'");
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
  checkKeys(node, "limits", {"max_connections", "max_header_bytes", "max_body_bytes"});
  if (node["max_connections"]) l.max_connections = unsignedValue(node["max_connections"], "limits.max_connections", 1, 10'000'000);
  if (node["max_header_bytes"]) {
    l.max_header_bytes = sizeValue(node["max_header_bytes"], "limits.max_header_bytes");
    if (l.max_header_bytes < 256 || l.max_header_bytes > (1u << 20)) fail(node["max_header_bytes"], "limits.max_header_bytes must be between 256B and 1MiB");
  }
  if (node["max_body_bytes"]) l.max_body_bytes = sizeValue(node["max_body_bytes"], "limits.max_body_bytes");
}

// admin: {address: 127.0.0.1:9901, token: secret}
void readAdmin(const YAML::Node& node, AdminConfig& a) {
  expectMap(node, "admin");
  checkKeys(node, "admin", {"address", "token"});
  if (!node["address"]) fail(node, "admin needs an 'address'");
  a.address = scalar(node["address"], "admin.address");
  a.sockaddr = addressValue(node["address"], "admin.address");
  if (node["token"]) a.token = scalar(node["token"], "admin.token");
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
                                    "resolver"});
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
    readUpstream(it->first.Scalar(), it->second, u);
    c.upstreams.push_back(std::move(u));
  }
  if (root["routes"]) {
    const YAML::Node routes = root["routes"];
    if (!routes.IsSequence()) fail(routes, "'routes' must be a list");
    for (const auto& rn : routes) {
      RouteConfig r;
      readRoute(rn, r);
      bool found = false;
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
    readAdmin(root["admin"], c.admin);
    for (const auto& l : c.listeners)  // the admin API is never served on a public listener
      if (common::formatSockAddr(reinterpret_cast<const sockaddr*>(&l.sockaddr)) ==
          common::formatSockAddr(reinterpret_cast<const sockaddr*>(&c.admin.sockaddr)))
        fail(root["admin"]["address"], "admin.address must differ from every listener address (" + l.name + ")");
  }
  if (root["access_log"]) readAccessLog(root["access_log"], c.access_log);
  if (root["resolver"]) readResolver(root["resolver"], c.resolver);
}

std::string formatError(const std::string& source, const YAML::Mark& mark, const std::string& msg) {
  std::ostringstream os;
  os << source;
  if (mark.line >= 0) os << ":" << mark.line + 1 << ":" << mark.column + 1;
  os << ": " << msg;
  return os.str();
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
