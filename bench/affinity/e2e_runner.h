// The traffic of one strategy in `tether-bench affinity --e2e`: sessions 0 .. total-1 on one
// libuv loop, at most `wave` at a time; session k is client k % clients' (k / clients)-th
// session, started only once that client's previous one ended (so its cookies and its last
// server are known). Before session `remove_at` and `add_at` starts, and once every session in
// flight has had its handshake answered, the churn hooks run (they block the loop while tether
// reloads); the sessions in flight then meet the change mid-session and are counted apart. Outcomes are folded into an E2eResult as they arrive (definitions: e2e_stats.h).
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/affinity/affinity_sim.h"
#include "bench/affinity/e2e_stats.h"
#include "bench/affinity/eio_session.h"

namespace bench::affinity {

struct ChurnHooks {
  std::function<std::string()> remove, add;  // "" or what went wrong (the run stops)
};

class TrafficRun {
 public:
  // `addresses` maps a client to its source address (SimConfig::address_base, nat_groups).
  // `target`: tether's listener (IPv4); `host`: the Host header.
  TrafficRun(const E2eParams& params, const SimConfig& addresses, double session_timeout_s, const sockaddr_in& target,
             std::string host, ChurnHooks hooks);
  TrafficRun(const TrafficRun&) = delete;
  TrafficRun& operator=(const TrafficRun&) = delete;
  ~TrafficRun();

  // Runs every session; "" or why the run stopped early (churn failure, interrupted, libuv).
  std::string run(E2eResult& out);

 private:
  struct Client {
    std::vector<std::pair<std::string, std::string>> cookies;  // the jar (kept across sessions)
    std::string last_server;
    int counted_epoch = 0;  // the last churn epoch whose first session was counted for remap
    bool busy = false;
  };
  struct Active {
    std::unique_ptr<EioSession> session;
    size_t index = 0;
    int epoch_at_start = 0;
    bool finished = false;
    SessionOutcome outcome;
  };

  static void onPrepareCb(uv_prepare_t* h);
  static void onTimerCb(uv_timer_t* h);
  void pump();
  bool startNext();
  void record(const Active& a);
  void stop(const std::string& why);

  E2eParams params_;
  SimConfig addresses_;
  uint64_t timeout_ns_;
  sockaddr_in target_{};
  std::string host_;
  ChurnHooks hooks_;
  uv_loop_t loop_{};
  uv_prepare_t prepare_{};
  uv_timer_t timer_{};
  bool loop_ready_ = false, stopping_ = false, handles_closed_ = false;
  size_t total_ = 0, next_ = 0;
  int epoch_ = 0;  // churn events done
  std::vector<Client> clients_;
  std::vector<std::unique_ptr<Active>> active_;
  E2eResult* out_ = nullptr;
  std::string error_;
};

}  // namespace bench::affinity
