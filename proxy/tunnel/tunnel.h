// The bidirectional byte pump of an upgraded connection (WebSocket or any 101 protocol).
//
// After the upstream answered 101, the session's client socket and the upstream connection stay
// where they are; the tunnel only decides what to do with their reads. Bytes are written through
// at once (try_write, no copy when the kernel takes them); what is left is queued, and the other
// side's reading stops until the queue drains — so a fast sender and a reader that never reads
// cost at most one read buffer (64 KiB, the high-water mark) per direction. An idle tunnel holds
// no buffer at all: the request/response heads and parser buffers are freed when it starts.
//
// Ending, as TCP does it:
//   EOF from one side  -> stop reading it, FIN to the other side after its queued bytes
//                         (half-close; the other direction keeps flowing).
//   both FINs sent     -> close both (only then: queued bytes are never cut off).
//   reset / error      -> close both at once.
//   silence > tunnel_idle -> close both (the timer is lazy: traffic only records the time).
// A side that has ended is never read again (a second EOF would mean a second shutdown).
#pragma once

#include <cstddef>
#include <cstdint>

#include "proxy/upstream/upstream_conn.h"

namespace proxy::server {
class Session;
}

namespace proxy::tunnel {

class Tunnel final : private upstream::RawSink {
 public:
  Tunnel(server::Session& session, upstream::UpstreamConn& up);
  Tunnel(const Tunnel&) = delete;
  Tunnel& operator=(const Tunnel&) = delete;
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
  ~Tunnel();
  void onRawData(const char* data, size_t len) override;
  void onRawEnd(int status) override;
  void onRawDrained() override;
  void onRawShutdown(int status) override;
  static void onClientShutdownCb(uv_shutdown_t* req, int status);
  void touch();
  void finishIfBothShut();
  void closeBoth();

  server::Session& session_;
  upstream::UpstreamConn* up_;
  uint64_t last_activity_ms_ = 0;
  bool client_eof_ = false;      // the client sent FIN: no more reads from it
  bool upstream_eof_ = false;    // the upstream sent FIN
  bool client_shut_ = false;     // our FIN to the client went out
  bool upstream_shut_ = false;   // our FIN to the upstream went out
};

}  // namespace proxy::tunnel
