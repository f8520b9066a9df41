// The `routes:` section: what a route matches (host, path or path_prefix, methods, headers) and
// what it does (proxy to an upstream, possibly with its path rewritten; respond; redirect), with
// its header rules and its timeout and body-size overrides.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "proxy/config/config.h"

namespace proxy::config {

// `request_ids`: request_id is on (a template may use $request_id). `source` names the file in
// the route's recorded position. The upstream name is resolved by the caller.
void readRoute(const YAML::Node& node, RouteConfig& r, bool request_ids, const std::string& source);

}  // namespace proxy::config
