// AdminServer and its connections: see admin_server.h.
#include "proxy/admin/admin_server.h"

#include <llhttp.h>

#include "common/log.h"
#include "common/uv_util.h"
#include "proxy/admin/admin_routes.h"
#include "proxy/http/parser.h"

namespace proxy::admin {

namespace {

constexpr uint64_t kIdleMs = 30'000;

const char* reasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

}  // namespace

class AdminConnection final : private http::ParserHandler {
 public:
  explicit AdminConnection(AdminServer& server)
      : server_(server), parser_(HTTP_REQUEST, *this, http::ParserLimits{16 * 1024, 64 * 1024}) {
    tcp_.data = timer_.data = this;
    server_.connections_.insert(this);
  }
  ~AdminConnection() override { server_.connections_.erase(this); }

  void accept(uv_stream_t* listener) {
    int rc = uv_tcp_init(server_.loop(), &tcp_);
    if (rc < 0) {
      common::logWarn("admin_accept_failed", {{"error", common::uvErr(rc)}});
      delete this;
      return;
    }
    ++open_handles_;
    rc = uv_timer_init(server_.loop(), &timer_);
    if (rc == 0) ++open_handles_;
    if (rc == 0) rc = uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_));
    if (rc == 0) {
      sockaddr_storage ss{};
      int len = sizeof(ss);
      if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        peer_ = common::formatIp(reinterpret_cast<const sockaddr*>(&ss));
    }
    if (rc == 0) rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &allocCb, &onReadCb);
    if (rc == 0) rc = uv_timer_start(&timer_, &onTimerCb, kIdleMs, 0);
    if (rc < 0) {
      common::logWarn("admin_accept_failed", {{"error", common::uvErr(rc)}});
      close();
    }
  }

 private:
  static void allocCb(uv_handle_t* h, size_t, uv_buf_t* buf) {
    auto* self = static_cast<AdminConnection*>(h->data);
    *buf = uv_buf_init(self->read_buf_, sizeof(self->read_buf_));
  }

  static void onReadCb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<AdminConnection*>(s->data);
    if (nread == 0 || self->closing_) return;
    if (nread < 0) return self->close();
    self->pending_.append(buf->base, static_cast<size_t>(nread));
    if (!self->writing_) self->parsePending();
  }

  static void onTimerCb(uv_timer_t* t) { static_cast<AdminConnection*>(t->data)->close(); }

  // Parses what has arrived; stops after each complete request until its response is written.
  void parsePending() {
    while (!pending_.empty() && !closing_ && !writing_) {
      http::FeedResult r = parser_.feed(pending_.data(), pending_.size());
      if (r.status == http::ParseStatus::Error) {
        int status = parser_.error() == http::ParseError::HeaderTooLarge ? 431
                     : parser_.error() == http::ParseError::BodyTooLarge ? 413 : 400;
        AdminResponse resp;
        resp.status = status;
        resp.body = "bad request\n";
        keep_alive_ = false;
        send(resp);
        return;
      }
      pending_.erase(0, r.consumed);
      if (r.status == http::ParseStatus::Ok) return;  // need more bytes
      if (r.status == http::ParseStatus::Upgrade) keep_alive_ = false;
      parser_.resume();
    }
  }

  http::HeadAction onHead(http::MessageHead& head) override {
    method_ = llhttp_method_name(static_cast<llhttp_method_t>(head.method));
    target_.assign(head.url());
    authorization_.assign(head.find("authorization"));
    keep_alive_ = head.keep_alive;
    return http::HeadAction::Continue;
  }
  void onBody(std::string_view) override {}  // the admin API takes no body
  bool onComplete() override {
    AdminRequest req{method_, target_, authorization_, peer_};
    uint64_t now = uv_now(server_.loop());
    AdminResponse resp;
    if (server_.authThrottled(peer_, now)) {
      resp.status = 429;
      resp.body = "too many failed authentications: retry in a second\n";
      resp.extra_headers = "Retry-After: 1\r\n";
    } else {
      resp = handleAdminRequest(req, server_.sources(), server_.config());
      if (resp.status == 401) server_.noteAuthFailure(peer_, now);
    }
    send(resp, method_ == "HEAD");
    return true;  // pause: the next request waits for this response
  }

  // HEAD: the headers GET would send (Content-Length included), no body.
  void send(const AdminResponse& resp, bool head_only = false) {
    out_ = "HTTP/1.1 " + std::to_string(resp.status) + " " + reasonPhrase(resp.status) + "\r\n";
    out_ += "Content-Type: " + resp.content_type + "\r\n";
    out_ += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
    out_ += "Cache-Control: no-store\r\n";
    out_ += resp.extra_headers;
    out_ += keep_alive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    if (!head_only) out_ += resp.body;
    uv_buf_t b = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
    write_req_.data = this;
    int rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, &onWriteCb);
    if (rc < 0) return close();
    writing_ = true;
    uv_timer_start(&timer_, &onTimerCb, kIdleMs, 0);
  }

  static void onWriteCb(uv_write_t* req, int status) {
    auto* self = static_cast<AdminConnection*>(req->data);
    self->writing_ = false;
    if (self->closing_) return self->maybeFree();
    if (status < 0 || !self->keep_alive_) return self->close();
    self->parsePending();
  }

 public:
  void close() {  // also called by AdminServer::stop()
    if (closing_) return;
    closing_ = true;
    uint8_t n = open_handles_;  // tcp_ was initialised first, then timer_
    if (n >= 1) common::closeHandle(&tcp_, &onCloseCb);
    if (n >= 2) common::closeHandle(&timer_, &onCloseCb);
  }
 private:
  static void onCloseCb(uv_handle_t* h) {
    auto* self = static_cast<AdminConnection*>(h->data);
    --self->open_handles_;
    self->maybeFree();
  }
  void maybeFree() {
    if (open_handles_ == 0 && !writing_) delete this;
  }

  AdminServer& server_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_write_t write_req_;
  http::Parser parser_;
  char read_buf_[16 * 1024];
  std::string pending_;
  std::string out_;
  std::string method_, target_, authorization_;
  std::string peer_;  // client IP
  uint8_t open_handles_ = 0;
  bool closing_ = false;
  bool writing_ = false;
  bool keep_alive_ = true;
};

AdminServer::AdminServer(uv_loop_t* loop, const config::AdminConfig& cfg, const ScrapeSources& sources)
    : loop_(loop), cfg_(cfg), sources_(sources) {
  tcp_.data = this;
}

bool AdminServer::start(std::string& error) {
  int rc = uv_tcp_init(loop_, &tcp_);
  if (rc == 0) {
    listening_ = true;
    rc = uv_tcp_bind(&tcp_, reinterpret_cast<const sockaddr*>(&cfg_.sockaddr), 0);
  }
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_), 128, &AdminServer::onConnectionCb);
  if (rc < 0) {
    error = "cannot listen on admin address " + cfg_.address + ": " + uv_strerror(rc);
    return false;
  }
  return true;
}

void AdminServer::reconfigure(const config::AdminConfig& cfg) {
  if (cfg.address != cfg_.address)
    common::logWarn("admin_address_unchanged", {{"configured", cfg.address}, {"running", cfg_.address}, {"hint", "a restart moves the admin listener"}});
  std::string address = cfg_.address;
  sockaddr_storage bound = cfg_.sockaddr;
  cfg_ = cfg;
  cfg_.address = address;
  cfg_.sockaddr = bound;
}

bool AdminServer::authThrottled(const std::string& peer, uint64_t now_ms) {
  auto it = auth_failures_.find(peer);
  if (it == auth_failures_.end()) return false;
  if (now_ms - it->second.window_start_ms >= 1000) {
    auth_failures_.erase(it);
    return false;
  }
  return it->second.count > kMaxAuthFailures;
}

void AdminServer::noteAuthFailure(const std::string& peer, uint64_t now_ms) {
  if (auth_failures_.size() > 4096)  // bounded: forget windows that are over
    for (auto it = auth_failures_.begin(); it != auth_failures_.end();)
      it = now_ms - it->second.window_start_ms >= 1000 ? auth_failures_.erase(it) : std::next(it);
  auto [it, fresh] = auth_failures_.try_emplace(peer, Failures{now_ms, 0});
  if (!fresh && now_ms - it->second.window_start_ms >= 1000) it->second = Failures{now_ms, 0};
  ++it->second.count;
}

void AdminServer::stop() {
  if (listening_) common::closeHandle(&tcp_);
  listening_ = false;
  // Open admin connections (keep-alive pollers) must not keep the main loop running.
  std::unordered_set<AdminConnection*> open = connections_;
  for (AdminConnection* c : open) c->close();
}

void AdminServer::onConnectionCb(uv_stream_t* server, int status) {
  auto* self = static_cast<AdminServer*>(server->data);
  if (status < 0) {
    common::logWarn("admin_accept_error", {{"error", common::uvErr(status)}});
    return;
  }
  (new AdminConnection(*self))->accept(server);
}

}  // namespace proxy::admin
