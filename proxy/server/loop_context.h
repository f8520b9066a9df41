// What every connection object of one worker loop shares: the loop, its single read buffer, and
// the configuration it runs with.
//
// One read buffer per loop is enough because libuv calls the read callback right after the
// alloc callback: data is handled (or the unconsumed tail copied into its connection) before
// the next read reuses the buffer. Idle connections therefore hold no read buffer at all.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstddef>

#include "proxy/config/config.h"

namespace proxy::health {
class HealthHub;
}

namespace proxy::server {

struct LoopContext {
  static constexpr size_t kReadBufferSize = 64 * 1024;

  uv_loop_t* loop = nullptr;
  const config::Config* config = nullptr;
  char* read_buffer = nullptr;         // kReadBufferSize bytes, owned by the worker
  bool draining = false;               // shutting down: finish in-flight work, keep nothing alive
  std::atomic<uint64_t>* connections = nullptr;  // process-wide downstream connection count
  health::HealthHub* health = nullptr;  // health (issue #5): passive failures go up through it; may be null

  // libuv alloc callback handing out the loop's read buffer; handle->loop->data is the context.
  static void allocCb(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    auto* ctx = static_cast<LoopContext*>(handle->loop->data);
    *buf = uv_buf_init(ctx->read_buffer, kReadBufferSize);
  }
};

}  // namespace proxy::server
