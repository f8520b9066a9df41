// One load-generator thread of `tether-bench chat`: its own libuv loop, its share of the clients,
// a 1 ms pacing timer, and counters the main thread reads while it runs.
//
// Phases, set by the main thread through Control (published with release/acquire):
//   Connect  open the worker's clients at its share of --ramp; a client that has not joined by
//            the connect deadline is closed and counted as failed; then `settled` is set and
//            joinedPerRoom() is final.
//   Load     open loop: the worker's joined clients send `rate` messages per second each, as
//            one round-robin stream at (joined x rate) per second over a shuffled client order,
//            so every client sends every 1/rate s with its phases spread evenly. Message k is
//            stamped with its due time (load_start + k / thread_rate), or with the send time
//            when it is at most one tick late, so a generator that falls behind shows it as
//            latency. Sending stops at measure_to.
//   Stop     every client is closed and the loop ends.
// Each receive records now - stamp into the worker's histogram when it arrives inside
// [measure_from, measure_to). `expected` grows by the room's member count at every send, so
// after the drain expected == received means every message reached every member.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/chat/chat_client.h"
#include "bench/common/histogram.h"
#include "bench/common/target.h"

namespace bench::chat {

enum class Phase : int { Connect = 0, Load = 1, Stop = 2 };

struct Control {
  std::atomic<int> phase{static_cast<int>(Phase::Connect)};
  // Written by the main thread before phase becomes Load.
  uint64_t load_start_ns = 0, measure_from_ns = 0, measure_to_ns = 0;
  std::vector<uint32_t> members;  // joined clients per room, all workers together
};

struct WorkerParams {
  const Target* target = nullptr;
  std::vector<uint32_t> client_ids;  // global ids; the room of id i is i % rooms
  uint32_t rooms = 1;
  uint32_t total_clients = 1;
  double rate = 1;         // messages per second per client
  size_t size = 64;        // text bytes per message
  double ramp = 1000;      // connections per second for this worker
  double connect_timeout_s = 30;
};

// Written by the worker only (relaxed stores), read by anyone.
struct alignas(64) WorkerCounters {
  std::atomic<uint64_t> joined{0}, connect_failed{0}, disconnects{0};
  std::atomic<uint64_t> sent{0}, acked{0}, ack_errors{0}, received{0}, misrouted{0}, expected{0};
};

class Worker final : private ClientOwner {
 public:
  Worker(WorkerParams params, Control& control);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the thread; false (with a message on stderr) when it could not start.
  bool start();
  void join();
  std::thread::native_handle_type threadHandle() { return thread_.native_handle(); }

  bool settled() const { return settled_.load(std::memory_order_acquire); }
  // Valid once settled().
  const std::vector<uint32_t>& joinedPerRoom() const { return joined_per_room_; }
  const WorkerCounters& counters() const { return counters_; }
  size_t backlogAtStop() const { return backlog_at_stop_; }
  // Valid after join().
  const Histogram& latency() const { return hist_; }

 private:
  void run();
  static void onTickCb(uv_timer_t* t);
  void tick();
  void connectSome(uint64_t now);
  void sendDue(uint64_t now);
  void stop();
  static void bump(std::atomic<uint64_t>& c, uint64_t by = 1) {
    c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  // ClientOwner
  void onJoined(ChatClient& c) override;
  void onFailed(ChatClient& c, const char* what, int uv_status) override;
  void onDelivery(ChatClient& c, uint64_t stamp_ns, uint64_t sender, uint64_t now_ns) override;
  void onAck(ChatClient& c, bool ok) override;

  WorkerParams p_;
  Control& control_;
  std::thread thread_;
  uv_loop_t loop_;
  uv_timer_t tick_;
  std::unique_ptr<char[]> read_buffer_;
  std::vector<std::unique_ptr<ChatClient>> clients_;
  std::vector<ChatClient*> senders_;  // joined clients in shuffled order, fixed at load start
  std::vector<uint32_t> joined_per_room_;
  std::atomic<bool> settled_{false};
  WorkerCounters counters_;
  Histogram hist_;
  Phase phase_ = Phase::Connect;
  uint64_t start_ns_ = 0;
  uint64_t sent_ = 0;       // messages due so far in this worker's stream
  double thread_rate_ = 0;  // messages per second, all its senders together
  size_t next_ = 0;
  size_t backlog_at_stop_ = 0;
  uint64_t reported_failures_ = 0;
  bool sending_done_ = false;
};

}  // namespace bench::chat
