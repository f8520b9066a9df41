// OCSP stapling for one certificate (`ocsp: FILE` next to a listener's `cert`, or an SNI entry's):
// the DER OCSP response an operator's job fetches (`openssl ocsp -respout FILE`), checked when
// the contexts are built (start, reload) and sent to clients that ask for it (status_request).
//
// A response is used only if it parses, is a successful response, holds a `good` status for
// exactly this certificate (its serial and issuer, found in the configured chain) and its
// nextUpdate has not passed. Otherwise it is skipped with the reason (the caller warns): the
// certificate is then served without a staple, never with a wrong one. At handshake time a
// response whose nextUpdate has passed since loading is not stapled either. The response's
// signature is the client's to check.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <string>

namespace proxy::tls {

struct OcspStaple {
  std::string der;             // the response as read from the file
  int64_t next_update = 0;     // Unix seconds; 0: the response has none (always current)
};

// Reads `file` and checks it against `ctx`'s certificate and chain. False with `problem` set
// ("nextUpdate 2026-...Z has passed", "not for this certificate", ...) when it cannot be used.
bool loadOcspStaple(SSL_CTX* ctx, const std::string& file, OcspStaple& out, std::string& problem);

// Staples `staple` (which must outlive `ctx`) for clients that ask.
void enableStapling(SSL_CTX* ctx, const OcspStaple* staple);

}  // namespace proxy::tls
