// A listener's TLS configuration as OpenSSL contexts: the default certificate, extra certificates
// chosen by SNI, the minimum protocol version and ALPN (h2 then http/1.1 on listeners with http2, else http/1.1).
// Built at start-up (and on reload); connections only borrow the SSL_CTX.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/tls/cert_expiry.h"

namespace proxy::tls {

class TlsContext {
 public:
  // Returns nullptr on failure with "FILE:LINE:COL: private key 'PATH': REASON", the position
  // being the config key's (TlsConfig::cert_at / key_at) and the reason in plain words.
  // `http2`: ALPN selects h2 when the client offers it.
  static std::unique_ptr<TlsContext> create(const config::TlsConfig& cfg, bool http2, std::string& error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return default_; }
  // Every certificate (the default, then the SNI ones): file and notAfter; listener left empty.
  const std::vector<CertExpiry>& certs() const { return certs_; }

 private:
  TlsContext() = default;
  static int onServerName(SSL* ssl, int* alert, void* arg);
  static int onAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen, void* arg);

  struct SniEntry {
    std::vector<std::string> names;  // lower-case; "*.example.com" allowed
    SSL_CTX* ctx;
  };
  SSL_CTX* default_ = nullptr;
  std::vector<SniEntry> sni_;
  std::vector<CertExpiry> certs_;
};

}  // namespace proxy::tls
