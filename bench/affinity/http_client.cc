// The e2e driver's client connection; see http_client.h.
#include "bench/affinity/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "bench/ws/ws_frame.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace bench::affinity {
namespace {

struct WriteReq {
  uv_write_t req;
  std::string bytes;
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  return true;
}

}  // namespace

HttpClientConn::HttpClientConn(uv_loop_t* loop, HttpConnOwner& owner, int tag)
    : loop_(loop), owner_(owner), tag_(tag) {
  llhttp_settings_init(&settings_);
  settings_.on_header_field = onHeaderFieldCb;
  settings_.on_header_value = onHeaderValueCb;
  settings_.on_header_value_complete = onHeaderValueCompleteCb;
  settings_.on_body = onBodyCb;
  settings_.on_message_complete = onMessageCompleteCb;
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
}

int HttpClientConn::connect(const sockaddr_in& source, const sockaddr_in& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));  // best effort
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&source), sizeof(source)) != 0) {
    int err = -errno;
    ::close(fd);
    return err;
  }
  int rc = uv_tcp_init(loop_, &tcp_);
  if (rc < 0) {
    ::close(fd);
    return rc;
  }
  tcp_.data = this;
  handle_open_ = true;
  if ((rc = uv_tcp_open(&tcp_, fd)) < 0) {
    ::close(fd);
    return rc;
  }
  if ((rc = uv_tcp_nodelay(&tcp_, 1)) < 0) return rc;
  connect_req_.data = this;
  return uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&target), onConnectCb);
}

void HttpClientConn::onConnectCb(uv_connect_t* req, int status) {
  auto* self = static_cast<HttpClientConn*>(req->data);
  if (self->closed_) return;
  if (status < 0) return self->fail("connect", status);
  self->connected_ = true;
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), onAllocCb, onReadCb);
  if (rc < 0) return self->fail("read_start", rc);
  if (!self->pending_.empty()) {
    std::string bytes;
    bytes.swap(self->pending_);
    self->write(std::move(bytes));
  }
}

void HttpClientConn::send(std::string request) {
  if (closed_) return;
  if (!connected_) {
    pending_ += request;
    return;
  }
  write(std::move(request));
}

void HttpClientConn::sendWsText(std::string_view text) {
  if (closed_ || !upgraded_) return;
  static thread_local std::mt19937 rng(std::random_device{}());
  uint8_t mask[4];
  uint32_t m = rng();
  std::memcpy(mask, &m, 4);
  uint8_t header[ws::kMaxHeaderSize];
  size_t h = ws::writeFrameHeader(header, ws::kText, text.size(), mask);
  std::string frame(reinterpret_cast<const char*>(header), h);
  size_t start = frame.size();
  frame.append(text);
  ws::applyMask(reinterpret_cast<uint8_t*>(frame.data() + start), text.size(), mask);
  write(std::move(frame));
}

void HttpClientConn::write(std::string bytes) {
  uv_buf_t buf = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  int rc = uv_try_write(stream, &buf, 1);
  if (rc == static_cast<int>(bytes.size())) return;
  if (rc < 0 && rc != UV_EAGAIN) return fail("write", rc);
  auto* w = new WriteReq{};
  w->bytes = bytes.substr(rc > 0 ? static_cast<size_t>(rc) : 0);
  w->req.data = this;
  buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  rc = uv_write(&w->req, stream, &buf, 1, onWriteCb);
  if (rc < 0) {
    delete w;
    fail("write", rc);
  }
}

void HttpClientConn::onWriteCb(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  auto* self = static_cast<HttpClientConn*>(req->data);
  delete w;
  if (status < 0 && status != UV_ECANCELED && !self->closed_) self->fail("write", status);
}

void HttpClientConn::onAllocCb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* self = static_cast<HttpClientConn*>(h->data);
  *buf = uv_buf_init(self->read_buf_, sizeof(self->read_buf_));
}

void HttpClientConn::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<HttpClientConn*>(s->data);
  if (self->closed_) return;
  if (nread < 0) return self->fail(nread == UV_EOF ? "closed by peer" : "read", static_cast<int>(nread));
  if (nread > 0) self->onData(buf->base, static_cast<size_t>(nread));
}

void HttpClientConn::onData(const char* data, size_t len) {
  if (upgraded_) return onWsBytes(data, len);
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (closed_) return;
  if (err == HPE_PAUSED_UPGRADE) {
    const char* rest = llhttp_get_error_pos(&parser_);
    size_t used = rest ? static_cast<size_t>(rest - data) : len;
    if (used < len) onWsBytes(data + used, len - used);
    return;
  }
  if (err != HPE_OK) fail("bad response", UV_EPROTO);
}

void HttpClientConn::onWsBytes(const char* data, size_t len) {
  ws_in_.append(data, len);
  for (;;) {
    ws::FrameHeader h;
    auto* p = reinterpret_cast<const uint8_t*>(ws_in_.data());
    if (!ws::parseFrameHeader(p, ws_in_.size(), h) || ws_in_.size() < h.header_size + h.length) return;
    std::string payload = ws_in_.substr(h.header_size, h.length);
    ws_in_.erase(0, h.header_size + h.length);
    if (h.opcode == ws::kText) owner_.onWsText(tag_, payload);
    else if (h.opcode == ws::kClose) return fail("websocket closed by peer", UV_EOF);
    if (closed_) return;
  }
}

int HttpClientConn::onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) {
  static_cast<HttpClientConn*>(p->data)->field_.append(at, len);
  return 0;
}

int HttpClientConn::onHeaderValueCb(llhttp_t* p, const char* at, size_t len) {
  static_cast<HttpClientConn*>(p->data)->value_.append(at, len);
  return 0;
}

int HttpClientConn::onHeaderValueCompleteCb(llhttp_t* p) {
  auto* self = static_cast<HttpClientConn*>(p->data);
  if (iequals(self->field_, "x-served-by")) {
    self->response_.served_by = self->value_;
  } else if (iequals(self->field_, "set-cookie")) {
    self->response_.set_cookies.push_back(self->value_.substr(0, self->value_.find(';')));
  }
  self->field_.clear();
  self->value_.clear();
  return 0;
}

int HttpClientConn::onBodyCb(llhttp_t* p, const char* at, size_t len) {
  static_cast<HttpClientConn*>(p->data)->response_.body.append(at, len);
  return 0;
}

int HttpClientConn::onMessageCompleteCb(llhttp_t* p) {
  auto* self = static_cast<HttpClientConn*>(p->data);
  HttpResponse r = std::move(self->response_);
  self->response_ = HttpResponse{};
  r.status = p->status_code;
  if (p->upgrade) self->upgraded_ = true;  // frames may be sent from inside onResponse
  self->owner_.onResponse(self->tag_, r);
  return self->closed_ ? HPE_USER : 0;
}

void HttpClientConn::fail(const char* what, int status) {
  if (closed_) return;
  owner_.onConnError(tag_, what, status);
  close();
}

void HttpClientConn::close() {
  if (closed_) return;
  closed_ = true;
  if (!handle_open_) {
    delete this;
    return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), onCloseCb);
}

void HttpClientConn::onCloseCb(uv_handle_t* h) { delete static_cast<HttpClientConn*>(h->data); }

}  // namespace bench::affinity
