// Counters, gauges and histograms written by one worker thread and read by the scraper.
//
// Why single-writer relaxed atomics (and not plain integers, nor fetch_add): every cell has
// exactly one writer, the worker loop that owns it, so an increment is a relaxed load plus a
// relaxed store — on x86-64 and arm64 that compiles to the same plain `add`/`mov` a bare
// uint64_t would, with no lock prefix and no cache-line ping-pong between workers. Using
// std::atomic rather than a plain field makes the scraper's concurrent read well defined (no
// data race, no torn 64-bit value) at no cost to the writer. A scrape may see one worker a few
// increments behind another; Prometheus counters only need to be monotonic per series, which
// they are, since each cell only grows and the sum is over cells.
//
// Cells from several threads sit in separate per-worker objects (WorkerMetrics), so there is no
// false sharing on the data path. ProcessCounter is the exception for rare events written from
// any thread (config reloads, health checks): it uses fetch_add.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace proxy::metrics {

class Counter {
 public:
  void add(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A gauge kept by one worker: its part of a process-wide gauge (the scraper sums the parts).
class Gauge {
 public:
  void add(int64_t d) { v_.store(v_.load(std::memory_order_relaxed) + d, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Written by any thread, rarely.
class ProcessCounter {
 public:
  void add(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// Latency buckets in seconds, shared by every duration histogram (Prometheus' defaults plus
// sub-millisecond ones: a proxied request on loopback takes ~100 µs).
inline constexpr std::array<double, 14> kDurationBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                           0.025,  0.05,    0.1,    0.25,  0.5,    1,     5};

// Non-cumulative bucket counts (the last one is +Inf), sum in nanoseconds, count.
class DurationHistogram {
 public:
  static constexpr size_t kBuckets = kDurationBounds.size() + 1;

  void observeNs(uint64_t ns) {
    size_t i = 0;
    while (i < kDurationBounds.size() && ns > kBoundsNs[i]) ++i;
    buckets_[i].add();
    sum_ns_.add(ns);
  }
  uint64_t bucket(size_t i) const { return buckets_[i].value(); }
  uint64_t sumNs() const { return sum_ns_.value(); }

 private:
  static constexpr std::array<uint64_t, kDurationBounds.size()> kBoundsNs = [] {
    std::array<uint64_t, kDurationBounds.size()> a{};
    for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint64_t>(kDurationBounds[i] * 1e9 + 0.5);
    return a;
  }();
  std::array<Counter, kBuckets> buckets_;
  Counter sum_ns_;
};

}  // namespace proxy::metrics
