// Bounded, ordered queue of sends waiting for the bus; see send_queue.h.
#include "backend/bus/send_queue.h"

#include <algorithm>
#include <cassert>

namespace backend::bus {

void SendQueue::count(const std::string& room, int delta) {
  if (delta > 0) {
    ++perRoom_[room];
    return;
  }
  auto it = perRoom_.find(room);
  if (it == perRoom_.end()) {
    assert(false && "a room's count went below zero");
    return;
  }
  if (--it->second == 0) perRoom_.erase(it);
}

bool SendQueue::push(QueuedSend& s, uint64_t nowMs) {
  if (full()) return false;
  s.order = nextOrder_++;
  s.queuedAtMs = nowMs;
  count(s.room, +1);
  entries_.push_back(std::move(s));
  return true;
}

void SendQueue::putBack(QueuedSend s) {
  assert(s.order != 0 && s.order < nextOrder_);
  auto at = std::upper_bound(entries_.begin(), entries_.end(), s.order,
                             [](uint64_t order, const QueuedSend& e) { return order < e.order; });
  count(s.room, +1);
  entries_.insert(at, std::move(s));
}

std::vector<QueuedSend> SendQueue::takeReady(const std::function<bool(const std::string& room)>& ready) {
  std::vector<QueuedSend> out;
  std::deque<QueuedSend> keep;
  std::unordered_map<std::string, bool> verdict;  // one question per room
  for (auto& e : entries_) {
    auto [it, fresh] = verdict.try_emplace(e.room, false);
    if (fresh) it->second = ready(e.room);
    if (it->second) {
      count(e.room, -1);
      out.push_back(std::move(e));
    } else {
      keep.push_back(std::move(e));
    }
  }
  entries_ = std::move(keep);
  return out;
}

std::vector<QueuedSend> SendQueue::takeExpired(uint64_t nowMs) {
  std::vector<QueuedSend> out;
  while (!entries_.empty() && nowMs - entries_.front().queuedAtMs >= maxWaitMs_) {
    count(entries_.front().room, -1);
    out.push_back(std::move(entries_.front()));
    entries_.pop_front();
  }
  return out;
}

std::vector<QueuedSend> SendQueue::takeAll() {
  std::vector<QueuedSend> out(std::make_move_iterator(entries_.begin()), std::make_move_iterator(entries_.end()));
  entries_.clear();
  perRoom_.clear();
  return out;
}

uint64_t SendQueue::nextExpiryMs() const {
  return entries_.empty() ? 0 : entries_.front().queuedAtMs + maxWaitMs_;
}

}  // namespace backend::bus
