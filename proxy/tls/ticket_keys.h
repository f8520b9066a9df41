// Session ticket keys: which key encrypts new tickets and which keys still decrypt old ones.
// Installed on a listener's contexts as OpenSSL's ticket key callback (TLS 1.2 tickets and TLS
// 1.3 PSK tickets alike: AES-256-CBC with HMAC-SHA256, the key picked by its 16-byte name).
//
// Two sources:
// - the process's own keys (process(rotation)): a new random key every `rotation`, on a clock
//   shared with every listener that has the same rotation; a ticket is accepted under the current
//   key and the one before it (then re-issued under the current one), so it resumes for at least
//   one rotation and at most two. Epochs count from the Unix epoch: rotation N starts at
//   N x rotation. The ring lives for the process, so reloads keep it.
// - a file of 80-byte keys (fixed(keys)), shared by replicas: the first key encrypts, every key
//   decrypts (a ticket under a later one is re-issued under the first). The operator rotates by
//   putting a new key first and reloading.
//
// The callback runs in the worker threads; the ring's state is behind a mutex, taken once per
// ticket issued or presented (never for a handshake without tickets).
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace proxy::tls {

class TicketKeys {
 public:
  static constexpr size_t kKeyBytes = 80;  // name 16, HMAC secret 32, AES key 32

  // `keys`: a multiple of kKeyBytes (at least one key).
  static std::shared_ptr<TicketKeys> fixed(const std::string& keys);
  // The process's ring for `rotation_ms` (> 0), made on first use and kept.
  static std::shared_ptr<TicketKeys> process(uint64_t rotation_ms);

  // Makes `ctx` issue and accept tickets with these keys; the caller keeps this object alive
  // as long as `ctx` is used.
  bool install(SSL_CTX* ctx);

  struct Key {
    unsigned char name[16], hmac[32], aes[32];
  };
  // The key that encrypts now (rotating first if its time has come); false when there is none
  // (the random generator failed on first use: no ticket is issued).
  bool current(Key& out);
  // The key named `name`: 1 when it is the current one, 2 when an older one that still decrypts
  // (the ticket is then renewed), 0 when none (the client gets a full handshake).
  int find(const unsigned char* name, Key& out);
  // For tests: the ring as at `now_ms` (Unix milliseconds) instead of the clock.
  bool currentAt(Key& out, uint64_t now_ms);
  int findAt(const unsigned char* name, Key& out, uint64_t now_ms);

 private:
  TicketKeys() = default;
  void rotate(uint64_t now_ms);  // mu_ held

  std::mutex mu_;
  std::vector<Key> keys_;      // [0] encrypts
  uint64_t rotation_ms_ = 0;   // 0: fixed keys
  uint64_t epoch_ = 0;         // rotation number of keys_[0]
  bool started_ = false;
};

}  // namespace proxy::tls
