// Helpers shared by the strategy tests: server sets, selectors, key samples.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/hash.h"
#include "proxy/config/config.h"
#include "proxy/http/message_head.h"
#include "proxy/lb/registry.h"
#include "proxy/lb/strategy.h"

namespace lbtest {

using namespace proxy;

struct Fleet {
  std::vector<std::string> names;
  std::vector<uint32_t> weights;
  std::vector<lb::ServerSpec> specs() const {
    std::vector<lb::ServerSpec> out;
    for (size_t i = 0; i < names.size(); ++i) out.push_back({names[i], weights.empty() ? 1 : weights[i], false});
    return out;
  }
};

inline Fleet fleet(size_t n, size_t first = 0) {
  Fleet f;
  for (size_t i = first; i < first + n; ++i) f.names.push_back("srv-" + std::to_string(i));
  return f;
}

inline lb::SelectorPtr build(const std::string& strategy, const Fleet& f, double factor = 0) {
  config::UpstreamConfig cfg;
  cfg.name = "app";
  cfg.strategy = strategy;
  cfg.balance_factor = factor;
  auto specs = f.specs();
  return lb::findStrategy(strategy)->build(specs, cfg);
}

inline uint64_t key(size_t i) { return common::hash64(std::to_string(i), 42); }

// Server name per key for `count` keys.
inline std::vector<std::string> placeAll(const lb::Selector& sel, const Fleet& f, size_t count) {
  std::vector<std::string> out(count);
  lb::PickState st;
  for (size_t i = 0; i < count; ++i) {
    lb::PickContext ctx;
    ctx.key = key(i);
    ctx.has_key = true;
    out[i] = f.names[static_cast<size_t>(sel.pick(ctx, st))];
  }
  return out;
}

inline double maxOverMean(const std::vector<std::string>& placed, size_t servers) {
  std::map<std::string, size_t> load;
  for (const auto& s : placed) ++load[s];
  size_t worst = 0;
  for (auto& [name, n] : load) worst = std::max(worst, n);
  return static_cast<double>(worst) * static_cast<double>(servers) / static_cast<double>(placed.size());
}

inline http::MessageHead head(std::string_view url, std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::MessageHead h;
  h.appendUrl(url);
  for (auto& [n, v] : headers) {
    h.appendName(n);
    h.endName();
    h.appendValue(v);
    h.endValue();
  }
  return h;
}

}  // namespace lbtest
