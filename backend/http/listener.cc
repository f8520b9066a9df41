// Listener: bind, listen, accept; see listener.h.
#include "backend/http/listener.h"

#include "common/log.h"
#include "common/uv_util.h"

namespace backend::http {

Listener::Listener(uv_loop_t* loop, Handler* handler, const Limits& limits)
    : loop_(loop), handler_(handler), limits_(limits) {}

int Listener::start(const std::string& host, int port) {
  sockaddr_storage addr{};
  int rc = uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc < 0) rc = uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr));
  if (rc < 0) {
    common::logError("bad_listen_address", {{"host", host}, {"error", common::uvErr(rc)}});
    return rc;
  }
  rc = uv_tcp_init(loop_, &tcp_);
  if (rc < 0) {
    common::logError("tcp_init_failed", {{"error", common::uvErr(rc)}});
    return rc;
  }
  started_ = true;
  tcp_.data = this;
  rc = uv_tcp_bind(&tcp_, reinterpret_cast<sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_), 1024, onConnectionCb);
  if (rc < 0) {
    common::logError("listen_failed", {{"host", host}, {"port", port}, {"error", common::uvErr(rc)}});
    return rc;
  }
  sockaddr_storage bound{};
  int len = sizeof bound;
  rc = uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&bound), &len);
  if (rc < 0) {
    common::logError("getsockname_failed", {{"error", common::uvErr(rc)}});
    return rc;
  }
  port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);  // same offset for v6
  return 0;
}

void Listener::stop() {
  if (started_) common::closeHandle(&tcp_);
}

void Listener::onConnectionCb(uv_stream_t* server, int status) {
  auto* self = static_cast<Listener*>(server->data);
  if (status < 0) {
    common::logWarn("accept_failed", {{"error", common::uvErr(status)}});
    return;
  }
  if (Connection::accept(server, self->handler_, self->limits_)) ++self->accepted_;
}

}  // namespace backend::http
