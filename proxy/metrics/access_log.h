// The optional access log (`access_log: {path, format: json|combined}`): one line per response,
// never blocking the worker loop.
//
// Each worker owns one AccessLog with two buffers: lines are appended to `filling_`; a 200 ms
// timer (or a full buffer) swaps the buffers and hands the full one to uv_fs_write, which runs on
// libuv's thread pool. While a write is in flight the next lines keep filling the other buffer;
// if that one reaches kMaxBuffered before the disk catches up, further lines are dropped and
// counted (the loop is never made to wait for the disk). Every worker opens the file with
// O_APPEND and writes whole lines, so lines of different workers never interleave.
// At shutdown the remainder is written synchronously (the loop has stopped by then).
#pragma once

#include <uv.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "proxy/config/config.h"
#include "proxy/metrics/counters.h"

namespace proxy::metrics {

struct AccessEntry {
  std::string_view client_ip, method, url, user_agent, referer, upstream, server;
  std::string_view request_id;  // empty: request ids off (the field is left out)
  std::string_view upstream_url;  // the target sent upstream when a route rewrote it (JSON only)
  int status = 0;
  uint8_t http_minor = 1;
  bool http2 = false;        // an HTTP/2 stream (http_minor ignored)
  uint64_t bytes = 0;        // response body bytes relayed
  uint64_t duration_ns = 0;  // request head parsed -> response complete
};

class AccessLog {
 public:
  static constexpr size_t kFlushBytes = 64 * 1024;
  static constexpr size_t kMaxBuffered = 4 * 1024 * 1024;
  static constexpr uint64_t kFlushIntervalMs = 200;

  // `dropped` counts lines given up when the disk falls behind (tether_access_log_dropped_total).
  AccessLog(uv_loop_t* loop, const config::AccessLogConfig& cfg, Counter& dropped);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Opens the file and starts the flush timer (start-up, may block). False with a message.
  bool open(std::string& error);
  void append(const AccessEntry& e);

 private:
  static void onTimerCb(uv_timer_t* t);
  static void onWriteCb(uv_fs_t* req);
  void flush();
  const std::string& timestamp();
  void appendJson(const AccessEntry& e);
  void appendCombined(const AccessEntry& e);

  uv_loop_t* loop_;
  config::AccessLogConfig cfg_;
  uv_file fd_ = -1;
  uv_timer_t timer_;
  bool timer_open_ = false;
  uv_fs_t req_;
  bool in_flight_ = false;
  std::string filling_;
  std::string writing_;
  Counter& dropped_;
  time_t stamp_second_ = 0;
  std::string stamp_;
};

}  // namespace proxy::metrics
