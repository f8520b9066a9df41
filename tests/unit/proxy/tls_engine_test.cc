// TlsEngine (proxy/tls/tls_engine.h) with a client engine and a server engine wired together in
// memory: the handshake completes, plaintext arrives intact and in order, and writes are cut into
// as few TLS records as the record size allows (small buffers gathered, large ones split).
#include <doctest/doctest.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "proxy/tls/tls_engine.h"

using proxy::tls::TlsEngine;

namespace {

// A server context with a fresh self-signed P-256 certificate.
SSL_CTX* serverContext() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(ctx, cert);
  SSL_CTX_use_PrivateKey(ctx, key);
  X509_free(cert);
  EVP_PKEY_free(key);
  return ctx;
}

// Moves `from`'s pending ciphertext into `to`, appending its plaintext to `got`.
std::string pump(TlsEngine& from, TlsEngine& to, std::string& got) {
  std::string wire(from.pendingOutput());
  from.consumeOutput();
  static char scratch[65536];
  REQUIRE(to.feed(wire.data(), wire.size(), scratch, sizeof scratch, [&](const char* p, size_t n) {
    got.append(p, n);
    return true;
  }) == TlsEngine::Status::Ok);
  return wire;
}

// Application-data records (content type 23) in a ciphertext stream.
int appRecords(const std::string& wire) {
  int n = 0;
  for (size_t i = 0; i + 5 <= wire.size();) {
    size_t len = (static_cast<unsigned char>(wire[i + 3]) << 8) | static_cast<unsigned char>(wire[i + 4]);
    if (wire[i] == 23) ++n;
    i += 5 + len;
  }
  return n;
}

struct Pair {
  SSL_CTX* server_ctx = serverContext();
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  TlsEngine server{server_ctx};
  TlsEngine client{client_ctx, true};
  std::string at_server, at_client;

  Pair() {
    client.write(nullptr, 0);  // nothing yet: the handshake starts on the first feed
    static char scratch[65536];
    client.feed(nullptr, 0, scratch, sizeof scratch, [](const char*, size_t) { return true; });
    for (int i = 0; i < 6 && !(client.handshakeDone() && server.handshakeDone()); ++i) {
      pump(client, server, at_server);
      pump(server, client, at_client);
    }
    pump(client, server, at_server);
    // TLS 1.3 session tickets go out with the server's first write: send them on their way now,
    // so that the records the tests count are their own.
    uv_buf_t none = uv_buf_init(nullptr, 0);
    server.write(&none, 1);
    pump(server, client, at_client);
  }
  ~Pair() {
    SSL_CTX_free(server_ctx);
    SSL_CTX_free(client_ctx);
  }
};

}  // namespace

TEST_CASE("TLS engine: small buffers of one write share one record") {
  Pair p;
  REQUIRE(p.server.handshakeDone());
  REQUIRE(p.client.handshakeDone());
  std::vector<std::string> parts = {"HTTP/1.1 200 OK\r\n", "Content-Length: 5\r\n", "X-A: b\r\n", "\r\n", "hello"};
  std::vector<uv_buf_t> iov;
  std::string expect;
  for (auto& s : parts) {
    iov.push_back(uv_buf_init(s.data(), static_cast<unsigned>(s.size())));
    expect += s;
  }
  REQUIRE(p.server.write(iov.data(), static_cast<unsigned>(iov.size())) == TlsEngine::Status::Ok);
  p.at_client.clear();
  std::string wire = pump(p.server, p.client, p.at_client);
  CHECK(p.at_client == expect);
  CHECK(appRecords(wire) == 1);
}

TEST_CASE("TLS engine: large and small buffers keep their order in as few records as they need") {
  Pair p;
  REQUIRE(p.server.handshakeDone());
  std::string head(300, 'h'), big(40000, 'b'), tail(20000, 't');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  uv_buf_t iov[] = {uv_buf_init(head.data(), static_cast<unsigned>(head.size())),
                    uv_buf_init(big.data(), static_cast<unsigned>(big.size())),
                    uv_buf_init(tail.data(), 100), uv_buf_init(tail.data() + 100, static_cast<unsigned>(tail.size() - 100))};
  REQUIRE(p.server.write(iov, 4) == TlsEngine::Status::Ok);
  p.at_client.clear();
  std::string wire = pump(p.server, p.client, p.at_client);
  CHECK(p.at_client == head + big + tail);
  // 60,300 bytes in four iovecs fit in ceil(60300 / 16384) = 4 records.
  CHECK(appRecords(wire) == 4);
}

TEST_CASE("TLS engine: idle buffers given back, the connection goes on") {
  Pair p;
  REQUIRE(p.server.handshakeDone());
  std::string big(100000, 'x');  // past kRetainedOutput: the output buffer is given back
  uv_buf_t b = uv_buf_init(big.data(), static_cast<unsigned>(big.size()));
  REQUIRE(p.server.write(&b, 1) == TlsEngine::Status::Ok);
  p.at_client.clear();
  pump(p.server, p.client, p.at_client);
  CHECK(p.at_client == big);
  p.server.releaseIdleBuffers();
  p.client.releaseIdleBuffers();
  CHECK(p.server.pendingOutput().empty());
  std::string req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n", resp = "HTTP/1.1 204 No Content\r\n\r\n";
  uv_buf_t r = uv_buf_init(req.data(), static_cast<unsigned>(req.size()));
  REQUIRE(p.client.write(&r, 1) == TlsEngine::Status::Ok);
  p.at_server.clear();
  pump(p.client, p.server, p.at_server);
  CHECK(p.at_server == req);
  uv_buf_t s = uv_buf_init(resp.data(), static_cast<unsigned>(resp.size()));
  REQUIRE(p.server.write(&s, 1) == TlsEngine::Status::Ok);
  p.at_client.clear();
  pump(p.server, p.client, p.at_client);
  CHECK(p.at_client == resp);
}
