// LD_PRELOAD counter for bench/chat/profile.sh (never part of the build or tests). Counts the
// heap allocations (malloc, calloc, realloc, aligned) and the write/writev system calls of the
// process it is preloaded into, and rewrites "<allocations> <writes>" to $MALLOC_COUNT_FILE
// every 100 ms, so a driver can take differences over a measuring window without slowing the
// process down as strace does. Allocation calls go to glibc's __libc_* entry points (no dlsym:
// dlsym itself allocates); write/writev go straight to the system call.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

static atomic_ulong allocs;
static atomic_ulong writes;

ssize_t write(int fd, const void* buf, size_t n) {
  atomic_fetch_add_explicit(&writes, 1, memory_order_relaxed);
  return syscall(SYS_write, fd, buf, n);
}
ssize_t writev(int fd, const struct iovec* iov, int n) {
  atomic_fetch_add_explicit(&writes, 1, memory_order_relaxed);
  return syscall(SYS_writev, fd, iov, n);
}

void* malloc(size_t n) { atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed); return __libc_malloc(n); }
void* calloc(size_t a, size_t b) { atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed); return __libc_calloc(a, b); }
void* realloc(void* p, size_t n) { atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed); return __libc_realloc(p, n); }
void free(void* p) { __libc_free(p); }
void* memalign(size_t al, size_t n) { atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed); return __libc_memalign(al, n); }
void* aligned_alloc(size_t al, size_t n) { return memalign(al, n); }
int posix_memalign(void** out, size_t al, size_t n) {
  void* p = memalign(al, n);
  if (!p) return 12;
  *out = p;
  return 0;
}

static void* reporter(void* arg) {
  const char* path = arg;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  for (;;) {
    FILE* f = fopen(tmp, "w");
    if (f) {
      fprintf(f, "%lu %lu\n", atomic_load_explicit(&allocs, memory_order_relaxed),
              atomic_load_explicit(&writes, memory_order_relaxed));
      fclose(f);
      rename(tmp, path);
    }
    usleep(100000);
  }
  return NULL;
}

__attribute__((constructor)) static void start(void) {
  const char* path = getenv("MALLOC_COUNT_FILE");
  if (!path || !*path) return;
  pthread_t t;
  if (pthread_create(&t, NULL, reporter, strdup(path)) == 0) pthread_detach(t);
}
