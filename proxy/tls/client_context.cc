// ClientContext: see client_context.h.
#include "proxy/tls/client_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proxy/tls/openssl_reason.h"

namespace proxy::tls {
namespace {

// The server's IP address as text, for checking an IP-literal server's certificate.
std::string ipOf(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, text, sizeof text);
  else if (ss.ss_family == AF_INET6) inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, text, sizeof text);
  return text;
}

}  // namespace

std::shared_ptr<const ClientContext> ClientContext::create(const config::UpstreamTlsConfig& cfg, std::string& error) {
  std::shared_ptr<ClientContext> c(new ClientContext());
  c->sni_ = cfg.sni;
  c->verify_ = cfg.verify;
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (!c->ctx_) {
    error = cfg.at + ": cannot create a TLS context: " + opensslReason("");
    return nullptr;
  }
  SSL_CTX* ctx = c->ctx_;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);  // pooled idle connections give their buffers back
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (cfg.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (!cfg.ca.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, cfg.ca.c_str(), nullptr) != 1) {
        error = cfg.ca_at + ": tls.ca '" + cfg.ca + "': " + opensslReason(cfg.ca);
        return nullptr;
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      error = cfg.at + ": tls: cannot load the system's CA certificates: " + opensslReason("");
      return nullptr;
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!cfg.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg.cert.c_str()) != 1) {
      error = cfg.cert_at + ": tls.cert '" + cfg.cert + "': " + opensslReason(cfg.cert);
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      error = cfg.key_at + ": tls.key '" + cfg.key + "': " + opensslReason(cfg.cert);
      return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      error = cfg.key_at + ": tls.key '" + cfg.key + "': the key does not match the certificate '" + cfg.cert + "'";
      return nullptr;
    }
  }
  return c;
}

ClientContext::~ClientContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

std::unique_ptr<TlsEngine> ClientContext::newEngine(const config::ServerConfig& server, SSL_SESSION* session) const {
  auto e = std::make_unique<TlsEngine>(ctx_, true);
  if (!e->ok()) return nullptr;
  SSL* ssl = e->native();
  const std::string& name = serverName(server);
  bool ok = true;
  if (!name.empty()) ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;
  if (ok && verify_) {
    if (!name.empty()) ok = SSL_set1_host(ssl, name.c_str()) == 1;
    else ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ipOf(server.sockaddr).c_str()) == 1;
  }
  if (ok && session) ok = SSL_set_session(ssl, session) == 1;
  ERR_clear_error();
  return ok ? std::move(e) : nullptr;
}

}  // namespace proxy::tls
