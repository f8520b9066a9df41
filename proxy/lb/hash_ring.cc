// HashRing: see hash_ring.h.
#include "proxy/lb/hash_ring.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string_view>

#include "common/hash.h"

namespace proxy::lb {

HashRing::HashRing(std::span<const ServerSpec> servers) : weights_(servers.size(), 0) {
  for (uint32_t s = 0; s < servers.size(); ++s) {
    if (servers[s].backup) {
      backups_.push_back(s);
      backup_ids_.push_back(common::hash64(servers[s].name));
      continue;
    }
    weights_[s] = servers[s].weight;
    total_weight_ += servers[s].weight;
  }
  if (total_weight_ == 0) return;
  points_per_unit_ = static_cast<uint32_t>(std::clamp<uint64_t>(65536 / total_weight_, 160, 4096));
  struct Point {
    uint64_t hash;
    uint32_t owner;
  };
  std::vector<Point> points;
  points.reserve(total_weight_ * points_per_unit_);
  for (uint32_t s = 0; s < servers.size(); ++s)
    for (uint64_t i = 0; i < uint64_t{weights_[s]} * points_per_unit_; ++i)
      points.push_back({common::hash64(servers[s].name, common::mix64(i)), s});
  // Ties (astronomically rare) are ordered by name so that the ring never depends on list order.
  std::sort(points.begin(), points.end(), [&](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : servers[a.owner].name < servers[b.owner].name;
  });
  hashes_.reserve(points.size());
  owners_.reserve(points.size());
  for (const Point& p : points) {
    hashes_.push_back(p.hash);
    owners_.push_back(p.owner);
  }
  unsigned bits = 1;
  while ((size_t{1} << bits) < points.size() * 2 && bits < 20) ++bits;
  shift_ = 64 - bits;
  buckets_.resize((size_t{1} << bits) + 1);
  size_t i = 0;
  for (size_t b = 0; b < buckets_.size() - 1; ++b) {
    uint64_t start = uint64_t{b} << shift_;
    while (i < hashes_.size() && hashes_[i] < start) ++i;
    buckets_[b] = static_cast<uint32_t>(i);
  }
  buckets_.back() = static_cast<uint32_t>(hashes_.size());
}

size_t HashRing::firstAtOrAfter(uint64_t key) const {
  size_t i = buckets_[key >> shift_];
  size_t n = hashes_.size();
  while (i < n && hashes_[i] < key) ++i;
  return i == n ? 0 : i;
}

bool HashRing::full(uint32_t server, const PickContext& ctx, double factor, uint64_t total) const {
  if (factor <= 0 || server >= ctx.active.size()) return false;
  // cap = ceil(c × (total + 1) × w / W): the server may take one more only while below it.
  double cap = factor * static_cast<double>(total + 1) * weights_[server] / static_cast<double>(total_weight_);
  return static_cast<double>(ctx.active[server]) + 1 > std::ceil(cap);
}

int HashRing::lookup(uint64_t key, const PickContext& ctx, double factor) const {
  if (hashes_.empty()) return backupFor(key, ctx);
  uint64_t total = 0;
  if (factor > 0)
    for (uint32_t s = 0; s < ctx.active.size() && s < weights_.size(); ++s)
      if (weights_[s]) total += ctx.active[s];
  size_t n = hashes_.size();
  size_t i = firstAtOrAfter(key);
  int fallback = -1;  // first non-excluded server on the walk, used when all are full
  for (size_t step = 0; step < n; ++step, i = (i + 1 == n ? 0 : i + 1)) {
    uint32_t s = owners_[i];
    if (isExcluded(ctx, s)) continue;
    if (!full(s, ctx, factor, total)) return static_cast<int>(s);
    if (fallback < 0) fallback = static_cast<int>(s);
  }
  return fallback >= 0 ? fallback : backupFor(key, ctx);
}

// Backups are not on the ring: when every primary is excluded, the key picks among them by
// rendezvous order (still deterministic, still minimal movement among backups).
int HashRing::backupFor(uint64_t key, const PickContext& ctx) const {
  int best = -1;
  uint64_t best_score = 0;
  for (size_t b = 0; b < backups_.size(); ++b) {
    uint32_t s = backups_[b];
    if (isExcluded(ctx, s)) continue;
    uint64_t score = common::mix64(key ^ backup_ids_[b]);
    if (best < 0 || score > best_score) best = static_cast<int>(s), best_score = score;
  }
  return best;
}

}  // namespace proxy::lb
