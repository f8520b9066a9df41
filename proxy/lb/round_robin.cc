// round_robin: smooth weighted round-robin, the sequence nginx produces.
//
// nginx's algorithm keeps a "current weight" per server: each pick adds every server's weight to
// its current weight, picks the largest, and subtracts the total from the winner. With weights
// {a:5, b:1, c:1} it yields a a b a c a a — spread out, never a burst of five a's. Because that
// sequence is periodic with period sum(weights), we compute one period at build time and a pick is
// then one array read at the worker's cursor: O(1), no shared mutable state, and the selector stays
// immutable (strategy.h). A pick skips excluded servers by walking on in the same sequence.
//
// Backup servers get their own sequence, used only when every primary server is excluded.
#include <vector>

#include "proxy/lb/strategy.h"

namespace proxy::lb {
namespace {

// One period of nginx's smooth weighted round-robin over `members`.
std::vector<uint32_t> smoothSequence(std::span<const ServerSpec> servers, const std::vector<uint32_t>& members) {
  int64_t total = 0;
  for (uint32_t i : members) total += servers[i].weight;
  std::vector<int64_t> current(members.size(), 0);
  std::vector<uint32_t> seq;
  seq.reserve(static_cast<size_t>(total));
  for (int64_t step = 0; step < total; ++step) {
    size_t best = 0;
    for (size_t m = 0; m < members.size(); ++m) {
      current[m] += servers[members[m]].weight;
      if (current[m] > current[best]) best = m;
    }
    current[best] -= total;
    seq.push_back(members[best]);
  }
  return seq;
}

class RoundRobin final : public Selector {
 public:
  explicit RoundRobin(std::span<const ServerSpec> servers) {
    std::vector<uint32_t> primary, backup;
    for (uint32_t i = 0; i < servers.size(); ++i) (servers[i].backup ? backup : primary).push_back(i);
    primary_ = smoothSequence(servers, primary);
    backup_ = smoothSequence(servers, backup);
  }

  int pick(const PickContext& ctx, PickState& state) const override {
    int i = walk(primary_, ctx, state.cursor);
    return i >= 0 ? i : walk(backup_, ctx, state.cursor);
  }

 private:
  static int walk(const std::vector<uint32_t>& seq, const PickContext& ctx, uint64_t& cursor) {
    size_t n = seq.size();
    for (size_t step = 0; step < n; ++step) {
      uint32_t server = seq[(cursor + step) % n];
      if (!isExcluded(ctx, server)) {
        cursor += step + 1;
        return static_cast<int>(server);
      }
    }
    return -1;
  }

  std::vector<uint32_t> primary_;
  std::vector<uint32_t> backup_;
};

}  // namespace

SelectorPtr buildRoundRobin(std::span<const ServerSpec> servers, const config::UpstreamConfig&) {
  return std::make_shared<RoundRobin>(servers);
}

}  // namespace proxy::lb
