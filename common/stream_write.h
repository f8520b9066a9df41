// Writing to a libuv stream without holding buffers in the common case.
//
// writeOrQueue() first tries uv_try_write (one writev, no allocation); only the bytes the kernel
// did not take are copied into a single heap block and queued with uv_write. The caller learns how
// many bytes are queued, so it can apply backpressure (stop reading the other side) until the
// done-callback reports the queue drained. Order is preserved: libuv's try_write refuses to write
// while earlier writes are queued, so later data queues behind them.
#pragma once

#include <uv.h>

#include <cstddef>

namespace common {

// Called once per queued block when it is written (status 0) or failed/cancelled (< 0).
// `bytes` is the block's size; `owner` is what was passed to writeOrQueue.
using WriteDoneCb = void (*)(void* owner, int status, size_t bytes);

// Returns the number of bytes queued (0 when everything was written at once), or a negative
// libuv error (nothing queued; the stream is unusable).
long writeOrQueue(uv_stream_t* stream, const uv_buf_t* bufs, unsigned nbufs, void* owner, WriteDoneCb done);

}  // namespace common
