// Fuzz target for the PROXY protocol v1/v2 parser (proxy/edge/proxy_protocol.h), fed the way the
// session feeds it: everything received so far, growing a read at a time. The first byte is the
// control byte: bits 0-4 pick the read size (1..32 bytes).
// Invariants, abort() on violation:
//  - no crash or sanitizer report;
//  - the decision never goes back: once a prefix is Done or Error, every longer input gives the
//    same answer (and Done the same header), so it does not matter how the bytes were split;
//  - Done: 0 < length <= input, length <= 107 for v1 and <= 2048 for v2; only the first `length`
//    bytes decide (parsing exactly them gives the same header); a source is IPv4 or IPv6;
//  - NeedMore: never for more than 2048 bytes (nobody can make the session buffer without end).
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "proxy/edge/proxy_protocol.h"

using proxy::edge::ProxyHeader;
using proxy::edge::ProxyParse;

namespace {

bool same(const ProxyHeader& a, const ProxyHeader& b) {
  return a.length == b.length && a.has_source == b.has_source && a.version == b.version &&
         std::memcmp(&a.source, &b.source, sizeof a.source) == 0;
}

void checkDone(const char* p, const ProxyHeader& h, size_t n) {
  if (h.length == 0 || h.length > n) std::abort();
  if (h.version == 1 && h.length > proxy::edge::kMaxV1Bytes) std::abort();
  if (h.version == 2 && h.length > proxy::edge::kMaxV2Bytes) std::abort();
  if (h.version != 1 && h.version != 2) std::abort();
  if (h.has_source && h.source.ss_family != AF_INET && h.source.ss_family != AF_INET6) std::abort();
  ProxyHeader exact;
  if (proxy::edge::parseProxyHeader(p, h.length, exact) != ProxyParse::Done || !same(exact, h)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t step = 1 + (data[0] & 0x1f);
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t n = size - 1;
  ProxyParse decided = ProxyParse::NeedMore;
  ProxyHeader first;
  for (size_t have = 0; have < n;) {
    have = have + step < n ? have + step : n;
    ProxyHeader h;
    const char* why = nullptr;
    ProxyParse r = proxy::edge::parseProxyHeader(p, have, h, &why);
    if (r == ProxyParse::Error && why == nullptr) std::abort();
    if (decided != ProxyParse::NeedMore) {
      if (r != decided || (r == ProxyParse::Done && !same(h, first))) std::abort();
      continue;
    }
    if (r == ProxyParse::NeedMore) {
      if (have > proxy::edge::kMaxV2Bytes) std::abort();
      continue;
    }
    decided = r;
    if (r == ProxyParse::Done) {
      checkDone(p, h, have);
      first = h;
    }
  }
  return 0;
}
