// Router: see router.h.
#include "proxy/route/router.h"

#include "proxy/http/message_head.h"

namespace proxy::route {
namespace {

// "Example.COM:8080" -> compares as "example.com"; IPv6 literals "[::1]:80" keep their brackets.
std::string_view stripPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool hostMatches(const std::string& pattern, std::string_view host) {
  if (pattern == "*") return true;
  if (pattern.size() > 1 && pattern[0] == '*') {  // "*.example.com": suffix ".example.com"
    std::string_view suffix = std::string_view(pattern).substr(1);
    return host.size() > suffix.size() && http::equalsIgnoreCase(host.substr(host.size() - suffix.size()), suffix);
  }
  return http::equalsIgnoreCase(host, pattern);
}

}  // namespace

Router::Router(const config::Config& cfg) {
  if (cfg.routes.empty() && cfg.upstreams.size() == 1) {
    routes_.push_back({"*", "/", 0});
    return;
  }
  for (const auto& r : cfg.routes) routes_.push_back({r.host, r.path_prefix, static_cast<int>(r.upstream_index)});
}

int Router::match(std::string_view host, std::string_view path) const {
  host = stripPort(host);
  for (const Route& r : routes_)
    if (path.substr(0, r.prefix.size()) == r.prefix && hostMatches(r.host, host)) return r.upstream;
  return -1;
}

}  // namespace proxy::route
