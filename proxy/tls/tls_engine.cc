// TlsEngine: see tls_engine.h.
#include "proxy/tls/tls_engine.h"

#include "proxy/tls/tls_context.h"

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cassert>
#include <cstring>

namespace proxy::tls {

TlsEngine::TlsEngine(std::shared_ptr<const TlsContext> ctx) : TlsEngine(ctx->get(), false) { context_ = std::move(ctx); }

TlsEngine::TlsEngine(SSL_CTX* ctx, bool client) {
  ssl_ = SSL_new(ctx);
  if (!ssl_) return;
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (!rbio_ || !wbio_) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_mem_eof_return(rbio_, -1);  // "no data yet", not EOF
  SSL_set_bio(ssl_, rbio_, wbio_);   // the SSL object owns both BIOs now
  client_ = client;
  if (client) SSL_set_connect_state(ssl_);
  else SSL_set_accept_state(ssl_);
}

TlsEngine::~TlsEngine() {
  if (!ssl_) return;
  // A client's session stays resumable after a connection that ends without close_notify (an
  // idle keep-alive connection closed, a response delimited by the close): OpenSSL would
  // otherwise mark it not resumable when the SSL object goes.
  if (client_ && handshake_done_) SSL_set_shutdown(ssl_, SSL_get_shutdown(ssl_) | SSL_SENT_SHUTDOWN);
  SSL_free(ssl_);
}

TlsEngine::Status TlsEngine::handshake() {
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshake_done_ = true;
    if (X509* peer = SSL_get_peer_certificate(ssl_)) {  // only verified ones get this far
      if (BIO* b = BIO_new(BIO_s_mem())) {
        if (X509_NAME_print_ex(b, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) >= 0) {
          char* p = nullptr;
          long n = BIO_get_mem_data(b, &p);
          if (n > 0 && p) client_subject_.assign(p, static_cast<size_t>(n));
        }
        BIO_free(b);
      }
      X509_free(peer);
    }
    return Status::Ok;
  }
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Status::Ok;
  unsigned long e = ERR_get_error();
  int reason = e ? ERR_GET_REASON(e) : 0;
  error_ = e ? ERR_reason_error_string(e) : "handshake failed";
  if (!error_) error_ = "handshake failed";
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    client_cert_failed_ = true;
    error_ = X509_verify_cert_error_string(verify);  // the certificate's problem, in words
  } else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    client_cert_failed_ = true;
    error_ = "no client certificate";
  }
  ERR_clear_error();
  return Status::Error;
}

TlsEngine::Status TlsEngine::readError(int rc) {
  int err = SSL_get_error(ssl_, rc);
  switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: return Status::Ok;
    case SSL_ERROR_ZERO_RETURN: return Status::Closed;  // close_notify
    default: {
      unsigned long e = ERR_get_error();
      error_ = e && ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "read failed";
      ERR_clear_error();
      return Status::Error;
    }
  }
}

// As few TLS records as the bytes need: a response is many small iovecs (head pieces, body), and
// every record costs a cipher setup and 22 bytes on the wire, so the buffers are gathered into a
// record-sized staging buffer and each full record goes out with one SSL_write. Whole records of
// a large buffer are handed to SSL_write in place (no copy) when nothing is staged. Memory BIOs
// never push back, so each SSL_write takes everything at once.
TlsEngine::Status TlsEngine::write(const uv_buf_t* bufs, unsigned n) {
  static thread_local char staging[kRecordSize];
  size_t staged = 0;
  auto put = [this](const char* p, size_t len) {
    if (SSL_write(ssl_, p, static_cast<int>(len)) > 0) return true;
    error_ = "write failed";
    ERR_clear_error();
    return false;
  };
  for (unsigned i = 0; i < n; ++i) {
    const char* p = bufs[i].base;
    size_t len = bufs[i].len;
    while (len > 0) {
      if (staged == 0 && len >= kRecordSize) {
        size_t whole = len - len % kRecordSize;
        if (!put(p, whole)) return Status::Error;
        p += whole;
        len -= whole;
        continue;
      }
      size_t take = std::min(len, kRecordSize - staged);
      std::memcpy(staging + staged, p, take);
      staged += take;
      p += take;
      len -= take;
      if (staged == kRecordSize) {
        if (!put(staging, staged)) return Status::Error;
        staged = 0;
      }
    }
  }
  assert(staged < kRecordSize);
  if (staged && !put(staging, staged)) return Status::Error;
  return Status::Ok;
}

std::string_view TlsEngine::pendingOutput() const {
  char* data = nullptr;
  long len = BIO_get_mem_data(wbio_, &data);
  return len > 0 ? std::string_view(data, static_cast<size_t>(len)) : std::string_view();
}

namespace {

// A memory BIO keeps the capacity of its largest content after a reset. Gives it back when the
// BIO is empty and holds more than `keep` bytes; BIO_set_mem_buf frees the old buffer.
void shrinkIfEmpty(BIO* bio, size_t keep) {
  BUF_MEM* bm = nullptr;
  BIO_get_mem_ptr(bio, &bm);
  if (!bm || bm->length != 0 || bm->max <= keep) return;
  if (BUF_MEM* fresh = BUF_MEM_new()) BIO_set_mem_buf(bio, fresh, BIO_CLOSE);
}

}  // namespace

void TlsEngine::consumeOutput() {
  (void)BIO_reset(wbio_);
  shrinkIfEmpty(wbio_, kRetainedOutput);
}

void TlsEngine::releaseIdleBuffers() {
  shrinkIfEmpty(rbio_, 0);
  shrinkIfEmpty(wbio_, 0);
  SSL_free_buffers(ssl_);  // 0 when a buffer still holds data: they stay, nothing is lost
}

void TlsEngine::shutdown() {
  if (handshake_done_) SSL_shutdown(ssl_);
  ERR_clear_error();
}

SSL_SESSION* TlsEngine::takeResumableSession() {
  SSL_SESSION* s = handshake_done_ ? SSL_get0_session(ssl_) : nullptr;
  if (!s || s == last_session_ || SSL_SESSION_is_resumable(s) != 1) return nullptr;
  // A TLS 1.3 session is only worth keeping with a ticket (the legacy session id alone does not resume).
  if (SSL_version(ssl_) >= TLS1_3_VERSION && SSL_SESSION_has_ticket(s) != 1) return nullptr;
  last_session_ = s;
  return SSL_get1_session(ssl_);
}

std::string_view TlsEngine::serverName() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name ? std::string_view(name) : std::string_view();
}

}  // namespace proxy::tls
