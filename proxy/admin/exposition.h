// GET /metrics: sums every worker's cells (metrics/worker_metrics.h), reads every server's state
// from the membership manager, and adds the process counters into
// prometheus-cpp families on a fresh Registry and serializes them with prometheus::TextSerializer
// (text format 0.0.4). Runs on the main loop, next to the membership manager; the workers are never stopped or locked: each
// cell is read once with a relaxed load (see counters.h for why that is sound).
//
// Building a Registry per scrape costs a few hundred small allocations — nothing at one scrape
// every few seconds, and it keeps prometheus-cpp's own locked counters off the data path
// entirely. Every metric is documented in docs/metrics.md.
#pragma once

#include <string>

#include "proxy/admin/scrape_sources.h"

namespace proxy::admin {

std::string renderPrometheus(const ScrapeSources& sources);

// Content-Type of the output.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace proxy::admin
