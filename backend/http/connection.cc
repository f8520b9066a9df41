// HTTP side of Connection: accept, read, llhttp parsing, responses, writes and closing.
// The WebSocket side (handshake answer, frames) is in connection_ws.cc.
#include "backend/http/connection.h"

#include <cstring>
#include <unordered_set>
#include <vector>

#include "common/log.h"
#include "common/uv_util.h"

namespace backend::http {
namespace {

struct WriteReq {
  uv_write_t req;
  std::string head;
  SharedBytes payload;
};

const char* reasonPhrase(int status) {
  switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

// Live connections of this thread, for closeAll() at shutdown.
thread_local std::unordered_set<Connection*> tLive;
}  // namespace

Connection::~Connection() { tLive.erase(this); }

void Connection::closeAll() {
  std::vector<Connection*> all(tLive.begin(), tLive.end());
  for (Connection* c : all) c->close();
}

size_t Connection::liveCount() { return tLive.size(); }

const llhttp_settings_t* Connection::settings() {
  // Shared by every connection (llhttp only reads it): saves ~200 bytes per connection.
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_url = onUrlCb;
    s.on_header_field = onHeaderFieldCb;
    s.on_header_value = onHeaderValueCb;
    s.on_headers_complete = onHeadersCompleteCb;
    s.on_body = onBodyCb;
    s.on_message_complete = onMessageCompleteCb;
    return s;
  }();
  return &kSettings;
}

Connection::Connection(Handler* handler, const Limits& limits) : handler_(handler), limits_(limits) {
  llhttp_init(&parser_, HTTP_REQUEST, settings());
  parser_.data = this;
}

Connection* Connection::accept(uv_stream_t* server, Handler* handler, const Limits& limits) {
  startFlusher(server->loop);
  auto* c = new Connection(handler, limits);
  tLive.insert(c);
  int rc = uv_tcp_init(server->loop, &c->tcp_);
  if (rc < 0) {
    common::logError("tcp_init_failed", {{"error", common::uvErr(rc)}});
    delete c;
    return nullptr;
  }
  c->tcp_.data = c;
  c->handlesOpen_ = 1;
  rc = uv_timer_init(server->loop, &c->graceTimer_);
  if (rc == 0) {
    c->graceTimer_.data = c;
    c->handlesOpen_ = 2;
  } else {
    common::logError("timer_init_failed", {{"error", common::uvErr(rc)}});
  }
  rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp_));
  if (rc < 0) {
    common::logWarn("accept_failed", {{"error", common::uvErr(rc)}});
    c->closing_ = true;  // nothing to notify: the owner never saw it
    common::closeHandle(&c->tcp_, onCloseCb);
    if (c->handlesOpen_ == 2) common::closeHandle(&c->graceTimer_, onCloseCb);
    return nullptr;
  }
  if (c->handlesOpen_ != 2) {
    c->close();
    return nullptr;
  }
  rc = uv_tcp_nodelay(&c->tcp_, 1);
  if (rc < 0) common::logWarn("tcp_nodelay_failed", {{"error", common::uvErr(rc)}});
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    c->peer_ = common::formatSockAddr(reinterpret_cast<sockaddr*>(&ss));
  }
  rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp_), onAllocCb, onReadCb);
  if (rc < 0) {
    common::logWarn("read_start_failed", {{"error", common::uvErr(rc)}});
    c->close();
    return nullptr;
  }
  return c;
}

void Connection::onAllocCb(uv_handle_t*, size_t, uv_buf_t* buf) {
  // One read buffer per loop thread: libuv calls onReadCb right after this.
  static thread_local char buffer[64 * 1024];
  *buf = uv_buf_init(buffer, sizeof buffer);
}

void Connection::onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(s->data);
  if (nread < 0) {
    if (nread != UV_EOF && nread != UV_ECONNRESET) {
      common::logDebug("read_failed", {{"error", common::uvErr(static_cast<int>(nread))}});
    }
    c->close();
    return;
  }
  if (nread > 0) c->onRead(buf->base, static_cast<size_t>(nread));
}

void Connection::onRead(const char* data, size_t len) {
  if (closing_ || closeAfterWrite_) return;  // draining towards close: ignore input
  if (decoder_) {
    auto status = decoder_->decode(reinterpret_cast<const uint8_t*>(data), len, *this);
    if (status == common::ws::Decoder::Status::Error) {
      auto err = decoder_->error();
      common::logDebug("ws_protocol_error", {{"error", common::ws::decodeErrorName(err)}, {"peer", peer_}});
      // Fail the connection (RFC 6455 7.1.7): send the close frame, close once it is written;
      // a peer that breaks the protocol is not waited for.
      closeWs(common::ws::closeCodeFor(err), common::ws::decodeErrorName(err));
      closeWhenFlushed();
    }
    return;
  }
  if (requestPending_) {
    if (leftover_.size() + len > limits_.maxBody + limits_.maxHeaderBytes) {
      close();
      return;
    }
    leftover_.append(data, len);
    return;
  }
  parseHttp(data, len);
}

void Connection::parseHttp(const char* data, size_t len) {
  // Iterative over pipelined requests: a request answered synchronously (respond() ->
  // resumeHttp()) continues in this loop instead of recursing, so a burst of thousands of tiny
  // pipelined requests cannot exhaust the stack.
  std::string pending;
  parsing_ = true;
  for (;;) {
    llhttp_errno_t err = llhttp_execute(&parser_, data, len);
    if (closing_) break;
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
      const char* pos = llhttp_get_error_pos(&parser_);
      size_t used = pos && pos >= data && pos <= data + len ? static_cast<size_t>(pos - data) : len;
      leftover_.assign(data + used, len - used);
      requestPending_ = true;
      handler_->onRequest(*this, request_);
      if (closing_ || requestPending_ || ws_ || leftover_.empty()) break;
      pending.swap(leftover_);  // answered at once: parse what followed it
      leftover_.clear();
      data = pending.data();
      len = pending.size();
      continue;
    }
    if (err != HPE_OK) failHttp(httpError_ ? httpError_ : 400, llhttp_errno_name(err));
    break;
  }
  parsing_ = false;
}

void Connection::resumeHttp() {  // only after a keep-alive response
  requestPending_ = false;
  request_.clear();
  headBytes_ = 0;
  lastWasValue_ = false;
  // An upgrade request answered with a plain response (no 101) leaves the parser paused for
  // the upgrade, which llhttp_resume() does not clear: the connection stays HTTP.
  if (llhttp_get_errno(&parser_) == HPE_PAUSED_UPGRADE) {
    llhttp_resume_after_upgrade(&parser_);
  } else {
    llhttp_resume(&parser_);
  }
  if (!parsing_ && !leftover_.empty()) {  // a held request was answered later
    std::string pending;
    pending.swap(leftover_);
    parseHttp(pending.data(), pending.size());
  }
}

void Connection::failHttp(int status, std::string_view reason) {
  common::logDebug("http_bad_request", {{"status", status}, {"reason", reason}, {"peer", peer_}});
  request_.keepAlive = false;
  respond(status, "text/plain", std::string(reasonPhrase(status)));
}

void Connection::respond(int status, std::string_view contentType, std::string body,
                         std::string_view extraHeaders) {
  if (closing_ || ws_) return;
  std::string head;
  head.reserve(160 + extraHeaders.size() + limits_.servedBy.size());
  head.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(reasonPhrase(status));
  head.append("\r\nContent-Type: ").append(contentType);
  head.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  head.append("\r\nCache-Control: no-store\r\n");
  if (!request_.keepAlive) head.append("Connection: close\r\n");
  if (!limits_.servedBy.empty()) head.append("X-Served-By: ").append(limits_.servedBy).append("\r\n");
  head.append(extraHeaders);
  head.append("\r\n");
  bool keepAlive = request_.keepAlive;
  write(std::move(head), body.empty() ? nullptr : std::make_shared<const std::string>(std::move(body)));
  if (!keepAlive) {
    closeWhenFlushed();
    return;
  }
  resumeHttp();
}

void Connection::write(std::string head, SharedBytes payload) {
  if (closing_) return;
  uv_buf_t bufs[2];
  unsigned n = 0;
  if (!head.empty()) bufs[n++] = uv_buf_init(head.data(), static_cast<unsigned>(head.size()));
  if (payload && !payload->empty()) {
    bufs[n++] = uv_buf_init(const_cast<char*>(payload->data()), static_cast<unsigned>(payload->size()));
  }
  if (n == 0) return;
  size_t total = head.size() + (payload ? payload->size() : 0);
  size_t done = 0;
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (tcp_.write_queue_size == 0) {
    // Common case: the kernel takes it all now; no request, no callback, no allocation.
    int rc = uv_try_write(stream, bufs, n);
    if (rc >= 0 && static_cast<size_t>(rc) == total) return;
    if (rc >= 0) {
      done = static_cast<size_t>(rc);
    } else if (rc != UV_EAGAIN) {
      common::logDebug("write_failed", {{"error", common::uvErr(rc)}, {"peer", peer_}});
      close();
      return;
    }
  }
  auto* w = new WriteReq{};
  if (done < head.size()) {
    w->head = head.substr(done);
    w->payload = std::move(payload);
  } else {  // part of the payload went out: copy the rest (rare)
    w->head = payload->substr(done - head.size());
  }
  n = 0;
  bufs[n++] = uv_buf_init(w->head.data(), static_cast<unsigned>(w->head.size()));
  if (w->payload && !w->payload->empty()) {
    bufs[n++] = uv_buf_init(const_cast<char*>(w->payload->data()), static_cast<unsigned>(w->payload->size()));
  }
  w->req.data = this;
  int rc = uv_write(&w->req, stream, bufs, n, onWriteCb);
  if (rc < 0) {
    common::logDebug("write_failed", {{"error", common::uvErr(rc)}, {"peer", peer_}});
    delete w;
    close();
  }
}

void Connection::closeWhenFlushed() {
  flush();
  closeAfterWrite_ = true;
  if (tcp_.write_queue_size == 0 && out_.empty()) close();  // else a write callback closes after the last write
}

void Connection::onWriteCb(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  auto* c = static_cast<Connection*>(req->data);
  delete w;
  if (status == UV_ECANCELED) return;  // the connection is closing
  if (status < 0) {
    common::logDebug("write_failed", {{"error", common::uvErr(status)}, {"peer", c->peer_}});
    c->close();
    return;
  }
  if (c->closeAfterWrite_ && c->tcp_.write_queue_size == 0 && c->out_.empty()) c->close();
}

void Connection::close() {
  if (closing_) return;
  closing_ = true;
  if (dirty_) unlist();  // the flusher must not see it: the object dies after uv_close
  // out_ is kept until the object dies: a cancelled uv_write may still point into it.
  handler_->onClosed(*this);
  common::closeHandle(&tcp_, onCloseCb);
  common::closeHandle(&graceTimer_, onCloseCb);
}

void Connection::onCloseCb(uv_handle_t* h) {
  auto* c = static_cast<Connection*>(h->data);
  if (--c->handlesOpen_ == 0) delete c;
}

void Connection::onGraceTimerCb(uv_timer_t* t) { static_cast<Connection*>(t->data)->close(); }

// --- llhttp callbacks: collect the request, enforce the head and body limits ---

int Connection::onUrlCb(llhttp_t* p, const char* at, size_t len) {
  auto* c = static_cast<Connection*>(p->data);
  c->headBytes_ += len;
  if (c->headBytes_ > c->limits_.maxHeaderBytes) return c->httpError_ = 431, -1;
  c->request_.url.append(at, len);
  return 0;
}

int Connection::onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) {
  auto* c = static_cast<Connection*>(p->data);
  c->headBytes_ += len;
  if (c->headBytes_ > c->limits_.maxHeaderBytes) return c->httpError_ = 431, -1;
  if (c->lastWasValue_ || c->request_.headers.empty()) c->request_.headers.emplace_back();
  c->request_.headers.back().first.append(at, len);
  c->lastWasValue_ = false;
  return 0;
}

int Connection::onHeaderValueCb(llhttp_t* p, const char* at, size_t len) {
  auto* c = static_cast<Connection*>(p->data);
  c->headBytes_ += len;
  if (c->headBytes_ > c->limits_.maxHeaderBytes) return c->httpError_ = 431, -1;
  if (c->request_.headers.empty()) return -1;
  c->request_.headers.back().second.append(at, len);
  c->lastWasValue_ = true;
  return 0;
}

int Connection::onHeadersCompleteCb(llhttp_t* p) {
  auto* c = static_cast<Connection*>(p->data);
  c->request_.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  c->request_.upgrade = p->upgrade != 0;
  c->request_.keepAlive = llhttp_should_keep_alive(p) != 0;
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->limits_.maxBody) {
    return c->httpError_ = 413, -1;
  }
  return 0;
}

int Connection::onBodyCb(llhttp_t* p, const char* at, size_t len) {
  auto* c = static_cast<Connection*>(p->data);
  if (c->request_.body.size() + len > c->limits_.maxBody) return c->httpError_ = 413, -1;
  c->request_.body.append(at, len);
  return 0;
}

int Connection::onMessageCompleteCb(llhttp_t* p) {
  auto* c = static_cast<Connection*>(p->data);
  c->request_.keepAlive = llhttp_should_keep_alive(p) != 0;
  // An upgrade request is paused by llhttp itself (HPE_PAUSED_UPGRADE) right after this
  // callback. Pausing here too would make the next execute after a refused upgrade report that
  // pause as a second, empty request, and every later response on the connection would answer
  // the request before it.
  return p->upgrade ? 0 : HPE_PAUSED;
}

}  // namespace backend::http
