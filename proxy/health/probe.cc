// Probe: see probe.h.
#include "proxy/health/probe.h"

#include "common/uv_util.h"

namespace proxy::health {

bool Probe::statusExpected(const config::HealthCheckConfig& hc, int status) {
  for (const auto& r : hc.expect_status)
    if (status >= r.lo && status <= r.hi) return true;
  return false;
}

Probe* Probe::start(uv_loop_t* loop, const sockaddr* addr, const config::HealthCheckConfig& hc, const std::string& host,
                    Done done, void* owner) {
  auto* p = new Probe();
  p->done_ = done;
  p->owner_ = owner;
  p->hc_ = hc;
  p->tcp_.data = p->timeout_.data = p->connect_req_.data = p->write_req_.data = p;
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
  if (p->hc_.type == config::HealthCheckConfig::Type::Tcp) return p->finish(true, "connected");
  uv_buf_t b = uv_buf_init(p->request_.data(), static_cast<unsigned>(p->request_.size()));
  int rc = uv_write(&p->write_req_, reinterpret_cast<uv_stream_t*>(&p->tcp_), &b, 1, &Probe::onWriteCb);
  if (rc == 0) rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&p->tcp_), &Probe::onAllocCb, &Probe::onReadCb);
  if (rc < 0) p->finish(false, std::string("send ") + common::uvErr(rc));
}

void Probe::onWriteCb(uv_write_t* req, int status) {
  auto* p = static_cast<Probe*>(req->data);
  if (status < 0 && !p->done_flag_) p->finish(false, std::string("send ") + common::uvErr(status));
}

void Probe::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* out) {
  auto* p = static_cast<Probe*>(h->data);
  *out = uv_buf_init(p->buf_, sizeof(p->buf_));
}

void Probe::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* p = static_cast<Probe*>(s->data);
  if (p->done_flag_) return;
  if (nread < 0)
    return p->finish(false, nread == UV_EOF ? "closed before the status line" : std::string("read ") + common::uvErr(static_cast<int>(nread)));
  p->response_.append(p->buf_, static_cast<size_t>(nread));
  size_t eol = p->response_.find("\r\n");
  if (eol == std::string::npos) {
    if (p->response_.size() > 1024) p->finish(false, "no status line");
    return;
  }
  // "HTTP/1.1 200 OK"
  int status = -1;
  if (p->response_.rfind("HTTP/1.", 0) == 0 && eol >= 12 && p->response_[8] == ' ') {
    status = 0;
    for (size_t i = 9; i < 12; ++i) {
      char c = p->response_[i];
      if (c < '0' || c > '9') status = -1000;
      status = status * 10 + (c - '0');
    }
  }
  if (status < 100 || status > 599) return p->finish(false, "malformed status line");
  p->finish(statusExpected(p->hc_, status), "status " + std::to_string(status));
}

}  // namespace proxy::health
