// TLS towards an upstream's servers (`upstreams.NAME.tls`): one OpenSSL client context per
// upstream and configuration, built when the file is loaded (start, reload) and shared by every
// worker's connections and by the health probes.
//
// The context holds the trusted CAs (`ca`, or the system's), whether certificates are verified,
// and the optional client certificate. newEngine() makes a client TlsEngine for one server:
// it sends the server name (SNI) and, with `verify`, checks the certificate against it — the
// upstream's `sni`, else the host name the server was written with, else (an IP literal) the
// server's IP address. A certificate that does not verify fails the handshake; the connection
// never goes on in plaintext.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "proxy/config/config.h"
#include "proxy/tls/tls_engine.h"

namespace proxy::tls {

class ClientContext {
 public:
  // nullptr on failure with "FILE:LINE:COL: tls.ca 'PATH': REASON" (the key's position).
  static std::shared_ptr<const ClientContext> create(const config::UpstreamTlsConfig& cfg, std::string& error);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // A client engine for `server`, resuming `session` when given (not consumed: the engine takes
  // its own reference). nullptr when OpenSSL cannot make one.
  std::unique_ptr<TlsEngine> newEngine(const config::ServerConfig& server, SSL_SESSION* session) const;
  // The name sent as SNI and verified for `server`; "" for an IP literal without `sni`.
  const std::string& serverName(const config::ServerConfig& server) const { return sni_.empty() ? server.hostname : sni_; }

 private:
  ClientContext() = default;

  SSL_CTX* ctx_ = nullptr;
  std::string sni_;
  bool verify_ = true;
};

}  // namespace proxy::tls
