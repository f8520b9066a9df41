// The `upstreams:` section and the `resolver:` section: servers (IP literals, host names resolved
// once, `resolve: true` templates), health checks, strategy and affinity keys.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "proxy/config/config.h"

namespace proxy::config {

void readUpstream(const std::string& name, const YAML::Node& node, UpstreamConfig& u);
void readResolver(const YAML::Node& node, ResolverConfig& r);

}  // namespace proxy::config
