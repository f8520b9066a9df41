// TlsContext: see tls_context.h.
#include "proxy/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstring>

#include "proxy/http/message_head.h"
#include "proxy/tls/openssl_reason.h"

namespace proxy::tls {
namespace {

// `at` is the certificate's or key's config position ("FILE:LINE:COL"), leading each message.
SSL_CTX* newContext(const std::string& cert, const std::string& cert_at, const std::string& key, const std::string& key_at,
                    int min_version, std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) {
    error = cert_at + ": cannot create a TLS context: " + opensslReason(cert);
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, min_version);
  // No SSL_MODE_RELEASE_BUFFERS: that frees and reallocates the record buffers around every
  // record, which a busy HTTP/2 connection pays many times per request. TlsEngine::
  // releaseIdleBuffers gives them back once a connection goes idle instead.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    error = cert_at + ": certificate '" + cert + "': " + opensslReason(cert);
  } else if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = key_at + ": private key '" + key + "': " + opensslReason(cert);
  } else if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    error = key_at + ": private key '" + key + "': the key does not match the certificate '" + cert + "'";
  } else {
    return ctx;
  }
  SSL_CTX_free(ctx);
  return nullptr;
}

// Asks clients for a certificate signed by one of `cfg.client_ca`'s CAs.
bool requireClientCerts(SSL_CTX* ctx, const config::TlsConfig& cfg, std::string& error) {
  if (cfg.client_ca.empty()) return true;
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(cfg.client_ca.c_str());
  if (!names || SSL_CTX_load_verify_locations(ctx, cfg.client_ca.c_str(), nullptr) != 1) {
    if (names) sk_X509_NAME_pop_free(names, X509_NAME_free);
    error = cfg.client_ca_at + ": tls.client_ca '" + cfg.client_ca + "': " + opensslReason(cfg.client_ca);
    return false;
  }
  SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (cfg.verify_client_required ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), nullptr);
  // Resumed sessions of verified clients: OpenSSL refuses them without a session id context.
  static const unsigned char kSidCtx[] = "tether";
  SSL_CTX_set_session_id_context(ctx, kSidCtx, sizeof kSidCtx - 1);
  return true;
}

bool nameMatches(const std::string& pattern, std::string_view host) {
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    std::string_view suffix = std::string_view(pattern).substr(1);
    return host.size() > suffix.size() && http::equalsIgnoreCase(host.substr(host.size() - suffix.size()), suffix);
  }
  return http::equalsIgnoreCase(pattern, host);
}

// The ALPN callback's argument on listeners with http2 (its address is the flag).
int kOfferH2 = 1;

}  // namespace

std::unique_ptr<TlsContext> TlsContext::create(const config::TlsConfig& cfg, bool http2, std::string& error) {
  std::unique_ptr<TlsContext> t(new TlsContext());
  int min_version = cfg.min_version == "TLSv1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  t->default_ = newContext(cfg.cert, cfg.cert_at, cfg.key, cfg.key_at, min_version, error);
  if (!t->default_) return nullptr;
  t->tickets_ = cfg.session_ticket_keys.empty() ? TicketKeys::process(static_cast<uint64_t>(cfg.session_ticket_rotation.count()))
                                                : TicketKeys::fixed(cfg.session_ticket_keys);
  if (!t->tickets_->install(t->default_)) {
    error = cfg.cert_at + ": cannot set the session ticket keys: " + opensslReason(cfg.cert);
    return nullptr;
  }
  if (!requireClientCerts(t->default_, cfg, error)) return nullptr;
  auto note = [&t](SSL_CTX* ctx, const std::string& file) {
    CertExpiry c;
    c.cert = file;
    if (notAfterOf(ctx, c.not_after)) t->certs_.push_back(std::move(c));
    // The certificate's SHA-256 (its key matches it: checked by newContext).
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509* x = SSL_CTX_get0_certificate(ctx); x && X509_digest(x, EVP_sha256(), md, &len) == 1)
      t->identity_.append(reinterpret_cast<const char*>(md), len);
    else
      t->identity_.append(file).push_back('\0');
  };
  note(t->default_, cfg.cert);
  if (!cfg.ocsp.empty()) t->staple(t->default_, cfg.cert, cfg.ocsp);
  for (const auto& s : cfg.sni) {
    SSL_CTX* ctx = newContext(s.cert, s.cert_at, s.key, s.key_at, min_version, error);
    if (!ctx) return nullptr;
    if (!t->tickets_->install(ctx)) {
      SSL_CTX_free(ctx);
      error = s.cert_at + ": cannot set the session ticket keys: " + opensslReason(s.cert);
      return nullptr;
    }
    if (!requireClientCerts(ctx, cfg, error)) {
      SSL_CTX_free(ctx);
      return nullptr;
    }
    note(ctx, s.cert);
    if (!s.ocsp.empty()) t->staple(ctx, s.cert, s.ocsp);
    SSL_CTX_set_alpn_select_cb(ctx, &TlsContext::onAlpn, http2 ? &kOfferH2 : nullptr);
    for (const std::string& n : s.names) t->identity_.append(n).push_back('\0');
    t->sni_.push_back({s.names, ctx});
  }
  SSL_CTX_set_alpn_select_cb(t->default_, &TlsContext::onAlpn, http2 ? &kOfferH2 : nullptr);
  if (!t->sni_.empty()) {
    SSL_CTX_set_tlsext_servername_callback(t->default_, &TlsContext::onServerName);
    SSL_CTX_set_tlsext_servername_arg(t->default_, t.get());
  }
  return t;
}

void TlsContext::staple(SSL_CTX* ctx, const std::string& cert, const std::string& file) {
  auto st = std::make_unique<OcspStaple>();
  std::string problem;
  if (!loadOcspStaple(ctx, file, *st, problem)) {
    ocsp_skipped_.push_back({cert, file, problem});
    return;
  }
  enableStapling(ctx, st.get());
  staples_.push_back(std::move(st));
}

TlsContext::~TlsContext() {
  for (auto& s : sni_) SSL_CTX_free(s.ctx);
  if (default_) SSL_CTX_free(default_);
}

int TlsContext::onServerName(SSL* ssl, int*, void* arg) {
  auto* self = static_cast<TlsContext*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  for (const auto& s : self->sni_)
    for (const auto& n : s.names)
      if (nameMatches(n, name)) {
        SSL_set_SSL_CTX(ssl, s.ctx);
        return SSL_TLSEXT_ERR_OK;
      }
  return SSL_TLSEXT_ERR_OK;
}

// ALPN: h2 when the listener has http2 and the client offers it (whatever the client's order),
// else http/1.1; a client offering neither gets no ALPN (and falls back to HTTP/1.1).
int TlsContext::onAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen, void* arg) {
  static const unsigned char kHttp11[] = "http/1.1";
  static const unsigned char kH2[] = "h2";
  const unsigned char* http11 = nullptr;
  for (unsigned i = 0; i < inlen;) {
    unsigned len = in[i];
    if (i + 1 + len > inlen) break;
    if (arg && len == 2 && std::memcmp(in + i + 1, kH2, 2) == 0) {
      *out = in + i + 1;
      *outlen = 2;
      return SSL_TLSEXT_ERR_OK;
    }
    if (len == 8 && std::memcmp(in + i + 1, kHttp11, 8) == 0 && !http11) http11 = in + i + 1;
    i += 1 + len;
  }
  if (!http11) return SSL_TLSEXT_ERR_NOACK;
  *out = http11;
  *outlen = 8;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace proxy::tls
