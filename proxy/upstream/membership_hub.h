// The meeting point of the process-wide membership manager (main loop) and the worker loops.
//
// Down the pipe (manager -> workers): the manager publishes one immutable Membership per
// upstream of the configuration it runs (lb/membership.h); the hub stores them under a mutex and
// wakes every subscribed worker with its own uv_async. A worker copies the shared_ptr into the
// runtime whose configuration the snapshot was built for (Membership::layout), so picks read a
// plain member: no lock, no atomic, on the data path. Runtimes of older configurations keep
// their last snapshot until their in-flight requests finish.
//
// Up the pipe (workers -> manager): passive failures seen by workers are queued under the mutex,
// named by identity (upstream and server names, so a report from an older configuration still
// finds its server, or nothing), and the manager's uv_async is sent.
//
// All methods are thread-safe. uv_async_send is the only libuv call made from a foreign thread,
// which libuv allows; subscribers unsubscribe before closing their async handle.
#pragma once

#include <uv.h>

#include <mutex>
#include <string>
#include <vector>

#include "proxy/lb/membership.h"

namespace proxy::upstream {

struct PassiveFailure {
  std::string upstream;
  std::string server;
  const char* what = "";  // a static string ("connect_failed", "status_502"...)
};

class MembershipHub {
 public:
  MembershipHub() = default;
  MembershipHub(const MembershipHub&) = delete;
  MembershipHub& operator=(const MembershipHub&) = delete;

  // The snapshot of the current configuration's upstream `index` (null before the first publish).
  lb::MembershipPtr load(size_t index) const;

  // Manager side: replaces every upstream's snapshot (index = position in the configuration) and
  // wakes every subscriber.
  void publish(std::vector<lb::MembershipPtr> snapshots);
  void setConsumer(uv_async_t* manager_async);
  std::vector<PassiveFailure> takeFailures();

  // Worker side.
  void subscribe(uv_async_t* worker_async);
  void unsubscribe(uv_async_t* worker_async);
  void reportPassiveFailure(std::string_view upstream, std::string_view server, const char* what);

 private:
  mutable std::mutex mu_;
  std::vector<lb::MembershipPtr> slots_;
  std::vector<uv_async_t*> subscribers_;
  uv_async_t* consumer_ = nullptr;
  std::vector<PassiveFailure> failures_;
};

}  // namespace proxy::upstream
