// The meeting point of the process-wide health checker and the worker loops.
//
// Down the pipe (checker -> workers): the checker publishes a new immutable ServerStates per
// upstream; the hub stores it under a mutex and wakes every subscribed worker with its own
// uv_async. The worker then copies the shared_ptr into its UpstreamRuntime, so picks read a
// plain member: no lock, no atomic, on the data path. In-flight picks keep the old snapshot.
//
// Up the pipe (workers/admin -> checker): passive failures seen by workers and drain requests
// (admin API) are queued under the mutex and the checker's uv_async is sent; the checker drains
// the queue on its own loop, feeds its threshold engines and publishes what changed.
//
// All methods are thread-safe. uv_async_send is the only libuv call made from a foreign thread,
// which libuv allows; subscribers unsubscribe before closing their async handle.
#pragma once

#include <uv.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/config/config.h"
#include "proxy/health/server_states.h"

namespace proxy::health {

struct HealthEvent {
  enum class Kind : uint8_t { PassiveFailure, SetDrain };
  Kind kind;
  uint32_t upstream;
  uint32_t server;
  bool on = false;          // SetDrain
  const char* what = "";    // PassiveFailure: a static string ("connect_failed", "status_502"...)
};

class HealthHub {
 public:
  // Builds the starting snapshots from the config (health_check.initial, state: drain|down).
  explicit HealthHub(const config::Config& cfg);
  HealthHub(const HealthHub&) = delete;
  HealthHub& operator=(const HealthHub&) = delete;

  size_t upstreamCount() const { return slots_.size(); }
  ServerStatesPtr load(size_t upstream) const;

  // Checker side: replaces the snapshot of `upstream` and wakes every subscriber.
  void publish(size_t upstream, ServerStatesPtr states);
  void setConsumer(uv_async_t* checker_async);

  // Worker side.
  void subscribe(uv_async_t* worker_async);
  void unsubscribe(uv_async_t* worker_async);

  // Any thread.
  void reportPassiveFailure(uint32_t upstream, uint32_t server, const char* what);
  // Admin API hook: drain (on=true) or undrain a server. Also used for `state: drain` at start.
  void setDrain(uint32_t upstream, uint32_t server, bool on);
  std::vector<HealthEvent> takeEvents();

 private:
  void push(const HealthEvent& e);

  mutable std::mutex mu_;
  std::vector<ServerStatesPtr> slots_;
  std::vector<uv_async_t*> subscribers_;
  uv_async_t* consumer_ = nullptr;
  std::vector<HealthEvent> events_;
};

// Builds a snapshot from per-server flags (fills `unavailable` and `all_down`).
ServerStatesPtr makeStates(uint64_t generation, std::vector<uint8_t> down, std::vector<uint8_t> draining,
                           std::vector<uint8_t> weight_step = {});

}  // namespace proxy::health
