// One configuration as a worker runs it: the config, its router and its upstream runtimes
// (selectors, pools, active counts).
//
// Hot reload builds a new Generation and makes it current; the old one is retired but stays
// alive while any exchange or tunnel that started on it is still running (they hold a
// reference), so in-flight requests finish on the config they started with and WebSocket tunnels
// are never closed by a reload. A worker's generations are touched only by its own loop, so the
// reference count is a plain integer.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/route/router.h"
#include "proxy/loop/loop_context.h"
#include "proxy/upstream/upstream_runtime.h"

namespace proxy::server {

struct Generation {
  Generation(LoopContext& ctx, std::shared_ptr<const config::Config> cfg, uint64_t n)
      : config(std::move(cfg)), router(*config), number(n) {
    for (size_t i = 0; i < config->upstreams.size(); ++i)
      upstreams.push_back(std::make_unique<upstream::UpstreamRuntime>(ctx, config->upstreams[i], static_cast<uint32_t>(i)));
  }

  std::shared_ptr<const config::Config> config;
  route::Router router;
  std::vector<std::unique_ptr<upstream::UpstreamRuntime>> upstreams;
  uint64_t number;
  uint32_t refs = 0;     // exchanges and tunnels running on this generation
  bool retired = false;  // a newer generation is current
};

}  // namespace proxy::server
