// writeOrQueue: see stream_write.h.
#include "common/stream_write.h"

#include <cstdlib>
#include <cstring>

namespace common {
namespace {

struct QueuedWrite {
  uv_write_t req;
  void* owner;
  WriteDoneCb done;
  size_t len;
  char* data() { return reinterpret_cast<char*>(this + 1); }  // the unwritten bytes follow
};

void onWriteCb(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<QueuedWrite*>(req);
  w->done(w->owner, status, w->len);
  std::free(w);
}

}  // namespace

long writeOrQueue(uv_stream_t* stream, const uv_buf_t* bufs, unsigned nbufs, void* owner, WriteDoneCb done) {
  size_t total = 0;
  for (unsigned i = 0; i < nbufs; ++i) total += bufs[i].len;
  if (total == 0) return 0;
  size_t written = 0;
  int rc = uv_try_write(stream, bufs, nbufs);
  if (rc >= 0) {
    written = static_cast<size_t>(rc);
    if (written == total) return 0;
  } else if (rc != UV_EAGAIN && rc != UV_ENOSYS) {
    return rc;
  }
  size_t rest = total - written;
  auto* w = static_cast<QueuedWrite*>(std::malloc(sizeof(QueuedWrite) + rest));
  if (!w) return UV_ENOMEM;
  w->owner = owner;
  w->done = done;
  w->len = rest;
  size_t skip = written, off = 0;
  for (unsigned i = 0; i < nbufs; ++i) {
    size_t len = bufs[i].len;
    if (skip >= len) {
      skip -= len;
      continue;
    }
    std::memcpy(w->data() + off, bufs[i].base + skip, len - skip);
    off += len - skip;
    skip = 0;
  }
  uv_buf_t one = uv_buf_init(w->data(), static_cast<unsigned>(rest));
  rc = uv_write(&w->req, stream, &one, 1, &onWriteCb);
  if (rc < 0) {
    std::free(w);
    return rc;
  }
  return static_cast<long>(rest);
}

}  // namespace common
