// The bidirectional byte pump of an upgraded connection (WebSocket or any 101 protocol).
//
// After the upstream answered 101, the session's client socket and the upstream connection stay
// where they are; the tunnel only decides what to do with their reads. Bytes are written through
// at once (try_write, no copy when the kernel takes them); what is left is queued, and the other
// side's reading stops until the queue drains — so a fast sender and a reader that never reads
// cost at most one read buffer. An idle tunnel holds no buffer at all. EOF on one side is passed
// on as a half-close (shutdown of the other side's write) and the tunnel closes once both FINs
// are out; a reset or error closes both at once. Silence
// longer than timeouts.tunnel_idle closes both (the timer is lazy: traffic only records the time).
#pragma once

#include <cstddef>
#include <cstdint>

#include "proxy/upstream/upstream_conn.h"

namespace proxy::server {

class Session;

class Tunnel final : private upstream::RawSink {
  friend class Session;
 public:
  Tunnel(Session& session, upstream::UpstreamConn& up);
  // Sends the client bytes that arrived after the request head, then pumps.
  void start();

  // Client side events, forwarded by the session.
  void fromClient(const char* data, size_t len);
  void clientEnded(int status);
  void onClientDrained();
  void onIdleTimer();
  // Called by the session when it closes: forget both sides and free.
  void destroy();

 private:
  void onRawData(const char* data, size_t len) override;
  void onRawEnd(int status) override;
  void onRawDrained() override;
  void onRawShutdown(int status) override;
  void finishIfBothShut();
  void touch();
  void closeBoth();

  Session& session_;
  upstream::UpstreamConn* up_;
  uint64_t last_activity_ms_ = 0;
  bool client_eof_ = false;
  bool upstream_eof_ = false;
  bool client_shut_ = false;    // our FIN to the client is out
  bool upstream_shut_ = false;  // our FIN to the upstream is out
};

}  // namespace proxy::server
