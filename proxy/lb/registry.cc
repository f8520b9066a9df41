// The strategy table: one line per strategy file in this folder.
#include "proxy/lb/registry.h"

namespace proxy::lb {

SelectorPtr buildRoundRobin(std::span<const ServerSpec>, const config::UpstreamConfig&);
SelectorPtr buildLeastConn(std::span<const ServerSpec>, const config::UpstreamConfig&);
SelectorPtr buildIpHash(std::span<const ServerSpec>, const config::UpstreamConfig&);
SelectorPtr buildConsistentHash(std::span<const ServerSpec>, const config::UpstreamConfig&);

namespace {
constexpr Strategy kStrategies[] = {
    {"round_robin", &buildRoundRobin},
    {"least_conn", &buildLeastConn},
    {"ip_hash", &buildIpHash},
    {"consistent_hash", &buildConsistentHash},
};
}  // namespace

const Strategy* findStrategy(std::string_view name) {
  for (const Strategy& s : kStrategies)
    if (s.name == name) return &s;
  return nullptr;
}

std::string strategyNames() {
  std::string out;
  for (const Strategy& s : kStrategies) {
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

}  // namespace proxy::lb
