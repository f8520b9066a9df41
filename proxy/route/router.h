// Requests -> routes.
//
// Routes are tried in the order they are written; the first that matches wins (like HAProxy's
// use_backend order, unlike nginx's longest-prefix location matching, because order is what an
// operator can see in one glance at the file). A route matches when all of its conditions hold:
// host pattern (exact "chat.example.com", suffix wildcard "*.example.com", which does not match
// the bare domain, or "*"; compared case-insensitively with any port removed), `path` (exact,
// the target's path without its query) or `path_prefix` (on the target as received), `methods`,
// and `headers` (each present with exactly that value; the first header of a name counts).
//
// The router keeps pointers into the Config it was built from; the Generation owning both keeps
// them alive together.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/http/message_head.h"

namespace proxy::route {

// "Example.COM:8080" -> "Example.COM"; IPv6 literals "[::1]:80" keep their brackets.
std::string_view hostWithoutPort(std::string_view host);

class Router {
 public:
  explicit Router(const config::Config& cfg);
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // The route for this request, or null when none matches.
  const config::RouteConfig* find(const http::MessageHead& head) const;
  // Upstream index for a host and target (routes with method or header conditions never match;
  // a route that responds or redirects gives -2), or -1 when none matches. For tools and tests.
  int match(std::string_view host, std::string_view target) const;

  // Routes that can never match because an earlier one takes every request they would
  // (`tether -t` warns): pairs of (shadowed, shadowing) positions in the route list.
  std::vector<std::pair<size_t, size_t>> shadowed() const;

 private:
  const config::RouteConfig* first(std::string_view host, std::string_view target, const http::MessageHead* head) const;

  config::RouteConfig catch_all_;                 // no routes and one upstream: everything goes there
  std::vector<const config::RouteConfig*> routes_;
};

}  // namespace proxy::route
