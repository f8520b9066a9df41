// The strategy table: one line per strategy file in this folder.
#include "proxy/lb/registry.h"

namespace proxy::lb {

SelectorPtr buildRoundRobin(std::span<const ServerSpec>, const config::UpstreamConfig&);
SelectorPtr buildLeastConn(std::span<const ServerSpec>, const config::UpstreamConfig&);
SelectorPtr buildIpHash(std::span<const ServerSpec>, const config::UpstreamConfig&);
SelectorPtr buildConsistentHash(std::span<const ServerSpec>, const config::UpstreamConfig&);

namespace {
constexpr Strategy kStrategies[] = {
    {"round_robin", &buildRoundRobin, KeyUse::None, false},
    {"least_conn", &buildLeastConn, KeyUse::None, false},
    {"ip_hash", &buildIpHash, KeyUse::Address, false},
    {"consistent_hash", &buildConsistentHash, KeyUse::HashKey, true},
};
}  // namespace

const Strategy* findStrategy(std::string_view name) {
  for (const Strategy& s : kStrategies)
    if (s.name == name) return &s;
  return nullptr;
}

std::string strategyNames(bool (*filter)(const Strategy&)) {
  std::string out;
  for (const Strategy& s : kStrategies) {
    if (filter && !filter(s)) continue;
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

}  // namespace proxy::lb
