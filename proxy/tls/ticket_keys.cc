// TicketKeys: see ticket_keys.h.
#include "proxy/tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cassert>
#include <chrono>
#include <cstring>
#include <map>

namespace proxy::tls {
namespace {

int exIndex() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

uint64_t unixMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

bool randomKey(TicketKeys::Key& k) { return RAND_bytes(reinterpret_cast<unsigned char*>(&k), sizeof k) == 1; }

int onTicketKey(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
  auto* ring = static_cast<TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), exIndex()));
  if (!ring) return enc ? -1 : 0;
  TicketKeys::Key k;
  int rc = 1;
  if (enc) {
    if (!ring->current(k)) return -1;
    std::memcpy(name, k.name, sizeof k.name);
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes, iv) != 1) return -1;
  } else {
    rc = ring->find(name, k);
    if (rc == 0) return 0;
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes, iv) != 1) return -1;
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof k.hmac),
                         OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  return rc;
}

}  // namespace

std::shared_ptr<TicketKeys> TicketKeys::fixed(const std::string& keys) {
  assert(!keys.empty() && keys.size() % kKeyBytes == 0);
  std::shared_ptr<TicketKeys> t(new TicketKeys());
  for (size_t off = 0; off + kKeyBytes <= keys.size(); off += kKeyBytes) {
    Key k;
    std::memcpy(k.name, keys.data() + off, 16);
    std::memcpy(k.hmac, keys.data() + off + 16, 32);
    std::memcpy(k.aes, keys.data() + off + 48, 32);
    t->keys_.push_back(k);
  }
  t->started_ = true;
  return t;
}

std::shared_ptr<TicketKeys> TicketKeys::process(uint64_t rotation_ms) {
  assert(rotation_ms > 0);
  static std::mutex mu;
  static std::map<uint64_t, std::shared_ptr<TicketKeys>> rings;  // for the life of the process
  std::lock_guard<std::mutex> lock(mu);
  auto& r = rings[rotation_ms];
  if (!r) {
    r.reset(new TicketKeys());
    r->rotation_ms_ = rotation_ms;
  }
  return r;
}

bool TicketKeys::install(SSL_CTX* ctx) {
  if (exIndex() < 0 || SSL_CTX_set_ex_data(ctx, exIndex(), this) != 1) return false;
  return SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &onTicketKey) == 1;
}

// Rotation N covers [N x rotation, (N+1) x rotation). One step keeps the previous key; a longer
// gap (no ticket work for two rotations or more) leaves only the new key.
void TicketKeys::rotate(uint64_t now_ms) {
  if (rotation_ms_ == 0) return;
  uint64_t epoch = now_ms / rotation_ms_;
  if (started_ && epoch <= epoch_) return;
  Key k;
  if (!randomKey(k)) return;  // keep the current key rather than have none
  if (started_ && epoch == epoch_ + 1 && !keys_.empty()) {
    if (keys_.size() < 2) keys_.push_back(keys_[0]);
    keys_[1] = keys_[0];
    keys_[0] = k;
  } else {
    keys_.assign(1, k);
  }
  epoch_ = epoch;
  started_ = true;
}

bool TicketKeys::currentAt(Key& out, uint64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  rotate(now_ms);
  if (keys_.empty()) return false;
  out = keys_[0];
  return true;
}

int TicketKeys::findAt(const unsigned char* name, Key& out, uint64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  rotate(now_ms);
  for (size_t i = 0; i < keys_.size(); ++i)
    if (std::memcmp(keys_[i].name, name, sizeof keys_[i].name) == 0) {
      out = keys_[i];
      return i == 0 ? 1 : 2;
    }
  return 0;
}

bool TicketKeys::current(Key& out) { return currentAt(out, unixMs()); }
int TicketKeys::find(const unsigned char* name, Key& out) { return findAt(name, out, unixMs()); }

}  // namespace proxy::tls
