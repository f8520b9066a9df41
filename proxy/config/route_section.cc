// The routes section: see route_section.h.
#include "proxy/config/route_section.h"

#include <cctype>

#include "proxy/config/yaml_values.h"

namespace proxy::config {

using namespace yaml;

namespace {

bool tokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

Template templateValue(const YAML::Node& node, std::string_view what, bool request_ids) {
  Template t;
  std::string error;
  if (!parseTemplate(scalar(node, what), t, error)) fail(node, std::string(what) + ": " + error);
  if (t.uses(Var::RequestId) && !request_ids) fail(node, std::string(what) + " uses $request_id, but request_id is off (set request_id: X-Request-Id)");
  return t;
}

uint16_t statusValue(const YAML::Node& node, std::string_view what, uint64_t lo, uint64_t hi) {
  return static_cast<uint16_t>(unsignedValue(node, what, lo, hi));
}

void readMatch(const YAML::Node& node, RouteConfig& r) {
  if (node["host"]) r.host = scalar(node["host"], "host");
  for (char& c : r.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (r.host != "*" && r.host.find('*') != std::string::npos && r.host.rfind("*.", 0) != 0)
    fail(node["host"], "host must be exact, '*.domain' or '*'");
  if (node["path"] && node["path_prefix"]) fail(node["path"], "a route has either path (exact) or path_prefix, not both");
  if (node["path_prefix"]) {
    r.path_prefix = scalar(node["path_prefix"], "path_prefix");
    if (r.path_prefix.empty() || r.path_prefix[0] != '/') fail(node["path_prefix"], "path_prefix must start with '/'");
  }
  if (node["path"]) {
    r.path = scalar(node["path"], "path");
    if (r.path.empty() || r.path[0] != '/' || r.path.find('?') != std::string::npos)
      fail(node["path"], "path must start with '/' and carry no query");
  }
  if (const YAML::Node m = node["methods"]) {
    if (!m.IsSequence() || m.size() == 0) fail(m, "methods must be a non-empty list like [GET, POST]");
    for (const auto& e : m) {
      std::string v = scalar(e, "method");
      for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (v.empty()) fail(e, "a method cannot be empty");
      for (char c : v)
        if (!std::isalpha(static_cast<unsigned char>(c)) && c != '-') fail(e, "method '" + v + "' is not a method name");
      r.methods.push_back(v);
    }
  }
  if (const YAML::Node h = node["headers"]) {
    if (!h.IsMap() || h.size() == 0) fail(h, "headers must be a mapping like {X-Canary: \"1\"}");
    for (auto it = h.begin(); it != h.end(); ++it) {
      std::string name = scalar(it->first, "header name");
      if (name.empty()) fail(it->first, "a header name cannot be empty");
      for (char& c : name) {
        if (!tokenChar(c)) fail(it->first, "'" + name + "' is not a header name");
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      r.headers.push_back({name, scalar(it->second, "header value")});
    }
  }
}

void readRespond(const YAML::Node& node, RouteConfig& r, bool request_ids) {
  expectMap(node, "respond");
  checkKeys(node, "respond", {"status", "body", "content_type"});
  r.action = RouteConfig::Action::Respond;
  r.status = node["status"] ? statusValue(node["status"], "respond.status", 200, 599) : 200;
  if (r.status >= 300 && r.status < 400) fail(node["status"], "respond.status 3xx: use redirect, which sends Location");
  if (node["body"]) r.body = templateValue(node["body"], "respond.body", request_ids);
  if (node["content_type"]) {
    r.content_type = scalar(node["content_type"], "respond.content_type");
    for (char c : r.content_type)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) fail(node["content_type"], "respond.content_type has a control character");
  }
}

void readRedirect(const YAML::Node& node, RouteConfig& r, bool request_ids) {
  expectMap(node, "redirect");
  checkKeys(node, "redirect", {"to", "status"});
  r.action = RouteConfig::Action::Redirect;
  if (!node["to"]) fail(node, "redirect needs 'to' (e.g. \"https://$host$request_uri\")");
  r.location = templateValue(node["to"], "redirect.to", request_ids);
  for (const auto& p : r.location.parts)
    for (char c : p.text)
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) fail(node["to"], "redirect.to has a space or control character");
  r.status = node["status"] ? statusValue(node["status"], "redirect.status", 301, 308) : 302;
  if (r.status != 301 && r.status != 302 && r.status != 303 && r.status != 307 && r.status != 308)
    fail(node["status"], "redirect.status must be 301, 302, 303, 307 or 308");
}

// request_headers / response_headers: {set: {N: V}, add: {N: V}, remove: [N]}.
void readHeaderRules(const YAML::Node& node, std::string_view what, HeaderRules& rules, bool request_ids) {
  expectMap(node, what);
  checkKeys(node, what, {"set", "add", "remove"});
  auto checkedName = [&](const YAML::Node& n) {
    std::string name = scalar(n, "header name");
    if (name.empty()) fail(n, std::string(what) + ": a header name cannot be empty");
    std::string lower;
    for (char c : name) {
      if (!tokenChar(c)) fail(n, std::string(what) + ": '" + name + "' is not a header name");
      lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    // tether frames the message and owns the connection: these are not a rule's to change.
    for (std::string_view framing : {"content-length", "transfer-encoding", "connection", "upgrade", "keep-alive", "te",
                                     "trailer", "proxy-connection"})
      if (lower == framing) fail(n, std::string(what) + ": " + name + " frames the message; tether sets it");
    return std::make_pair(name, lower);
  };
  auto readLines = [&](const YAML::Node& map, std::string_view key, bool replace) {
    if (!map.IsMap() || map.size() == 0) fail(map, std::string(what) + "." + std::string(key) + " must be a mapping like {X-Env: prod}");
    for (auto it = map.begin(); it != map.end(); ++it) {
      auto [name, lower] = checkedName(it->first);
      Template value = templateValue(it->second, std::string(what) + "." + std::string(key) + "." + name, request_ids);
      for (const auto& p : value.parts)
        for (char c : p.text)
          if (c == '\r' || c == '\n' || c == '\0') fail(it->second, std::string(what) + ": the value of " + name + " has a line break or NUL");
      if (replace) rules.remove.push_back(lower);
      rules.add.push_back({name, std::move(value)});
    }
  };
  if (node["remove"]) {
    const YAML::Node r = node["remove"];
    if (!r.IsSequence() || r.size() == 0) fail(r, std::string(what) + ".remove must be a list of header names");
    for (const auto& e : r) rules.remove.push_back(checkedName(e).second);
  }
  if (node["set"]) readLines(node["set"], "set", true);
  if (node["add"]) readLines(node["add"], "add", false);
}

void readOverrides(const YAML::Node& node, RouteConfig& r) {
  if (const YAML::Node t = node["timeouts"]) {
    expectMap(t, "route timeouts");
    checkKeys(t, "route timeouts", {"upstream_response", "tunnel_idle"});
    if (t["upstream_response"]) r.upstream_response = durationValue(t["upstream_response"], "timeouts.upstream_response");
    if (t["tunnel_idle"]) r.tunnel_idle = durationValue(t["tunnel_idle"], "timeouts.tunnel_idle");
    if (r.upstream_response.count() == 0 && t["upstream_response"]) fail(t["upstream_response"], "timeouts.upstream_response must be above 0");
    if (r.tunnel_idle.count() == 0 && t["tunnel_idle"]) fail(t["tunnel_idle"], "timeouts.tunnel_idle must be above 0");
  }
  if (const YAML::Node l = node["limits"]) {
    expectMap(l, "route limits");
    checkKeys(l, "route limits", {"max_body_bytes"});
    if (l["max_body_bytes"]) {
      r.max_body_bytes = sizeValue(l["max_body_bytes"], "limits.max_body_bytes");
      if (r.max_body_bytes == 0) fail(l["max_body_bytes"], "limits.max_body_bytes must be above 0");
    }
  }
}

}  // namespace

void readRoute(const YAML::Node& node, RouteConfig& r, bool request_ids, const std::string& source) {
  expectMap(node, "a route");
  checkKeys(node, "route", {"host", "path_prefix", "path", "methods", "headers", "upstream", "strip_prefix",
                            "rewrite_prefix", "respond", "redirect", "request_headers", "response_headers", "timeouts",
                            "limits"});
  r.at = positionOf(node.Mark(), source);
  readMatch(node, r);
  int actions = (node["upstream"] ? 1 : 0) + (node["respond"] ? 1 : 0) + (node["redirect"] ? 1 : 0);
  if (actions != 1) fail(node, "a route needs exactly one of 'upstream', 'respond' or 'redirect'");
  if (node["respond"]) readRespond(node["respond"], r, request_ids);
  if (node["redirect"]) readRedirect(node["redirect"], r, request_ids);
  if (node["upstream"]) r.upstream = scalar(node["upstream"], "upstream");
  if (node["request_headers"]) {
    if (!node["upstream"]) fail(node["request_headers"], "request_headers apply to routes with an upstream");
    readHeaderRules(node["request_headers"], "request_headers", r.request_headers, request_ids);
  }
  if (node["response_headers"]) readHeaderRules(node["response_headers"], "response_headers", r.response_headers, request_ids);
  if ((node["timeouts"] || node["limits"]) && !node["upstream"])
    fail(node["timeouts"] ? node["timeouts"] : node["limits"], "timeouts and limits apply to routes with an upstream");
  readOverrides(node, r);
  if (node["strip_prefix"] || node["rewrite_prefix"]) {
    const YAML::Node at = node["strip_prefix"] ? node["strip_prefix"] : node["rewrite_prefix"];
    if (!node["upstream"]) fail(at, "strip_prefix and rewrite_prefix apply to routes with an upstream");
    if (!node["path_prefix"]) fail(at, "strip_prefix and rewrite_prefix need a path_prefix to replace");
    if (node["strip_prefix"] && node["rewrite_prefix"]) fail(at, "use strip_prefix or rewrite_prefix, not both");
    if (node["strip_prefix"]) {
      r.rewrite_path = boolValue(node["strip_prefix"], "strip_prefix");
    } else {
      r.rewrite_path = true;
      r.rewrite_prefix = scalar(node["rewrite_prefix"], "rewrite_prefix");
      if (r.rewrite_prefix.empty() || r.rewrite_prefix[0] != '/') fail(node["rewrite_prefix"], "rewrite_prefix must start with '/'");
      for (char c : r.rewrite_prefix)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '?' || c == '#')
          fail(node["rewrite_prefix"], "rewrite_prefix may not contain spaces, control characters, '?' or '#'");
    }
  }
}

}  // namespace proxy::config
