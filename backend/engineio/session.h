// One Engine.IO v4 session: its transport (long-polling or WebSocket), outgoing queue,
// heartbeat timer and the polling -> WebSocket upgrade state.
//
// The Server owns sessions and routes requests to them; the upper layer (Socket.IO) sends with
// send() and learns about messages and closing through SessionListener. Bounded memory: the
// bytes waiting for a slow or absent client (polling queue, or the WebSocket write queue) are
// capped by Options::maxSendQueue; volatile messages are dropped first, and a client still over
// the cap is disconnected ("send queue overflow") on the next loop turn, never re-entrantly.
// A closed session is freed in its timer's close callback, so close() is safe in callbacks.
#pragma once

#include <uv.h>

#include <vector>
#include <string>
#include <string_view>

#include "backend/engineio/packet.h"
#include "backend/http/connection.h"

namespace backend::engineio {

class Server;

enum class SendResult : uint8_t { Queued, Dropped, Overflow };

// The frame of one Engine.IO message: "4" + data in a text frame, or the bytes in a binary
// frame. Built once per broadcast and handed to every recipient's send().
http::SharedFrame messageFrame(std::string_view data, bool binary);

class Session {
 public:
  const std::string& id() const { return id_; }
  bool isWebSocket() const { return transport_ == Transport::WebSocket; }
  bool isClosed() const { return closed_; }
  // Sends a message frame (messageFrame()); shared, so a broadcast is encoded once and every
  // recipient queues a reference. Its size counts toward this client's send-queue cap.
  SendResult send(const http::SharedFrame& frame, bool isVolatile = false);
  // Closes now: tells the client (close packet), notifies the listener, frees later.
  void close(std::string_view reason);
  // Closes on the next loop turn (safe while the caller iterates over sessions).
  void closeSoon(std::string_view reason);
  size_t queuedBytes() const;
  // Writes the frames waiting for the end of the loop turn on the WebSocket now, in one write,
  // so that what is sent after this call leaves in a later write. No-op on polling.
  void flush();
  const std::string& peer() const { return peer_; }

  void* userData = nullptr;  // the Socket.IO client of this session

 private:
  friend class Server;
  enum class Transport : uint8_t { Polling, WebSocket };
  enum class TimerState : uint8_t { PingInterval, WaitPong, CloseSoon };

  Session(Server* server, std::string id, std::string peer);
  bool start(uv_loop_t* loop);
  void sendPacket(const http::SharedFrame& frame);
  void flushPolling();
  // Answers the held polling GET, if any, with a noop (6): it returns without data.
  void releasePoll();
  void flushToWebSocket();
  void armTimer(TimerState state, uint64_t ms);
  void onPong();
  static void onTimerCb(uv_timer_t* t);
  static void onTimerCloseCb(uv_handle_t* h);

  Server* server_;
  std::string id_;
  std::string peer_;
  Transport transport_ = Transport::Polling;
  http::Connection* pollConn_ = nullptr;  // the held polling GET
  http::Connection* wsConn_ = nullptr;    // the WebSocket (probing or active)
  bool upgrading_ = false;                // wsConn_ probes, polling still active
  bool probed_ = false;                   // 2probe seen: answer polling GETs with noop
  std::vector<http::SharedFrame> queue_;   // polling: packets not yet fetched
  size_t queueBytes_ = 0;
  uv_timer_t timer_{};
  TimerState timerState_ = TimerState::PingInterval;
  std::string closeReason_;
  bool closed_ = false;
};

}  // namespace backend::engineio
