// Upstream and resolver sections: see upstream_section.h.
#include "proxy/config/upstream_section.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>

#include "common/uv_util.h"
#include "proxy/config/yaml_values.h"
#include "proxy/lb/registry.h"

namespace proxy::config {

using namespace yaml;

namespace {

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
    if (proto.address.rfind("localhost:", 0) == 0) s.hostname = "localhost";  // parsed as 127.0.0.1, written as a name
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
    s.hostname = t.host;
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
                                       lb::strategyNames([](const lb::Strategy& st) { return st.bounded_loads; }));
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

// `tls:` of an upstream: `true`, or a mapping. Relative paths are taken from the configuration
// file's folder; whether the files hold usable PEM is checked when the context is built.
void readUpstreamTls(const YAML::Node& node, UpstreamTlsConfig& t, const std::string& source) {
  t.at = positionOf(node.Mark(), source);
  if (node.IsScalar()) {
    t.enabled = boolValue(node, "tls (true, or a mapping)");
    return;
  }
  expectMap(node, "tls");
  checkKeys(node, "upstream tls", {"ca", "verify", "sni", "cert", "key"});
  t.enabled = true;
  if (node["ca"]) t.ca = pemFile(node["ca"], "tls.ca", source, t.ca_at);
  if (node["verify"]) t.verify = boolValue(node["verify"], "tls.verify");
  if (node["sni"]) {
    t.sni = scalar(node["sni"], "tls.sni");
    if (t.sni.empty() || t.sni.find_first_of(" \t\r\n/:") != std::string::npos) fail(node["sni"], "tls.sni must be a host name");
  }
  if (node["cert"].IsDefined() != node["key"].IsDefined())
    fail(node["cert"] ? node["cert"] : node["key"], "tls.cert and tls.key go together (a client certificate and its key)");
  if (node["cert"]) {
    t.cert = pemFile(node["cert"], "tls.cert", source, t.cert_at);
    t.key = pemFile(node["key"], "tls.key", source, t.key_at);
  }
}

}  // namespace

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

void readUpstream(const std::string& name, const YAML::Node& node, UpstreamConfig& u, const std::string& source) {
  expectMap(node, "an upstream");
  checkKeys(node, "upstream '" + name + "'", {"strategy", "keepalive", "retries", "servers", "hash_key", "balance_factor",
                                             "ip_hash", "cookie", "affinity", "sid_ttl", "sid_token", "sid_secret", "health_check", "max_fails",
                                             "fail_timeout", "slow_start", "tls"});
  u.name = name;
  readAffinityKeys(node, u);
  if (node["keepalive"]) u.keepalive = static_cast<uint32_t>(unsignedValue(node["keepalive"], "keepalive", 0, 100000));
  if (node["retries"]) u.retries = static_cast<uint32_t>(unsignedValue(node["retries"], "retries", 0, 100));
  // Active checks and passive detection.
  if (node["health_check"]) readHealthCheck(node["health_check"], u.health_check);
  if (node["max_fails"]) u.max_fails = static_cast<uint32_t>(unsignedValue(node["max_fails"], "max_fails", 0, 1000));
  if (node["fail_timeout"]) u.fail_timeout = durationValue(node["fail_timeout"], "fail_timeout");
  if (node["slow_start"]) u.slow_start = durationValue(node["slow_start"], "slow_start");
  if (node["tls"]) readUpstreamTls(node["tls"], u.tls, source);
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

}  // namespace proxy::config
