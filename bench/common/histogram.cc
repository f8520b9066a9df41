// Histogram: see histogram.h.
#include "bench/common/histogram.h"

#include <algorithm>
#include <cmath>

namespace bench {

Histogram::Histogram() : buckets_((64 - kSubBits + 1) * kSub, 0) {}

size_t Histogram::indexOf(uint64_t v) {
  if (v < kSub) return static_cast<size_t>(v);
  unsigned msb = 63u - static_cast<unsigned>(__builtin_clzll(v));
  unsigned shift = msb - kSubBits;
  return static_cast<size_t>(shift + 1) * kSub + static_cast<size_t>((v >> shift) - kSub);
}

uint64_t Histogram::upperEdge(size_t idx) {
  if (idx < kSub) return idx;
  size_t shift = idx / kSub - 1;
  uint64_t base = (kSub + idx % kSub) << shift;
  return base + ((uint64_t{1} << shift) - 1);
}

void Histogram::record(uint64_t us) {
  ++buckets_[std::min(indexOf(us), buckets_.size() - 1)];
  ++count_;
  sum_ += us;
  max_ = std::max(max_, us);
}

uint64_t Histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(upperEdge(i), max_);
  }
  return max_;
}

void Histogram::reset() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = sum_ = max_ = 0;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

}  // namespace bench
