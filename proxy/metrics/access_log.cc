// AccessLog: see access_log.h.
#include "proxy/metrics/access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "common/log.h"
#include "common/uv_util.h"

namespace proxy::metrics {
namespace {

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\u%04x", c);
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

// Combined-format fields are quoted; a quote or control byte in them is escaped as \xHH (nginx).
void appendQuoted(std::string& out, std::string_view s) {
  out += '"';
  if (s.empty()) out += '-';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\x%02X", c);
      out += esc;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

}  // namespace

AccessLog::AccessLog(uv_loop_t* loop, const config::AccessLogConfig& cfg, Counter& dropped)
    : loop_(loop), cfg_(cfg), dropped_(dropped) {
  timer_.data = this;
  req_.data = this;
}

AccessLog::~AccessLog() {
  // The loop has stopped: write what is left, synchronously.
  if (fd_ >= 0) {
    if (!filling_.empty()) {
      ssize_t n = ::write(fd_, filling_.data(), filling_.size());
      (void)n;
    }
    ::close(fd_);
  }
}

bool AccessLog::open(std::string& error) {
  uv_fs_t req;
  int rc = uv_fs_open(nullptr, &req, cfg_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644, nullptr);
  uv_fs_req_cleanup(&req);
  if (rc < 0) {
    error = "cannot open access log " + cfg_.path + ": " + uv_strerror(rc);
    return false;
  }
  fd_ = rc;
  rc = uv_timer_init(loop_, &timer_);
  if (rc == 0) {
    timer_open_ = true;
    rc = uv_timer_start(&timer_, &AccessLog::onTimerCb, kFlushIntervalMs, kFlushIntervalMs);
  }
  if (rc < 0) {
    error = std::string("access log timer: ") + uv_strerror(rc);
    return false;
  }
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));  // never keeps a stopping worker alive
  filling_.reserve(kFlushBytes * 2);
  return true;
}

void AccessLog::onTimerCb(uv_timer_t* t) { static_cast<AccessLog*>(t->data)->flush(); }

void AccessLog::flush() {
  if (in_flight_ || filling_.empty() || fd_ < 0) return;
  writing_.swap(filling_);
  filling_.clear();
  uv_buf_t buf = uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
  int rc = uv_fs_write(loop_, &req_, fd_, &buf, 1, -1, &AccessLog::onWriteCb);
  if (rc < 0) {
    common::logWarn("access_log_write_failed", {{"error", common::uvErr(rc)}});
    writing_.clear();
    return;
  }
  in_flight_ = true;
}

void AccessLog::onWriteCb(uv_fs_t* req) {
  auto* self = static_cast<AccessLog*>(req->data);
  if (req->result < 0) common::logWarn("access_log_write_failed", {{"error", common::uvErr(static_cast<int>(req->result))}});
  // A short write on a regular file means the disk is full; the rest of the block is lost.
  uv_fs_req_cleanup(req);
  self->in_flight_ = false;
  self->writing_.clear();
  if (self->filling_.size() >= kFlushBytes) self->flush();
}

const std::string& AccessLog::timestamp() {
  time_t now = ::time(nullptr);
  if (now != stamp_second_ || stamp_.empty()) {
    stamp_second_ = now;
    tm t;
    gmtime_r(&now, &t);
    char buf[40];
    size_t n = cfg_.format == config::AccessLogConfig::Format::Json ? std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &t)
                                                                    : std::strftime(buf, sizeof(buf), "%d/%b/%Y:%H:%M:%S +0000", &t);
    stamp_.assign(buf, n);
  }
  return stamp_;
}

void AccessLog::append(const AccessEntry& e) {
  if (filling_.size() >= kMaxBuffered) {
    dropped_.add();
    return;
  }
  if (cfg_.format == config::AccessLogConfig::Format::Json) appendJson(e);
  else appendCombined(e);
  if (filling_.size() >= kFlushBytes) flush();
}

void AccessLog::appendJson(const AccessEntry& e) {
  std::string& o = filling_;
  o += "{\"time\":\"";
  o += timestamp();
  o += "\",\"client\":";
  appendJsonString(o, e.client_ip);
  o += ",\"method\":";
  appendJsonString(o, e.method);
  o += ",\"url\":";
  appendJsonString(o, e.url);
  if (!e.upstream_url.empty()) {
    o += ",\"upstream_url\":";
    appendJsonString(o, e.upstream_url);
  }
  o += e.http2 ? ",\"protocol\":\"HTTP/2.0\"" : e.http_minor == 0 ? ",\"protocol\":\"HTTP/1.0\"" : ",\"protocol\":\"HTTP/1.1\"";
  char num[96];
  std::snprintf(num, sizeof(num), ",\"status\":%d,\"bytes\":%llu,\"duration_ms\":%.3f", e.status,
                static_cast<unsigned long long>(e.bytes), static_cast<double>(e.duration_ns) / 1e6);
  o += num;
  o += ",\"upstream\":";
  appendJsonString(o, e.upstream);
  o += ",\"server\":";
  appendJsonString(o, e.server);
  o += ",\"user_agent\":";
  appendJsonString(o, e.user_agent);
  o += ",\"referer\":";
  appendJsonString(o, e.referer);
  if (!e.request_id.empty()) {
    o += ",\"request_id\":";
    appendJsonString(o, e.request_id);
  }
  o += "}\n";
}

// nginx/Apache "combined": ip - - [time] "request" status bytes "referer" "user-agent" and, with
// request ids on, "request-id"
void AccessLog::appendCombined(const AccessEntry& e) {
  std::string& o = filling_;
  o.append(e.client_ip.empty() ? "-" : e.client_ip);
  o += " - - [";
  o += timestamp();
  o += "] \"";
  std::string request;
  request.append(e.method).append(" ").append(e.url).append(e.http2 ? " HTTP/2.0" : e.http_minor == 0 ? " HTTP/1.0" : " HTTP/1.1");
  for (unsigned char c : request) {
    if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\x%02X", c);
      o += esc;
    } else {
      o += static_cast<char>(c);
    }
  }
  char num[48];
  std::snprintf(num, sizeof(num), "\" %d %llu ", e.status, static_cast<unsigned long long>(e.bytes));
  o += num;
  appendQuoted(o, e.referer);
  o += ' ';
  appendQuoted(o, e.user_agent);
  if (!e.request_id.empty()) {  // request ids on: one more quoted field, as nginx logs $request_id
    o += ' ';
    appendQuoted(o, e.request_id);
  }
  o += '\n';
}

}  // namespace proxy::metrics
