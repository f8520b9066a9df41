// GET /metrics: sums every worker's cells (worker_metrics.h) and the process counters into
// prometheus-cpp families on a fresh Registry and serializes them with prometheus::TextSerializer
// (text format 0.0.4). Runs on the admin thread; the workers are never stopped or locked: each
// cell is read once with a relaxed load (see counters.h for why that is sound).
//
// Building a Registry per scrape costs a few hundred small allocations — nothing at one scrape
// every few seconds, and it keeps prometheus-cpp's own locked counters off the data path
// entirely. Every metric is documented in docs/metrics.md.
#pragma once

#include <string>

#include "proxy/metrics/scrape_sources.h"

namespace proxy::metrics {

std::string renderPrometheus(const ScrapeSources& sources);

// Content-Type of the output.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace proxy::metrics
