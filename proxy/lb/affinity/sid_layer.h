// The Engine.IO sid layer (sid.h has the table and the open-packet parser): learns which server
// owns a Socket.IO session from the backend's handshake, then pins every later request carrying
// `?sid=` (polling and the WebSocket upgrade) to it.
//
// The handshake is a request with `EIO=` and no `sid=`; its 200 body starts with the open packet,
// whose sid is learnt into the process-wide table as (sid -> server identity). With sid tokens
// (`sid_token: true`, sid_token.h) the open packet goes to the client with its sid sealed, and a
// sealed sid coming back is unsealed before forwarding; a tether that has never seen the session
// pins it from the token. A 400 to a request carrying a sid ("Session ID unknown") drops the entry.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/lb/affinity/layer.h"
#include "proxy/lb/affinity/sid.h"
#include "proxy/lb/affinity/sid_token.h"

namespace proxy::lb {

class SidLayer final : public Layer {
 public:
  SidLayer(const config::UpstreamConfig& cfg, std::span<const ServerSpec> servers);

  int pin(const http::MessageHead& head, uint64_t now_ms, AffinityRequest& req) const override;
  void atResponseHead(AffinityRequest& req, unsigned status, uint32_t server, bool tls, std::string& lines) const override;

  // Without tokens: feeds response body bytes; learns the sid once the open packet is complete.
  void captureSid(AffinityRequest& req, std::string_view chunk, uint32_t server, uint64_t now_ms) const;
  // With tokens (req.sealing): appends `chunk` to the held bytes. Once the open packet is
  // complete, or the bytes cannot be one (`final`: the body ended; or 512 bytes without a sid),
  // learns the sid, writes the bytes to send in `out` (the packet with its sid sealed, or the held
  // bytes unchanged) and returns true; until then returns false and `out` is untouched.
  bool sealOpenPacket(AffinityRequest& req, std::string_view chunk, bool final, uint32_t server, uint64_t now_ms,
                      std::string& out) const;

  // The identity a sid entry stores for a server: a hash of its name, so a pin survives reloads
  // that reorder, add or remove other servers (an index would not). Never 0.
  static uint64_t serverId(std::string_view server_name);

 private:
  int indexOf(uint64_t server_id) const;
  int sidPin(const http::MessageHead& head, std::string_view sid, uint64_t now_ms, AffinityRequest& req) const;
  void learn(const OpenPacket& p, uint32_t server, uint64_t now_ms) const;

  uint64_t upstream_id_;
  uint64_t sid_ttl_ms_;
  bool tokens_;
  SidTokenKey token_key_{};
  std::vector<std::pair<uint64_t, uint32_t>> server_ids_;  // (serverId, index), sorted by id
  std::vector<uint64_t> ids_by_index_;
};

}  // namespace proxy::lb
