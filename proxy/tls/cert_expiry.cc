// Certificate expiry helpers; see cert_expiry.h.
#include "proxy/tls/cert_expiry.h"

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <cstdio>
#include <ctime>
#include <string>

namespace proxy::tls {

bool notAfterOf(SSL_CTX* ctx, int64_t& out) {
  X509* leaf = ctx ? SSL_CTX_get0_certificate(ctx) : nullptr;
  const ASN1_TIME* t = leaf ? X509_get0_notAfter(leaf) : nullptr;
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  out = static_cast<int64_t>(timegm(&tm));
  return true;
}

std::string isoUtc(int64_t unixSeconds) {
  std::time_t t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string describeExpiry(const CertExpiry& c, int64_t now, bool& soon) {
  int64_t left = c.not_after - now;
  soon = left < kExpiryWarnSeconds;
  std::string out = "listener " + c.listener + ": certificate " + c.cert;
  char when[64];
  auto span = [](int64_t s) {
    long long n = s >= 86400 ? s / 86400 : s / 3600;
    const char* unit = s >= 86400 ? "day" : "hour";
    return std::to_string(n) + " " + unit + (n == 1 ? "" : "s");
  };
  if (left <= 0) {
    std::snprintf(when, sizeof when, " (%s ago)", span(-left).c_str());
    return out + " expired " + isoUtc(c.not_after) + when;
  }
  std::snprintf(when, sizeof when, " (in %s)", span(left).c_str());
  return out + " expires " + isoUtc(c.not_after) + when;
}

}  // namespace proxy::tls
