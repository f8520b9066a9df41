// Fuzz target for the Engine.IO sid affinity's parsers (proxy/lb/affinity): the open-packet
// parser, the sid token codec, SidLayer's sealing and capture of a handshake body arriving in
// reads, and its pin() on a request URL carrying `?sid=`. The first byte is the control byte:
// bits 0-4 pick the read size (1..32 bytes), bit 5 whether the body ends with the input, bits
// 6-7 the server (0-2 of three, 3: an index the upstream does not have). The sid table entries a
// run creates are removed at its end.
// Invariants, abort() on violation:
//  - no crash or sanitizer report;
//  - parseOpenPacket: a sid it returns lies inside the body, after `"sid":"`, within the first
//    bytes' open packet, 1..128 bytes with no quote;
//  - tokens: openSid(sealSid(s, id)) is Valid with s and id for any non-empty s; an input that openSid
//    finds Valid is exactly sealSid(backend_sid, server_id) (one token per sid and server), and
//    one that is not Valid leaves the sid as sent;
//  - sealOpenPacket: returns true once the body ended or 512 bytes arrived without a packet, and
//    then the bytes to send are the held bytes unchanged (no packet, or an unknown server) or the
//    held bytes with the sid replaced by its token, which opens to that sid and the server's
//    identity, and a request carrying the token pins that server (for sids of URL-safe
//    characters);
//  - pin: a server index in range or -1; a rewritten upstream URL is the request URL with the
//    token's 20 characters taken out.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "common/hash.h"
#include "proxy/config/config.h"
#include "proxy/http/message_head.h"
#include "proxy/lb/affinity/sid.h"
#include "proxy/lb/affinity/sid_layer.h"
#include "proxy/lb/affinity/sid_token.h"
#include "proxy/lb/strategy.h"

namespace {

namespace lb = proxy::lb;

void check(bool ok) {
  if (!ok) std::abort();
}

constexpr const char* kUpstream = "fuzz-sid";
const lb::ServerSpec kServers[3] = {{"srv-0"}, {"srv-1"}, {"srv-2"}};

struct Layers {
  proxy::config::UpstreamConfig sealing_cfg, plain_cfg;
  std::unique_ptr<lb::SidLayer> sealing, plain;
  lb::SidTokenKey key;
  uint64_t upstream_id;
  Layers() {
    sealing_cfg.name = plain_cfg.name = kUpstream;
    sealing_cfg.affinity = plain_cfg.affinity = {proxy::config::AffinityLayer::Sid};
    sealing_cfg.sid_token = true;
    plain_cfg.sid_token = false;
    sealing = std::make_unique<lb::SidLayer>(sealing_cfg, kServers);
    plain = std::make_unique<lb::SidLayer>(plain_cfg, kServers);
    key = lb::sidTokenKey(kUpstream, "");
    upstream_id = common::hash64(std::string_view(kUpstream), 0x736964ull);  // as SidLayer keys its entries
  }
};

Layers& layers() {
  static Layers l;
  return l;
}

std::string sealed(std::string_view sid, uint64_t id) {
  std::string s;
  lb::sealSid(layers().key, sid, id, s);
  return s;
}

void checkOpenPacket(std::string_view body) {
  lb::OpenPacket p;
  if (!lb::parseOpenPacket(body, p)) return;
  check(p.sid.data() >= body.data() && p.sid.data() + p.sid.size() <= body.data() + body.size());
  check(!p.sid.empty() && p.sid.size() <= 128 && p.sid.find('"') == std::string_view::npos);
  size_t at = static_cast<size_t>(p.sid.data() - body.data());
  check(at >= 7 && body.substr(at - 7, 7) == "\"sid\":\"");
  size_t open = body.find("0{");
  check(open <= 12 && open < at);
}

void checkTokens(std::string_view in, uint64_t id) {
  std::string_view backend;
  uint64_t got = 0;
  if (!in.empty()) {  // a backend's sid is never empty (parseOpenPacket)
    std::string s = sealed(in, id);
    check(lb::openSid(layers().key, s, backend, got) == lb::SidSeal::Valid && backend == in && got == id);
  }
  lb::SidSeal seal = lb::openSid(layers().key, in, backend, got);
  if (seal == lb::SidSeal::Valid) {
    check(sealed(backend, got) == in);
  } else {
    check(backend == in);
  }
}

int pinUrl(const lb::SidLayer& layer, std::string_view url, lb::AffinityRequest& req, std::vector<uint64_t>& keys) {
  proxy::http::MessageHead head;
  head.appendUrl(url);
  req.reset();
  int server = layer.pin(head, 1000, req);
  if (req.sid_key) keys.push_back(req.sid_key);
  check(server >= -1 && server < 3);
  if (!req.upstream_url.empty()) check(req.upstream_url.size() + lb::kSidTokenSuffix == url.size());
  return server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t ctl = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t step = 1 + (ctl & 31);
  bool ends = ctl & 32;
  uint32_t server = ctl >> 6;
  Layers& l = layers();
  std::vector<uint64_t> keys;

  checkOpenPacket(in);
  checkTokens(in, lb::SidLayer::serverId(kServers[server % 3].name));

  // The handshake body in reads, sealed.
  lb::AffinityRequest req;
  req.capturing = req.sealing = true;
  std::string out;
  size_t held = 0;
  bool done = false;
  while (!done && (held < in.size() || (ends && held == 0))) {
    size_t len = std::min(step, in.size() - held);
    bool final = ends && held + len == in.size();
    done = l.sealing->sealOpenPacket(req, in.substr(held, len), final, server, 1000, out);
    held += len;
    check(done || (!final && held < 512));
  }
  if (done) {
    std::string_view body = in.substr(0, held);
    lb::OpenPacket p;
    bool ok = lb::parseOpenPacket(body.substr(0, 512), p);
    check(!req.sealing && !req.capturing);
    if (!ok || server >= 3) {
      check(out == body);
    } else {
      keys.push_back(lb::SidTable::keyOf(l.upstream_id, p.sid));
      size_t at = static_cast<size_t>(p.sid.data() - body.data());
      uint64_t id = lb::SidLayer::serverId(kServers[server].name);
      std::string token = sealed(p.sid, id);
      check(out.size() == body.size() + lb::kSidTokenSuffix);
      check(out.compare(0, at, body, 0, at) == 0 && out.compare(at, token.size(), token) == 0);
      check(out.compare(at + token.size(), std::string::npos, body, at + p.sid.size()) == 0);
      std::string_view backend;
      uint64_t got = 0;
      check(lb::openSid(l.key, token, backend, got) == lb::SidSeal::Valid && backend == p.sid && got == id);
      // The table learnt the sid: a request carrying it sealed pins the server (for sids a
      // query string carries as they are).
      if (p.sid.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string_view::npos) {
        check(pinUrl(*l.sealing, "/socket.io/?EIO=4&transport=polling&sid=" + token, req, keys) == static_cast<int>(server));
        check(req.upstream_url == "/socket.io/?EIO=4&transport=polling&sid=" + std::string(p.sid));
      }
    }
  }

  // The same body captured without tokens.
  req.reset();
  req.capturing = true;
  for (size_t off = 0; off < in.size() && req.capturing; off += step)
    l.plain->captureSid(req, in.substr(off, step), server, 1000);
  lb::OpenPacket p;
  if (!req.capturing && server < 3 && lb::parseOpenPacket(in.substr(0, 512), p)) {
    keys.push_back(lb::SidTable::keyOf(l.upstream_id, p.sid));
  }

  // The input as a request URL, for both layers.
  pinUrl(*l.sealing, in, req, keys);
  pinUrl(*l.plain, in, req, keys);

  for (uint64_t k : keys) lb::SidTable::global().forget(k);
  return 0;
}
