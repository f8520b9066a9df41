// consistent_hash: the first present `hash_key` source (key_extractor.h) looked up on the
// consistent-hash ring (hash_ring.h), with optional bounded loads (`balance_factor`).
//
// Worked example, 3 equal servers a, b, c, balance_factor 1.25, live connections {a:5, b:2, c:2}:
// total 9, cap = ceil(1.25 × 10 / 3) = ceil(4.17) = 5. A key whose ring position names `a` finds
// a at 5 (one more would be 6 > 5), so it walks clockwise to the next point's owner, say c (2),
// and goes there. The same key with a at 3 goes to a again: bounds bend placement only under load.
//
// A request without any key source present is spread by the worker's cursor.
#include "common/hash.h"
#include "proxy/config/config.h"
#include "proxy/lb/hash_ring.h"

namespace proxy::lb {
namespace {

class ConsistentHash final : public Selector {
 public:
  ConsistentHash(std::span<const ServerSpec> servers, double factor) : ring_(servers), factor_(factor) {}

  int pick(const PickContext& ctx, PickState& state) const override {
    uint64_t key = ctx.has_key ? ctx.key : common::mix64(state.cursor++);
    return ring_.lookup(key, ctx, factor_);
  }

 private:
  HashRing ring_;
  double factor_;
};

}  // namespace

SelectorPtr buildConsistentHash(std::span<const ServerSpec> servers, const config::UpstreamConfig& cfg) {
  return std::make_shared<ConsistentHash>(servers, cfg.balance_factor);
}

}  // namespace proxy::lb
