// TurnEnd: tasks run at the end of the loop turn; see turn_end.h.
#include "proxy/loop/turn_end.h"

#include <cassert>

#include "common/uv_util.h"

namespace proxy::loop {

int TurnEnd::init(uv_loop_t* loop) {
  int rc = uv_check_init(loop, &check_);
  if (rc < 0) return rc;
  check_.data = this;
  open_ = true;
  return 0;
}

void TurnEnd::close() {
  while (tasks_.popFront()) {
  }
  if (open_) common::closeHandle(&check_);
  open_ = active_ = false;
}

void TurnEnd::queue(Task* t) {
  if (!open_ || t->linked()) return;  // closed: the loop is ending, there is no turn left to run it
  tasks_.pushBack(t);
  if (!active_) {
    // uv_check_start fails only for a closing handle, which queue() never sees (close() is last).
    int rc = uv_check_start(&check_, &TurnEnd::onCheckCb);
    assert(rc == 0);
    (void)rc;
    active_ = true;
  }
}

void TurnEnd::onCheckCb(uv_check_t* h) {
  auto* self = static_cast<TurnEnd*>(h->data);
  while (Task* t = self->tasks_.popFront()) t->onTurnEnd();
  if (self->open_ && self->tasks_.empty()) {
    uv_check_stop(&self->check_);  // never fails for a check handle
    self->active_ = false;
  }
}

}  // namespace proxy::loop
