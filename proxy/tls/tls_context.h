// A listener's TLS configuration as OpenSSL contexts: the default certificate, extra certificates
// chosen by SNI, the minimum protocol version, ALPN (h2 then http/1.1 on listeners with http2,
// else http/1.1), OCSP staples (ocsp_staple.h) and the session ticket keys (ticket_keys.h). Built
// at start-up (and on reload); connections only borrow the SSL_CTX.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/tls/cert_expiry.h"
#include "proxy/tls/ocsp_staple.h"
#include "proxy/tls/ticket_keys.h"

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
  // What clients are shown: the SHA-256 of every certificate and the SNI names; equal for two
  // contexts built from the same certificates, whatever their files are called.
  const std::string& identity() const { return identity_; }
  // Configured OCSP responses that are not stapled, and why (the caller warns).
  struct OcspSkipped {
    std::string cert, file, problem;
  };
  const std::vector<OcspSkipped>& ocspSkipped() const { return ocsp_skipped_; }

 private:
  TlsContext() = default;
  static int onServerName(SSL* ssl, int* alert, void* arg);
  void staple(SSL_CTX* ctx, const std::string& cert, const std::string& file);
  static int onAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen, void* arg);

  struct SniEntry {
    std::vector<std::string> names;  // lower-case; "*.example.com" allowed
    SSL_CTX* ctx;
  };
  SSL_CTX* default_ = nullptr;
  std::string identity_;
  std::vector<SniEntry> sni_;
  std::vector<CertExpiry> certs_;
  std::shared_ptr<TicketKeys> tickets_;  // every context's ticket callback reads it
  std::vector<std::unique_ptr<OcspStaple>> staples_;  // the contexts' status callbacks point here
  std::vector<OcspSkipped> ocsp_skipped_;
};

}  // namespace proxy::tls
