// Work deferred to the end of the loop turn. A uv_check handle runs every queued task once the
// turn's I/O callbacks are done, so output that several callbacks of one turn produce for the
// same connection leaves together: an HTTP/2 connection whose streams are answered by several
// upstream reads in one turn sends one TLS record and one write, not one per response.
//
// The handle is active only while tasks wait. Queueing is idempotent; a task that goes away
// cancels itself. Tasks queued while the queue runs are run in the same turn (the check phase
// is never left with work waiting, or it would wait for the next I/O event).
#pragma once

#include <uv.h>

#include "common/intrusive_list.h"

namespace proxy::loop {

class TurnEnd {
 public:
  struct Task : common::ListNode {
    virtual void onTurnEnd() = 0;

   protected:
    ~Task() = default;
  };

  TurnEnd() = default;
  TurnEnd(const TurnEnd&) = delete;
  TurnEnd& operator=(const TurnEnd&) = delete;

  // Returns libuv's error (negative) when the check handle cannot be made.
  int init(uv_loop_t* loop);
  // Closes the handle (the loop's end); queued tasks are dropped, later ones ignored.
  void close();

  void queue(Task* t);
  void cancel(Task* t) { tasks_.remove(t); }

 private:
  static void onCheckCb(uv_check_t* h);

  uv_check_t check_{};
  common::IntrusiveList<Task> tasks_;
  bool open_ = false;
  bool active_ = false;
};

}  // namespace proxy::loop
