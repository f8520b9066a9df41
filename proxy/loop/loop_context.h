// What every connection object of one worker loop shares (client sessions in server/, upstream
// connections in upstream/): the loop, its single read buffer, and the configuration it runs with.
//
// One read buffer per loop is enough because libuv calls the read callback right after the
// alloc callback: data is handled (or the unconsumed tail copied into its connection) before
// the next read reuses the buffer. Idle connections therefore hold no read buffer at all.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstddef>
#include <memory>

#include "proxy/config/config.h"
#include "proxy/edge/request_id.h"
#include "proxy/loop/turn_end.h"

namespace proxy::metrics {
struct WorkerMetrics;
class SeriesRegistry;
class AccessLog;
}
namespace proxy::upstream {
class MembershipHub;
}

namespace proxy::server {
class Session;
}

namespace proxy::loop {

// The iovec batch a session fills while handling one upstream read and flushes with one writev
// before the callback returns. It never outlives a callback, so one per loop is enough (and
// sessions stay small: an idle tunnel carries no batch).
struct OutBatch {
  static constexpr unsigned kMaxIov = 48;
  uv_buf_t iov[kMaxIov];
  unsigned n = 0;
  char chunk_lines[kMaxIov][20];
  unsigned chunks = 0;
  server::Session* owner = nullptr;  // the session filling it
};

struct LoopContext {
  static constexpr size_t kReadBufferSize = 64 * 1024;

  uv_loop_t* loop = nullptr;
  const config::Config* config = nullptr;
  char* read_buffer = nullptr;         // kReadBufferSize bytes, owned by the worker
  char* tls_buffer = nullptr;          // kReadBufferSize bytes for decrypted TLS records
  // kReadBufferSize bytes for records decrypted from TLS upstreams (upstreams.NAME.tls), made
  // on first use. Apart from tls_buffer so that neither side's plaintext can overwrite the other's.
  std::unique_ptr<char[]> upstream_tls_buffer;
  OutBatch out;
  TurnEnd* turn_end = nullptr;         // work run at the end of each loop turn, owned by the worker
  bool draining = false;               // shutting down: finish in-flight work, keep nothing alive
  std::atomic<uint64_t>* connections = nullptr;  // process-wide downstream connection count
  unsigned worker_id = 0;              // this worker's slot in every metric series
  metrics::WorkerMetrics* metrics = nullptr;   // this worker's counters outside upstreams
  metrics::SeriesRegistry* series = nullptr;   // per-upstream and per-server series, by identity
  metrics::AccessLog* access_log = nullptr;    // null: off
  // Membership snapshots come down through it and passive failures go up; null in unit tests.
  upstream::MembershipHub* hub = nullptr;
  edge::RequestIdGenerator request_ids;        // request ids this worker makes (request_id: on)

  // libuv alloc callback handing out the loop's read buffer; handle->loop->data is the context.
  static void allocCb(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    auto* ctx = static_cast<LoopContext*>(handle->loop->data);
    *buf = uv_buf_init(ctx->read_buffer, kReadBufferSize);
  }
};

}  // namespace proxy::loop

namespace proxy::server {
using loop::LoopContext;  // the client side's everyday names for them
using loop::OutBatch;
}  // namespace proxy::server
