// The affinity layer table: one row per layer file in this folder.
#include "proxy/lb/affinity/cookie.h"
#include "proxy/lb/affinity/layer.h"
#include "proxy/lb/affinity/sid_layer.h"

namespace proxy::lb {

LayerPtr makeLayer(config::AffinityLayer kind, const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers) {
  switch (kind) {
    case config::AffinityLayer::Sid: return std::make_unique<SidLayer>(cfg, servers);
    case config::AffinityLayer::Cookie: return std::make_unique<CookieLayer>(cfg, servers);
  }
  return nullptr;
}

}  // namespace proxy::lb
