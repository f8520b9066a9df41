// Queued shared frames of one connection; see frame_queue.h.
#include "backend/http/frame_queue.h"

#include <cassert>

namespace backend::http {
namespace {
constexpr size_t kKeepCapacity = 64;  // an emptied queue keeps at most this many slots
}  // namespace

void FrameQueue::push(SharedFrame frame) {
  assert(frame);
  bytes_ += frame->size();
  frames_.push_back(std::move(frame));
}

size_t FrameQueue::gather(uv_buf_t* bufs, size_t max) const {
  size_t n = 0;
  for (size_t i = head_; i < frames_.size() && n < max; ++i) {
    std::string_view w = frames_[i]->wire();
    size_t skip = i == head_ ? offset_ : 0;
    assert(skip < w.size() || w.empty());
    bufs[n++] = uv_buf_init(const_cast<char*>(w.data() + skip), static_cast<unsigned>(w.size() - skip));
  }
  return n;
}

void FrameQueue::consume(size_t n) {
  assert(n <= bytes_);
  bytes_ -= n;
  while (n > 0 && head_ < frames_.size()) {
    size_t left = frames_[head_]->size() - offset_;
    if (n < left) {
      offset_ += n;
      return;
    }
    n -= left;
    frames_[head_++].reset();
    offset_ = 0;
  }
  if (head_ == frames_.size()) {
    clear();
  } else if (head_ >= 256 && head_ * 2 >= frames_.size()) {  // a long backlog: drop the written slots
    frames_.erase(frames_.begin(), frames_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void FrameQueue::clear() {
  frames_.clear();
  if (frames_.capacity() > kKeepCapacity) frames_.shrink_to_fit();  // idle connections hold no big arrays
  head_ = 0;
  offset_ = 0;
  bytes_ = 0;
}

}  // namespace backend::http
