// Host/path -> upstream index.
//
// Routes are tried in the order they are written; the first whose host pattern and path prefix
// both match wins (like HAProxy's use_backend order, unlike nginx's longest-prefix location
// matching, because order is what an operator can see in one glance at the file). Host patterns:
// exact ("chat.example.com"), suffix wildcard ("*.example.com", which does not match the bare
// domain) or "*". The Host header is compared case-insensitively with any port removed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/config.h"

namespace proxy::route {

class Router {
 public:
  explicit Router(const config::Config& cfg);
  // Upstream index for this request, or -1 when no route matches.
  int match(std::string_view host, std::string_view path) const;

 private:
  struct Route {
    std::string host;     // lower-case; "*" or "*.suffix" or exact
    std::string prefix;
    int upstream;
  };
  std::vector<Route> routes_;
};

}  // namespace proxy::route
