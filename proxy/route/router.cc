// Router: see router.h.
#include "proxy/route/router.h"

#include <llhttp.h>

namespace proxy::route {
namespace {

bool hostMatches(const std::string& pattern, std::string_view host) {
  if (pattern == "*") return true;
  if (pattern.size() > 1 && pattern[0] == '*') {  // "*.example.com": suffix ".example.com"
    std::string_view suffix = std::string_view(pattern).substr(1);
    return host.size() > suffix.size() && http::equalsIgnoreCase(host.substr(host.size() - suffix.size()), suffix);
  }
  return http::equalsIgnoreCase(host, pattern);
}

bool pathMatches(const config::RouteConfig& r, std::string_view target) {
  if (!r.path.empty()) return target.substr(0, target.find('?')) == r.path;
  return target.substr(0, r.path_prefix.size()) == r.path_prefix;
}

bool requestMatches(const config::RouteConfig& r, const http::MessageHead* head) {
  if (r.methods.empty() && r.headers.empty()) return true;
  if (!head) return false;
  if (!r.methods.empty()) {
    std::string_view method = llhttp_method_name(static_cast<llhttp_method_t>(head->method));
    bool any = false;
    for (const auto& m : r.methods) any = any || m == method;
    if (!any) return false;
  }
  for (const auto& h : r.headers) {
    bool found = false;
    std::string_view v = head->find(h.name, &found);
    if (!found || v != h.value) return false;
  }
  return true;
}

// Does `a` (earlier) match every request `b` would? Conservative: only when each of a's
// conditions is implied by b's.
bool covers(const config::RouteConfig& a, const config::RouteConfig& b) {
  bool host = a.host == "*" || a.host == b.host ||
              (a.host.size() > 1 && a.host[0] == '*' && b.host != "*" && b.host.size() > a.host.size() - 1 &&
               b.host.compare(b.host.size() - (a.host.size() - 1), a.host.size() - 1, a.host, 1) == 0);
  if (!host) return false;
  bool path;
  if (!a.path.empty()) path = a.path == b.path;
  else if (!b.path.empty()) path = b.path.compare(0, a.path_prefix.size(), a.path_prefix) == 0;
  else path = b.path_prefix.compare(0, a.path_prefix.size(), a.path_prefix) == 0;
  if (!path) return false;
  if (!a.methods.empty()) {
    if (b.methods.empty()) return false;
    for (const auto& m : b.methods) {
      bool in = false;
      for (const auto& n : a.methods) in = in || n == m;
      if (!in) return false;
    }
  }
  for (const auto& h : a.headers) {
    bool in = false;
    for (const auto& g : b.headers) in = in || (g.name == h.name && g.value == h.value);
    if (!in) return false;
  }
  return true;
}

}  // namespace

std::string_view hostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

Router::Router(const config::Config& cfg) {
  if (cfg.routes.empty() && cfg.upstreams.size() == 1) {
    routes_.push_back(&catch_all_);
    return;
  }
  for (const auto& r : cfg.routes) routes_.push_back(&r);
}

const config::RouteConfig* Router::first(std::string_view host, std::string_view target, const http::MessageHead* head) const {
  bool stripped = false;  // the port is taken off only when a route looks at the host
  for (const config::RouteConfig* r : routes_) {
    if (!pathMatches(*r, target)) continue;
    if (r->host.size() != 1 || r->host[0] != '*') {
      if (!stripped) host = hostWithoutPort(host);
      stripped = true;
      if (!hostMatches(r->host, host)) continue;
    }
    if (requestMatches(*r, head)) return r;
  }
  return nullptr;
}

const config::RouteConfig* Router::find(const http::MessageHead& head) const { return first(head.host(), head.url(), &head); }

int Router::match(std::string_view host, std::string_view target) const {
  const config::RouteConfig* r = first(host, target, nullptr);
  if (!r) return -1;
  return r->action == config::RouteConfig::Action::Proxy ? static_cast<int>(r->upstream_index) : -2;
}

std::vector<std::pair<size_t, size_t>> Router::shadowed() const {
  std::vector<std::pair<size_t, size_t>> out;
  for (size_t i = 0; i < routes_.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (covers(*routes_[j], *routes_[i])) {
        out.emplace_back(i, j);
        break;
      }
  return out;
}

}  // namespace proxy::route
