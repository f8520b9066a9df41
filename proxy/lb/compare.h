// Affinity change preview (`tether -t -c new.yaml --compare-with old.yaml`): for every upstream
// whose placement depends on a key (ip_hash, consistent_hash) or a cookie, the share of keys
// that would land on a different server if `after` replaced `before`, and the load spread
// (max/mean keys per server) before and after. Pure: builds the selectors both configs would
// build and looks up the same key sample in each.
//
// Keys are a synthetic sample (`sample` clients, each with an IPv4 address and an opaque id) or
// the lines of a file (addresses for remote_addr keys, raw values otherwise). Cookie upstreams
// model clients pinned by a weighted spread; a client moves only when its server's name leaves
// the upstream (the cookie id is derived from the upstream and server names, see cookie.h).
#pragma once

#include <string>
#include <vector>

#include "proxy/config/config.h"

namespace proxy::lb {

struct UpstreamDiff {
  std::string name;
  std::string kind;            // "consistent_hash", "ip_hash", "cookie", or why it was skipped
  bool compared = false;
  size_t keys = 0;
  size_t moved = 0;
  double spread_before = 0;    // max/mean keys per (weight-normalised) server
  double spread_after = 0;
  size_t servers_before = 0, servers_after = 0;
  double movedShare() const { return keys ? static_cast<double>(moved) / static_cast<double>(keys) : 0; }
};

struct CompareOptions {
  size_t sample = 200'000;
  std::vector<std::string> keys;  // when not empty, used instead of the synthetic sample
};

std::vector<UpstreamDiff> compareConfigs(const config::Config& before, const config::Config& after,
                                         const CompareOptions& opts);
std::string formatComparison(const std::vector<UpstreamDiff>& diffs);

}  // namespace proxy::lb
