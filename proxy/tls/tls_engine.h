// TLS for one connection as a pure byte transformer: OpenSSL over two memory BIOs, no sockets.
//
// The session hands it ciphertext read from the network (feed) and receives plaintext through a
// callback; plaintext to send goes in with write() and comes out as ciphertext in
// pendingOutput(), which the session writes to the socket like any other bytes (so backpressure
// and try_write work unchanged). Handshake messages, alerts and tickets also appear in
// pendingOutput(). Because nothing here touches a socket, a client engine and a server engine can
// be wired together in a unit test.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace proxy::tls {

class TlsContext;

class TlsEngine {
 public:
  enum class Status { Ok, Closed, Error };

  // Server side unless `client` is true (client mode: upstream connections and health probes,
  // set up by ClientContext::newEngine, and tests).
  explicit TlsEngine(SSL_CTX* ctx, bool client = false);
  // A listener's server side. The engine keeps `ctx` alive: its SNI callback reads the context's
  // table during a handshake that may end after a reload has replaced the listener's context.
  explicit TlsEngine(std::shared_ptr<const TlsContext> ctx);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  bool ok() const { return ssl_ != nullptr; }

  // Consumes ciphertext; calls sink(const char*, size_t) with each piece of plaintext, decrypted
  // into `scratch` (valid during the call only). Stops early when sink returns false.
  template <typename Sink>
  Status feed(const char* data, size_t len, char* scratch, size_t scratch_len, Sink&& sink) {
    if (len && BIO_write(rbio_, data, static_cast<int>(len)) != static_cast<int>(len)) return Status::Error;
    if (!handshake_done_) {
      Status s = handshake();
      if (s != Status::Ok || !handshake_done_) return s;
    }
    for (;;) {
      int n = SSL_read(ssl_, scratch, static_cast<int>(scratch_len));
      if (n > 0) {
        if (!sink(static_cast<const char*>(scratch), static_cast<size_t>(n))) return Status::Ok;
        continue;
      }
      return readError(n);
    }
  }

  // Encrypts plaintext into pendingOutput(), gathering small buffers into full records.
  Status write(const uv_buf_t* bufs, unsigned n);
  // The largest TLS record's plaintext (RFC 8446 5.1).
  static constexpr size_t kRecordSize = 16384;

  // Ciphertext waiting to be sent; call consumeOutput() once it has been written or copied.
  std::string_view pendingOutput() const;
  // Empties the output; a buffer grown past kRetainedOutput (a large body) is given back.
  void consumeOutput();
  // When the connection goes idle (between requests, after the handshake, an HTTP/2 connection
  // without streams): gives back the memory BIOs' buffers and OpenSSL's record buffers (unless
  // they hold data), so an idle connection holds only OpenSSL's session state.
  void releaseIdleBuffers();
  static constexpr size_t kRetainedOutput = 32 * 1024;

  bool handshakeDone() const { return handshake_done_; }
  // After the handshake: whether it resumed a session, and the protocol version (TLS1_2_VERSION...).
  bool resumed() const { return SSL_session_reused(ssl_) == 1; }
  int version() const { return SSL_version(ssl_); }
  // ALPN chose h2 in the handshake.
  bool alpnH2() const {
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(ssl_, &p, &n);
    return n == 2 && p[0] == 'h' && p[1] == '2';
  }
  // Queues a close_notify alert into pendingOutput().
  void shutdown();
  // The server name the client asked for (SNI), or "".
  std::string_view serverName() const;
  const char* lastError() const { return error_; }
  // The verified client certificate's subject (RFC 2253), "" without one.
  const std::string& clientSubject() const { return client_subject_; }
  // The handshake failed on the peer's certificate: the client's (none sent, or it did not
  // verify) on a server engine, the server's on a client engine. lastError() says why.
  bool clientCertFailed() const { return client_cert_failed_; }
  // Client mode: a session to resume on a later connection, each time the server has made a new
  // one resumable (TLS 1.2: at the handshake; TLS 1.3: with each ticket it sends after the
  // handshake). Returns a new reference the caller frees, or nullptr when nothing is new.
  SSL_SESSION* takeResumableSession();
  // The OpenSSL object, for setting up a client engine (ClientContext::newEngine).
  SSL* native() { return ssl_; }

 private:
  Status handshake();
  Status readError(int rc);

  std::shared_ptr<const TlsContext> context_;  // null for engines built on a bare SSL_CTX
  SSL* ssl_ = nullptr;
  BIO* rbio_ = nullptr;  // network -> engine
  BIO* wbio_ = nullptr;  // engine -> network
  bool handshake_done_ = false;
  bool client_ = false;
  bool client_cert_failed_ = false;
  const SSL_SESSION* last_session_ = nullptr;  // the last one takeResumableSession returned
  const char* error_ = "";
  std::string client_subject_;
};

}  // namespace proxy::tls
