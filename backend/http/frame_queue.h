// The frames one WebSocket connection has not handed to the kernel yet: references to shared
// frames (out_frame.h), in order, with the byte offset already written of the first. Pure, no
// I/O: the connection gathers them into one iovec array for a single writev (uv_try_write,
// then uv_write for what the kernel did not take) and consumes what was written.
//
// Worked example: frames A (10 bytes), B (5), C (7) queued, bytes() 22. A write takes 12:
// consume(12) drops A and leaves B with offset 2, bytes() 10; gather() then yields B[2..5), C.
// Memory: a frame stays alive while any connection still queues it; bytes() counts it for
// each such connection, which is what the per-client send-queue cap limits.
#pragma once

#include <uv.h>

#include <cstddef>
#include <vector>

#include "backend/http/out_frame.h"

namespace backend::http {

class FrameQueue {
 public:
  void push(SharedFrame frame);
  bool empty() const { return head_ == frames_.size(); }
  size_t frames() const { return frames_.size() - head_; }
  size_t bytes() const { return bytes_; }
  // Fills at most `max` buffers with the unwritten bytes, in order, starting with the
  // unwritten rest of the first frame; returns how many it filled. The buffers point into the
  // frames, which stay alive until consume() passes them.
  size_t gather(uv_buf_t* bufs, size_t max) const;
  // `n` bytes (at most bytes()) were written: drops the frames fully written.
  void consume(size_t n);
  void clear();

 private:
  std::vector<SharedFrame> frames_;
  size_t head_ = 0;    // frames_[0, head_) are written, kept until the vector is compacted
  size_t offset_ = 0;  // bytes of frames_[head_] already written
  size_t bytes_ = 0;   // unwritten bytes
};

}  // namespace backend::http
