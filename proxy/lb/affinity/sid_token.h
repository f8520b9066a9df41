// Sid tokens: sid pins that need no shared state, so an Engine.IO session opened through one
// tether continues through another replica with the same configuration, or through a restarted
// tether.
//
// On a polling handshake, the open packet's sid `S` (the backend's) is handed to the client as
// `S.T`, where T (19 base64url characters) carries the identity of the server that answered
// (SidLayer::serverId, a hash of its name) and a 48-bit HMAC-SHA256 tag over S and that
// identity, keyed from the upstream's name and its optional `sid_secret`. Every later request
// carrying `?sid=S.T` is forwarded with `?sid=S`, so the backend only ever sees its own sid. A tether
// that has the sid in its table pins from the table; one that has never seen it (another replica,
// a restart) pins from T. A token whose tag does not verify is ignored (the sid is forwarded as
// sent and the strategy chooses); a token naming a server that is gone re-pins.
//
// Pure: no I/O, no allocation beyond the caller's output string.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace proxy::lb {

struct SidTokenKey {
  unsigned char bytes[32];
};

// The key every replica with the same configuration derives alike.
SidTokenKey sidTokenKey(std::string_view upstream_name, std::string_view secret);

// '.' and the 19 characters of T.
inline constexpr size_t kSidTokenSuffix = 20;

// Appends `sid` + "." + T to `out`.
void sealSid(const SidTokenKey& key, std::string_view sid, uint64_t server_id, std::string& out);

enum class SidSeal : uint8_t {
  None,    // no token: `client_sid` is the backend's sid
  Valid,   // backend_sid and server_id are set
  Forged,  // token-shaped but the tag does not verify: treat `client_sid` as a plain sid
};
SidSeal openSid(const SidTokenKey& key, std::string_view client_sid, std::string_view& backend_sid, uint64_t& server_id);

}  // namespace proxy::lb
