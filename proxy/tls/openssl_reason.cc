// opensslReason: see openssl_reason.h.
#include "proxy/tls/openssl_reason.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

namespace proxy::tls {

std::string opensslReason(const std::string& cert) {
  std::string plain, first;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    int lib = ERR_GET_LIB(e), reason = ERR_GET_REASON(e);
    if (plain.empty()) {
      if (lib == ERR_LIB_X509 && reason == X509_R_KEY_VALUES_MISMATCH) plain = "the key does not match the certificate '" + cert + "'";
      else if (lib == ERR_LIB_PEM && reason == PEM_R_NO_START_LINE) plain = "not a PEM file (no -----BEGIN line)";
      else if (lib == ERR_LIB_PEM && reason == PEM_R_BAD_END_LINE) plain = "a PEM block is cut short (bad -----END line)";
      else if (lib == ERR_LIB_SYS) plain = std::strerror(reason);
    }
    const char* r = ERR_reason_error_string(e);
    if (first.empty() && r) first = r;
  }
  if (!plain.empty()) return plain;
  return first.empty() ? "not a usable PEM file" : first;
}

}  // namespace proxy::tls
