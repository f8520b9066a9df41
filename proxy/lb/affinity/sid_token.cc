// Sid tokens: see sid_token.h.
#include "proxy/lb/affinity/sid_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cassert>
#include <cstring>

namespace proxy::lb {
namespace {

constexpr size_t kIdBytes = 8, kTagBytes = 6, kRawBytes = kIdBytes + kTagBytes;  // 14 -> 19 chars
constexpr size_t kTokenChars = kSidTokenSuffix - 1;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void tagOf(const SidTokenKey& key, std::string_view sid, const unsigned char id[kIdBytes], unsigned char tag[kTagBytes]) {
  unsigned char msg[kIdBytes + 256];
  size_t n = std::min<size_t>(sid.size(), 256);
  std::memcpy(msg, id, kIdBytes);
  std::memcpy(msg + kIdBytes, sid.data(), n);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha256(), key.bytes, sizeof(key.bytes), msg, kIdBytes + n, mac, &mac_len) || mac_len < kTagBytes) {
    std::memset(tag, 0, kTagBytes);  // never verifies against a real tag with certainty; sealing still works
    return;
  }
  std::memcpy(tag, mac, kTagBytes);
}

// Unpadded base64url of 14 bytes: 4 chars per 3 bytes, then 3 chars for the last 2.
void encode(const unsigned char in[kRawBytes], char out[kTokenChars]) {
  size_t o = 0, i = 0;
  for (; i + 3 <= kRawBytes; i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out[o++] = kAlphabet[(v >> s) & 63];
  }
  uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
  out[o++] = kAlphabet[(v >> 18) & 63];
  out[o++] = kAlphabet[(v >> 12) & 63];
  out[o++] = kAlphabet[(v >> 6) & 63];
  assert(o == kTokenChars);
}

int valueOf(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool decode(std::string_view in, unsigned char out[kRawBytes]) {
  if (in.size() != kTokenChars) return false;
  uint32_t vals[kTokenChars];
  for (size_t k = 0; k < kTokenChars; ++k) {
    int v = valueOf(in[k]);
    if (v < 0) return false;
    vals[k] = static_cast<uint32_t>(v);
  }
  size_t o = 0, k = 0;
  for (; o + 3 <= kRawBytes; o += 3, k += 4) {
    uint32_t v = (vals[k] << 18) | (vals[k + 1] << 12) | (vals[k + 2] << 6) | vals[k + 3];
    out[o] = static_cast<unsigned char>(v >> 16);
    out[o + 1] = static_cast<unsigned char>(v >> 8);
    out[o + 2] = static_cast<unsigned char>(v);
  }
  uint32_t v = (vals[k] << 18) | (vals[k + 1] << 12) | (vals[k + 2] << 6);
  if (v & 0xff) return false;  // non-canonical: the unused low bits must be zero
  out[o] = static_cast<unsigned char>(v >> 16);
  out[o + 1] = static_cast<unsigned char>(v >> 8);
  return true;
}

}  // namespace

SidTokenKey sidTokenKey(std::string_view upstream_name, std::string_view secret) {
  std::string material = "tether sid token\n";
  material.append(upstream_name).push_back('\n');
  material.append(secret);
  SidTokenKey k{};
  SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), k.bytes);
  return k;
}

void sealSid(const SidTokenKey& key, std::string_view sid, uint64_t server_id, std::string& out) {
  unsigned char raw[kRawBytes];
  for (size_t i = 0; i < kIdBytes; ++i) raw[i] = static_cast<unsigned char>(server_id >> (8 * i));
  tagOf(key, sid, raw, raw + kIdBytes);
  char text[kTokenChars];
  encode(raw, text);
  out.append(sid).push_back('.');
  out.append(text, kTokenChars);
}

SidSeal openSid(const SidTokenKey& key, std::string_view client_sid, std::string_view& backend_sid, uint64_t& server_id) {
  backend_sid = client_sid;
  if (client_sid.size() <= kSidTokenSuffix || client_sid[client_sid.size() - kSidTokenSuffix] != '.') return SidSeal::None;
  unsigned char raw[kRawBytes];
  if (!decode(client_sid.substr(client_sid.size() - kTokenChars), raw)) return SidSeal::None;
  std::string_view sid = client_sid.substr(0, client_sid.size() - kSidTokenSuffix);
  unsigned char tag[kTagBytes];
  tagOf(key, sid, raw, tag);
  if (CRYPTO_memcmp(tag, raw + kIdBytes, kTagBytes) != 0) return SidSeal::Forged;
  uint64_t id = 0;
  for (size_t i = 0; i < kIdBytes; ++i) id |= uint64_t{raw[i]} << (8 * i);
  backend_sid = sid;
  server_id = id;
  return SidSeal::Valid;
}

}  // namespace proxy::lb
