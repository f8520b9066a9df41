// Probe: see probe.h.
#include "proxy/health/probe.h"

#include "common/stream_write.h"
#include "common/uv_util.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/tls_engine.h"

namespace proxy::health {

bool Probe::statusExpected(const config::HealthCheckConfig& hc, int status) {
  for (const auto& r : hc.expect_status)
    if (status >= r.lo && status <= r.hi) return true;
  return false;
}

Probe::~Probe() = default;

Probe* Probe::start(uv_loop_t* loop, const config::ServerConfig& server, const config::HealthCheckConfig& hc,
                    const std::string& host, const config::UpstreamTlsConfig& tls, Done done, void* owner) {
  const sockaddr* addr = reinterpret_cast<const sockaddr*>(&server.sockaddr);
  auto* p = new Probe();
  p->done_ = done;
  p->owner_ = owner;
  p->hc_ = hc;
  p->tcp_.data = p->timeout_.data = p->connect_req_.data = p;
  if (tls.enabled) {  // never plaintext to a TLS upstream
    if (tls.context) p->tls_ = tls.context->newEngine(server, nullptr);
    if (!p->tls_) {
      delete p;
      done(owner, false, "tls: cannot create a TLS connection");
      return nullptr;
    }
  }
  if (hc.type == config::HealthCheckConfig::Type::Http)
    p->request_ = "GET " + hc.path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: tether-health\r\nConnection: close\r\n\r\n";
  int rc = uv_tcp_init(loop, &p->tcp_);
  if (rc < 0) {
    delete p;
    done(owner, false, std::string("socket ") + common::uvErr(rc));
    return nullptr;
  }
  ++p->open_handles_;
  rc = uv_timer_init(loop, &p->timeout_);
  if (rc < 0) {
    p->finish(false, std::string("timer ") + common::uvErr(rc));
    return nullptr;
  }
  ++p->open_handles_;
  p->timer_open_ = true;
  rc = uv_timer_start(&p->timeout_, &Probe::onTimeoutCb, static_cast<uint64_t>(hc.timeout.count()), 0);
  if (rc == 0) rc = uv_tcp_connect(&p->connect_req_, &p->tcp_, addr, &Probe::onConnectCb);
  if (rc < 0) {
    p->finish(false, std::string("connect ") + common::uvErr(rc));
    return nullptr;
  }
  return p;
}

void Probe::abandon() {
  owner_ = nullptr;
  finish(false, "abandoned");
}

void Probe::onCloseCb(uv_handle_t* h) {
  auto* p = static_cast<Probe*>(h->data);
  if (--p->open_handles_ == 0) delete p;
}

// Reports once (unless abandoned), then closes.
void Probe::finish(bool ok, const std::string& detail) {
  if (done_flag_) return;
  done_flag_ = true;
  if (void* owner = owner_) {
    owner_ = nullptr;
    done_(owner, ok, detail);
  }
  common::closeHandle(&tcp_, &Probe::onCloseCb);
  if (timer_open_) common::closeHandle(&timeout_, &Probe::onCloseCb);
}

void Probe::onTimeoutCb(uv_timer_t* t) { static_cast<Probe*>(t->data)->finish(false, "timeout"); }

void Probe::onConnectCb(uv_connect_t* req, int status) {
  auto* p = static_cast<Probe*>(req->data);
  if (p->done_flag_) return;
  if (status < 0) return p->finish(false, std::string("connect ") + common::uvErr(status));
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&p->tcp_), &Probe::onAllocCb, &Probe::onReadCb);
  if (rc < 0) return p->finish(false, std::string("read ") + common::uvErr(rc));
  if (!p->tls_) return p->onConnected();
  char none;  // the ClientHello; the handshake goes on in onTlsData
  if (p->tls_->feed(nullptr, 0, &none, 0, [](const char*, size_t) { return true; }) != tls::TlsEngine::Status::Ok)
    return p->finish(false, std::string("tls: ") + p->tls_->lastError());
  p->sendTlsOutput();
}

// Connected (with TLS: handshake done): a tcp check has succeeded, an http check sends its request.
void Probe::onConnected() {
  if (hc_.type == config::HealthCheckConfig::Type::Tcp) return finish(true, tls_ ? "tls handshake done" : "connected");
  if (!tls_) {
    send(request_.data(), request_.size());
    return;
  }
  uv_buf_t b = uv_buf_init(request_.data(), static_cast<unsigned>(request_.size()));
  if (tls_->write(&b, 1) != tls::TlsEngine::Status::Ok) return finish(false, std::string("tls: ") + tls_->lastError());
  sendTlsOutput();
}

bool Probe::send(const char* data, size_t len) {
  uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
  long rc = common::writeOrQueue(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, this, &Probe::onWriteDone);
  if (rc < 0) finish(false, std::string("send ") + common::uvErr(static_cast<int>(rc)));
  return rc >= 0;
}

bool Probe::sendTlsOutput() {
  std::string_view out = tls_->pendingOutput();
  bool ok = out.empty() || send(out.data(), out.size());
  tls_->consumeOutput();
  return ok;
}

void Probe::onWriteDone(void* owner, int status, size_t) {
  auto* p = static_cast<Probe*>(owner);
  if (status < 0 && !p->done_flag_) p->finish(false, std::string("send ") + common::uvErr(status));
}

void Probe::onTlsData(const char* data, size_t len) {
  bool handshaking = !tls_->handshakeDone();
  char plain[4096];
  auto status = tls_->feed(data, len, plain, sizeof plain, [this](const char* d, size_t n) {
    onResponseBytes(d, n);
    return !done_flag_;
  });
  if (done_flag_) return;
  if (status == tls::TlsEngine::Status::Error) return finish(false, std::string("tls: ") + tls_->lastError());
  if (status == tls::TlsEngine::Status::Closed) return finish(false, "closed before the status line");
  if (!sendTlsOutput()) return;
  if (handshaking && tls_->handshakeDone()) onConnected();
}

void Probe::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* out) {
  auto* p = static_cast<Probe*>(h->data);
  *out = uv_buf_init(p->buf_, sizeof(p->buf_));
}

void Probe::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* p = static_cast<Probe*>(s->data);
  if (p->done_flag_) return;
  if (nread < 0) {
    if (p->tls_ && !p->tls_->handshakeDone())
      return p->finish(false, nread == UV_EOF ? "tls: closed by the server during the handshake" : std::string("read ") + common::uvErr(static_cast<int>(nread)));
    return p->finish(false, nread == UV_EOF ? "closed before the status line" : std::string("read ") + common::uvErr(static_cast<int>(nread)));
  }
  if (p->tls_) return p->onTlsData(p->buf_, static_cast<size_t>(nread));
  p->onResponseBytes(p->buf_, static_cast<size_t>(nread));
}

void Probe::onResponseBytes(const char* data, size_t len) {
  if (hc_.type == config::HealthCheckConfig::Type::Tcp) return;  // a TLS tcp check is done at the handshake
  response_.append(data, len);
  size_t eol = response_.find("\r\n");
  if (eol == std::string::npos) {
    if (response_.size() > 1024) finish(false, "no status line");
    return;
  }
  // "HTTP/1.1 200 OK"
  int status = -1;
  if (response_.rfind("HTTP/1.", 0) == 0 && eol >= 12 && response_[8] == ' ') {
    status = 0;
    for (size_t i = 9; i < 12; ++i) {
      char c = response_[i];
      if (c < '0' || c > '9') status = -1000;
      status = status * 10 + (c - '0');
    }
  }
  if (status < 100 || status > 599) return finish(false, "malformed status line");
  finish(statusExpected(hc_, status), "status " + std::to_string(status));
}

}  // namespace proxy::health
