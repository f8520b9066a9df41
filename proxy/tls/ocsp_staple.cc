// OCSP stapling: see ocsp_staple.h.
#include "proxy/tls/ocsp_staple.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "proxy/tls/cert_expiry.h"

namespace proxy::tls {
namespace {

bool readFile(const std::string& path, std::string& out, std::string& problem) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    problem = std::strerror(errno);
    return false;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() < (1u << 20)) out.append(buf, n);
  std::fclose(f);
  if (out.empty()) problem = "the file is empty";
  return !out.empty();
}

// The issuer of `leaf` among `ctx`'s chain certificates, or nullptr.
X509* issuerOf(SSL_CTX* ctx, X509* leaf) {
  STACK_OF(X509)* chain = nullptr;
  if (SSL_CTX_get0_chain_certs(ctx, &chain) != 1 || !chain) return nullptr;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (X509_check_issued(c, leaf) == X509_V_OK) return c;
  }
  return nullptr;
}

bool unixTime(const ASN1_GENERALIZEDTIME* t, int64_t& out) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  out = static_cast<int64_t>(timegm(&tm));
  return true;
}

// Checks the parsed response; false with `problem` set.
bool check(SSL_CTX* ctx, OCSP_RESPONSE* resp, OcspStaple& out, std::string& problem) {
  if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    problem = std::string("the responder answered '") + OCSP_response_status_str(OCSP_response_status(resp)) + "'";
    return false;
  }
  OCSP_BASICRESP* basic = OCSP_response_get1_basic(resp);
  if (!basic) {
    problem = "no basic response in it";
    return false;
  }
  bool ok = false;
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  X509* issuer = leaf ? issuerOf(ctx, leaf) : nullptr;
  OCSP_CERTID* id = issuer ? OCSP_cert_to_id(nullptr, leaf, issuer) : nullptr;
  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *rev = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (!issuer) {
    problem = "the certificate's issuer is not in the certificate file (the chain is needed to match the response)";
  } else if (!id) {
    problem = "cannot compute the certificate's id";
  } else if (OCSP_resp_find_status(basic, id, &status, &reason, &rev, &this_update, &next_update) != 1) {
    problem = "not for this certificate";
  } else if (status != V_OCSP_CERTSTATUS_GOOD) {
    problem = std::string("the certificate's status is '") + OCSP_cert_status_str(status) + "'";
  } else if (OCSP_check_validity(this_update, next_update, 300, -1) != 1) {
    int64_t nu = 0;
    problem = next_update && unixTime(next_update, nu) && nu < static_cast<int64_t>(std::time(nullptr))
                  ? "stale: nextUpdate " + isoUtc(nu) + " has passed"
                  : "its thisUpdate/nextUpdate times are not valid now";
  } else {
    out.next_update = 0;
    if (next_update && !unixTime(next_update, out.next_update)) problem = "unreadable nextUpdate";
    else ok = true;
  }
  OCSP_CERTID_free(id);
  OCSP_BASICRESP_free(basic);
  return ok;
}

int onStatus(SSL* ssl, void* arg) {
  const auto* staple = static_cast<const OcspStaple*>(arg);
  if (!staple || staple->der.empty()) return SSL_TLSEXT_ERR_NOACK;
  if (staple->next_update && staple->next_update < static_cast<int64_t>(std::time(nullptr))) return SSL_TLSEXT_ERR_NOACK;
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(staple->der.size()));  // OpenSSL frees it
  if (!copy) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, staple->der.data(), staple->der.size());
  if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(staple->der.size())) != 1) {
    OPENSSL_free(copy);
    return SSL_TLSEXT_ERR_NOACK;
  }
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

bool loadOcspStaple(SSL_CTX* ctx, const std::string& file, OcspStaple& out, std::string& problem) {
  std::string der;
  if (!readFile(file, der, problem)) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OCSP_RESPONSE* resp = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()));
  ERR_clear_error();
  if (!resp) {
    problem = "not a DER OCSP response";
    return false;
  }
  bool ok = check(ctx, resp, out, problem);
  OCSP_RESPONSE_free(resp);
  ERR_clear_error();
  if (ok) out.der = std::move(der);
  return ok;
}

void enableStapling(SSL_CTX* ctx, const OcspStaple* staple) {
  SSL_CTX_set_tlsext_status_cb(ctx, &onStatus);
  SSL_CTX_set_tlsext_status_arg(ctx, const_cast<OcspStaple*>(staple));
}

}  // namespace proxy::tls
