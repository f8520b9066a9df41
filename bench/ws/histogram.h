// A log-linear latency histogram (HdrHistogram-style: 64 linear sub-buckets per power of two,
// so any recorded value is reported within 1.6%), in nanoseconds, fixed memory, no allocation
// per sample.
#pragma once

#include <array>
#include <cstdint>

namespace bench {

class Histogram {
 public:
  void record(uint64_t ns) {
    ++counts_[index(ns)];
    ++total_;
    if (ns > max_) max_ = ns;
  }
  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  // Value at quantile q in [0, 1] (upper edge of its bucket).
  uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_ - 1)) + 1, seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) return upper(i);
    }
    return max_;
  }

 private:
  static constexpr int kSub = 64;  // sub-buckets per power of two
  static size_t index(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - 6;  // keep 6 bits below the top bit
    return static_cast<size_t>((shift + 1) * kSub + static_cast<int>((v >> shift) & (kSub - 1)));
  }
  static uint64_t upper(size_t i) {
    if (i < kSub) return i;
    int shift = static_cast<int>(i / kSub) - 1;
    uint64_t sub = i % kSub;
    return ((uint64_t{kSub} + sub + 1) << shift) - 1;
  }
  std::array<uint64_t, 64 * 60> counts_{};
  uint64_t total_ = 0, max_ = 0;
};

}  // namespace bench
