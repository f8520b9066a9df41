// ip_hash: the client address is the key (key_extractor.h: TCP peer, or the right-most untrusted
// X-Forwarded-For entry behind trusted_proxies), looked up on the consistent-hash ring.
//
// The key arrives already hashed with the upstream's `ip_hash: {ipv4_prefix: N}` applied
// (24 reproduces nginx's "first three octets" grouping; default: the whole address, IPv6 too).
// Unlike nginx's ip_hash, which re-hashes on a modulo table so that removing one server moves
// keys between the others, the ring moves only the removed server's clients.
#include "common/hash.h"
#include "proxy/lb/hash_ring.h"

namespace proxy::lb {
namespace {

class IpHash final : public Selector {
 public:
  explicit IpHash(std::span<const ServerSpec> servers) : ring_(servers) {}

  int pick(const PickContext& ctx, PickState& state) const override {
    // No address (cannot happen for TCP peers): spread by the worker's cursor.
    uint64_t key = ctx.has_key ? ctx.key : common::mix64(state.cursor++);
    return ring_.lookup(key, ctx, 0);
  }

 private:
  HashRing ring_;
};

}  // namespace

SelectorPtr buildIpHash(std::span<const ServerSpec> servers, const config::UpstreamConfig&) {
  return std::make_shared<IpHash>(servers);
}

}  // namespace proxy::lb
