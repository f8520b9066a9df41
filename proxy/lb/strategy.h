// The load-balancing interface: a Strategy builds an immutable Selector for a server set; the
// Selector picks a server index for one request.
//
// Selectors are built once per server-set change (config load, reload, health change) and shared
// read-only: they are never mutated while picking, so a new one is swapped in while in-flight
// picks finish on the old one (Pingora's build(), Envoy's shared_ptr<const Ring>). The only mutable
// state of a pick lives in PickState, owned by one worker loop (for round-robin, its cursor), so the
// data path takes no lock and shares no cache line between workers.
//
// Key extraction (client IP, header, cookie...) happens before the pick and arrives as
// PickContext::key; exclusion (servers already tried for this request, or down) as a mask. Adding
// a strategy means one file with a build function and one line in registry.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace proxy::config {
struct UpstreamConfig;
}

namespace proxy::lb {

// A set of server indices. Inline for up to 64 servers, so the common case allocates nothing.
class ServerMask {
 public:
  void set(size_t i) {
    if (i < 64) {
      low_ |= uint64_t{1} << i;
      return;
    }
    size_t word = i / 64 - 1;
    if (high_.size() <= word) high_.resize(word + 1, 0);
    high_[word] |= uint64_t{1} << (i % 64);
  }
  bool test(size_t i) const {
    if (i < 64) return (low_ >> i) & 1;
    size_t word = i / 64 - 1;
    return word < high_.size() && ((high_[word] >> (i % 64)) & 1);
  }
  void clear() {
    low_ = 0;
    high_.clear();
  }
  bool empty() const {
    if (low_) return false;
    for (uint64_t w : high_)
      if (w) return false;
    return true;
  }

 private:
  uint64_t low_ = 0;
  std::vector<uint64_t> high_;
};

struct PickContext {
  uint64_t key = 0;                        // hash of the request's affinity key, if any
  bool has_key = false;
  const ServerMask* excluded = nullptr;    // never return these (tried, down)
  std::span<const uint32_t> active;        // live upstream connections per server (may be empty)
};

// Per-worker mutable state of one upstream's picks.
struct PickState {
  uint64_t cursor = 0;
};

class Selector {
 public:
  virtual ~Selector() = default;
  // Returns a server index, or -1 when every server is excluded.
  virtual int pick(const PickContext& ctx, PickState& state) const = 0;
};
using SelectorPtr = std::shared_ptr<const Selector>;

// What a strategy sees of each server when building.
struct ServerSpec {
  std::string_view name;
  uint32_t weight = 1;
  bool backup = false;
};

using BuildFn = SelectorPtr (*)(std::span<const ServerSpec> servers, const config::UpstreamConfig& cfg);

// What a strategy reads from a request, so the config loader, the affinity policy and the
// compare tool ask the strategy instead of comparing names.
enum class KeyUse : uint8_t {
  None,       // no key (round_robin, least_conn)
  Address,    // the client address, under ip_hash's prefixes (ip_hash)
  HashKey,    // `hash_key:` sources, the client address by default (consistent_hash)
};

struct Strategy {
  std::string_view name;
  BuildFn build;
  KeyUse key = KeyUse::None;
  bool bounded_loads = false;  // accepts `balance_factor`
};

inline bool isExcluded(const PickContext& ctx, size_t i) { return ctx.excluded && ctx.excluded->test(i); }

}  // namespace proxy::lb
