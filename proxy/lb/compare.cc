// Affinity change preview: see compare.h.
#include "proxy/lb/compare.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <map>

#include "common/hash.h"
#include "proxy/lb/key_extractor.h"
#include "proxy/lb/registry.h"

namespace proxy::lb {
namespace {

enum class Kind { None, Hash, Cookie };

Kind kindOf(const config::UpstreamConfig& u) {
  for (auto l : u.affinity)
    if (l == config::AffinityLayer::Cookie) return Kind::Cookie;
  const Strategy* s = findStrategy(u.strategy);
  if (s && s->key != KeyUse::None) return Kind::Hash;
  return Kind::None;
}

std::string syntheticIp(size_t i) {
  uint64_t h = common::mix64(i);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", unsigned(h & 0xff) | 1, unsigned(h >> 8 & 0xff),
                unsigned(h >> 16 & 0xff), unsigned(h >> 24 & 0xff));
  return buf;
}

// The key hash this upstream would compute for client i (or for a line of the keys file).
uint64_t keyFor(const config::UpstreamConfig& u, size_t i, const CompareOptions& o) {
  const Strategy* s = findStrategy(u.strategy);
  bool addr = (s && s->key == KeyUse::Address) || u.hash_key.empty() || u.hash_key[0].kind == config::KeySource::Kind::RemoteAddr;
  if (!o.keys.empty()) {
    const std::string& k = o.keys[i];
    return addr ? hashAddress(k, u.ipv4_prefix, u.ipv6_prefix) : hashKeyValue(k);
  }
  if (addr) return hashAddress(syntheticIp(i), u.ipv4_prefix, u.ipv6_prefix);
  return hashKeyValue("client-" + std::to_string(i));
}

struct Placement {
  std::vector<std::string> names;
  std::vector<uint32_t> weights;
  std::vector<uint32_t> server;  // per key
};

double spread(const Placement& p) {
  std::vector<double> load(p.names.size(), 0);
  for (uint32_t s : p.server) load[s] += 1;
  double total_w = 0, worst = 0;
  for (uint32_t w : p.weights) total_w += w;
  double n = static_cast<double>(p.server.size());
  for (size_t s = 0; s < load.size(); ++s) worst = std::max(worst, load[s] / (n * p.weights[s] / total_w));
  return worst;
}

Placement place(const config::UpstreamConfig& u, size_t count, const CompareOptions& o,
                const std::map<std::string, uint32_t>* keep /* cookie: previous placement by name */,
                const Placement* prev) {
  Placement p;
  std::vector<ServerSpec> specs;
  for (const auto& s : u.servers) {
    p.names.push_back(s.name);
    p.weights.push_back(s.weight);
    specs.push_back({s.name, s.weight, s.backup});
  }
  p.server.resize(count);
  if (kindOf(u) == Kind::Hash) {
    SelectorPtr sel = findStrategy(u.strategy)->build(specs, u);
    PickState st;
    for (size_t i = 0; i < count; ++i) {
      PickContext ctx;
      ctx.key = keyFor(u, i, o);
      ctx.has_key = true;
      p.server[i] = static_cast<uint32_t>(sel->pick(ctx, st));
    }
    return p;
  }
  // Cookie: a client keeps its server while that name exists; new ones spread by weighted
  // rendezvous hashing (a stand-in for the fallback strategy's spread).
  for (size_t i = 0; i < count; ++i) {
    if (keep && prev) {
      auto it = keep->find(prev->names[prev->server[i]]);
      if (it != keep->end()) {
        p.server[i] = it->second;
        continue;
      }
    }
    double best = -1;
    uint64_t k = common::mix64(i * 7919 + 1);
    for (uint32_t s = 0; s < specs.size(); ++s) {
      double r = static_cast<double>(common::mix64(k ^ common::hash64(specs[s].name)) >> 11) / 9007199254740992.0;
      double score = -static_cast<double>(specs[s].weight) / std::log(std::max(r, 1e-300));
      if (score > best) best = score, p.server[i] = s;
    }
  }
  return p;
}

}  // namespace

std::vector<UpstreamDiff> compareConfigs(const config::Config& before, const config::Config& after, const CompareOptions& o) {
  std::vector<UpstreamDiff> out;
  size_t count = o.keys.empty() ? o.sample : o.keys.size();
  for (const auto& ua : after.upstreams) {
    UpstreamDiff d;
    d.name = ua.name;
    const config::UpstreamConfig* ub = nullptr;
    for (const auto& u : before.upstreams)
      if (u.name == ua.name) ub = &u;
    Kind ka = kindOf(ua);
    if (!ub) {
      d.kind = "new upstream";
    } else if (ka == Kind::None && kindOf(*ub) == Kind::None) {
      d.kind = "no key affinity (" + ua.strategy + ")";
    } else if (ka != kindOf(*ub)) {
      d.kind = "affinity kind changed: every key may move";
    } else {
      d.kind = ka == Kind::Cookie ? "cookie" : ua.strategy;
      d.compared = true;
      d.keys = count;
      Placement pb = place(*ub, count, o, nullptr, nullptr);
      std::map<std::string, uint32_t> by_name;
      for (uint32_t s = 0; s < ua.servers.size(); ++s) by_name[ua.servers[s].name] = s;
      Placement pa = place(ua, count, o, ka == Kind::Cookie ? &by_name : nullptr, &pb);
      for (size_t i = 0; i < count; ++i)
        if (pb.names[pb.server[i]] != pa.names[pa.server[i]]) ++d.moved;
      d.spread_before = spread(pb);
      d.spread_after = spread(pa);
      d.servers_before = ub->servers.size();
      d.servers_after = ua.servers.size();
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::string formatComparison(const std::vector<UpstreamDiff>& diffs) {
  std::string out;
  char line[256];
  for (const auto& d : diffs) {
    if (!d.compared) {
      std::snprintf(line, sizeof(line), "upstream %s: skipped (%s)\n", d.name.c_str(), d.kind.c_str());
      out += line;
      continue;
    }
    std::snprintf(line, sizeof(line),
                  "upstream %s (%s): %.2f%% of %zu keys move; load max/mean %.3f (%zu servers) -> %.3f (%zu servers)\n",
                  d.name.c_str(), d.kind.c_str(), 100.0 * d.movedShare(), d.keys, d.spread_before, d.servers_before,
                  d.spread_after, d.servers_after);
    out += line;
  }
  return out;
}

}  // namespace proxy::lb
