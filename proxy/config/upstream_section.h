// The `upstreams:` section and the `resolver:` section: servers (IP literals, host names resolved
// once, `resolve: true` templates), health checks, strategy and affinity keys, TLS to the servers.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "proxy/config/config.h"

namespace proxy::config {

// `source`: the config file, for relative paths (tls files) and error positions.
void readUpstream(const std::string& name, const YAML::Node& node, UpstreamConfig& u, const std::string& source);
void readResolver(const YAML::Node& node, ResolverConfig& r);

}  // namespace proxy::config
