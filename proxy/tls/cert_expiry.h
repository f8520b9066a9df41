// Certificate expiry: when each TLS listener's certificates stop being valid. Read from the
// contexts main builds at start and on reload; reported as tether_tls_cert_not_after_seconds on
// /metrics, as a warning at start and on every reload when a certificate is expired or expires
// within kExpiryWarnSeconds, and by `tether -t`.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <vector>

namespace proxy::tls {

inline constexpr int64_t kExpiryWarnSeconds = 14 * 86400;

struct CertExpiry {
  std::string listener;
  std::string cert;        // the certificate file, as configured
  int64_t not_after = 0;   // seconds since the Unix epoch (UTC)
};

// The leaf certificate's notAfter in Unix seconds; false when the context has none or the
// time does not parse.
bool notAfterOf(SSL_CTX* ctx, int64_t& out);

// "2027-01-02T03:04:05Z"
std::string isoUtc(int64_t unixSeconds);

// One line for operators: "listener L: certificate FILE expires 2027-...Z (in 29 days)", or
// "... expired ... (3 days ago)". `soon` is true when it is expired or within the warning window.
std::string describeExpiry(const CertExpiry& c, int64_t now, bool& soon);

}  // namespace proxy::tls
