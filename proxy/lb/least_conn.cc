// least_conn: the server with the fewest live upstream connections relative to its weight.
//
// "Live" is UpstreamRuntime's per-worker active count (PickContext::active): connections attached
// to an exchange or a WebSocket tunnel, so a long-lived Socket.IO connection keeps counting for as
// long as it lives. Comparison is active[a] × weight[b] < active[b] × weight[a] (no division).
// Ties are broken by rotating the starting point with the worker's cursor, so an idle fleet is
// filled round-robin instead of always starting at server 0. Backups only when every primary is
// excluded. O(servers) per pick.
#include <vector>

#include "proxy/lb/strategy.h"

namespace proxy::lb {
namespace {

class LeastConn final : public Selector {
 public:
  explicit LeastConn(std::span<const ServerSpec> servers) {
    for (uint32_t i = 0; i < servers.size(); ++i) {
      weights_.push_back(servers[i].weight);
      (servers[i].backup ? backup_ : primary_).push_back(i);
    }
  }

  int pick(const PickContext& ctx, PickState& state) const override {
    int i = best(primary_, ctx, state);
    return i >= 0 ? i : best(backup_, ctx, state);
  }

 private:
  int best(const std::vector<uint32_t>& members, const PickContext& ctx, PickState& state) const {
    size_t n = members.size();
    if (n == 0) return -1;
    size_t start = state.cursor % n;
    int winner = -1;
    uint64_t wa = 0, ww = 1;  // winner's active count and weight
    for (size_t k = 0; k < n; ++k) {
      uint32_t s = members[(start + k) % n];
      if (isExcluded(ctx, s)) continue;
      uint64_t a = s < ctx.active.size() ? ctx.active[s] : 0;
      if (winner < 0 || a * ww < wa * weights_[s]) {
        winner = static_cast<int>(s);
        wa = a;
        ww = weights_[s];
      }
    }
    ++state.cursor;
    return winner;
  }

  std::vector<uint32_t> weights_;
  std::vector<uint32_t> primary_;
  std::vector<uint32_t> backup_;
};

}  // namespace

SelectorPtr buildLeastConn(std::span<const ServerSpec> servers, const config::UpstreamConfig&) {
  return std::make_shared<LeastConn>(servers);
}

}  // namespace proxy::lb
