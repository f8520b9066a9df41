// An affinity layer: something a client sends back that names the server it must return to (an
// Engine.IO sid, a cookie), in front of the upstream's strategy. The policy (policy.h) runs the
// layers an upstream lists in `affinity:`, in order; lb::choose (lb/pick.h) takes the first
// usable server they name.
//
// A new layer is one file implementing Layer plus one row in layers.cc (and its name in the
// config's `affinity:` list). Layers are built once per configuration generation and immutable;
// what they learn per request lives in AffinityRequest, owned by the session.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "proxy/config/config.h"
#include "proxy/http/message_head.h"
#include "proxy/lb/strategy.h"

namespace proxy::lb {

// Per-request affinity state: the hash key, the layers' pins, and what their response hooks need.
struct AffinityRequest {
  uint64_t key = 0;
  bool has_key = false;
  int pins[2] = {-1, -1};   // servers named by the layers, in `affinity:` order
  int cookie_server = -1;   // server the request's cookie named
  bool unknown_pin = false; // a sid or cookie was sent that names no current server
  bool learn_sid = false;   // Engine.IO polling handshake
  uint64_t sid_key = 0;     // SidTable key of the request's ?sid= (0: none)
  bool capturing = false;   // learn_sid and the response is a 200: watching its body
  bool sealing = false;     // capturing, and the sid goes to the client as a token
  std::string capture;      // first body bytes when the open packet spans reads (sealing: all held bytes)
  std::string upstream_url; // the URL to forward when it differs from the client's (sid token removed)

  void reset() {
    has_key = unknown_pin = learn_sid = capturing = sealing = false;
    sid_key = 0;
    pins[0] = pins[1] = cookie_server = -1;
    capture.clear();
    upstream_url.clear();
  }
};

class Layer {
 public:
  virtual ~Layer() = default;
  // At the request head: the server this layer names (its index in the upstream), or -1. Sets
  // req.unknown_pin when the client sent a pin that names no current server.
  virtual int pin(const http::MessageHead& head, uint64_t now_ms, AffinityRequest& req) const = 0;
  // At the response head, once `server` answered `status`: may append header lines to `lines`
  // ("Name: value\r\n" each) and start watching the response body (req.capturing).
  virtual void atResponseHead(AffinityRequest& req, unsigned status, uint32_t server, bool tls, std::string& lines) const = 0;
};

using LayerPtr = std::unique_ptr<const Layer>;

// The registry (layers.cc): the layer `kind` of upstream `cfg` over `servers` (in config order).
LayerPtr makeLayer(config::AffinityLayer kind, const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers);

}  // namespace proxy::lb
