// Structured logging: see log.h.
#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <ctime>

namespace common {
namespace {

std::atomic<LogLevel> g_level{LogLevel::Info};

const char* levelName(LogLevel l) {
  switch (l) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
  }
  return "?";
}

// Appends to a fixed buffer, truncating (never overflowing) when the line is too long.
struct LineBuf {
  char data[2048];
  size_t len = 0;
  void put(std::string_view s) {
    size_t n = std::min(s.size(), sizeof(data) - 1 - len);
    std::memcpy(data + len, s.data(), n);
    len += n;
  }
  void put(char c) { put(std::string_view(&c, 1)); }
};

bool needsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v)
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) return true;
  return false;
}

void putValue(LineBuf& b, std::string_view v) {
  if (!needsQuotes(v)) return b.put(v);
  b.put('"');
  for (char c : v) {
    if (c == '"' || c == '\\') {
      b.put('\\');
      b.put(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      b.put(' ');
    } else {
      b.put(c);
    }
  }
  b.put('"');
}

}  // namespace

LogField::LogField(std::string_view k, long long v) : key(k) {
  auto r = std::to_chars(num_, num_ + sizeof(num_), v);
  value = std::string_view(num_, static_cast<size_t>(r.ptr - num_));
}

void setLogLevel(LogLevel level) { g_level.store(level, std::memory_order_relaxed); }
LogLevel logLevel() { return g_level.load(std::memory_order_relaxed); }

bool parseLogLevel(std::string_view text, LogLevel& out) {
  static constexpr std::pair<std::string_view, LogLevel> kNames[] = {
      {"debug", LogLevel::Debug}, {"info", LogLevel::Info}, {"warn", LogLevel::Warn}, {"error", LogLevel::Error}};
  for (auto& [name, level] : kNames)
    if (name == text) {
      out = level;
      return true;
    }
  return false;
}

void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (level < logLevel()) return;
  LineBuf b;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm tmv{};
  gmtime_r(&ts.tv_sec, &tmv);
  char when[40];
  size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tmv);
  n += static_cast<size_t>(snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000));
  b.put(std::string_view(when, n));
  b.put(' ');
  b.put(levelName(level));
  b.put(' ');
  b.put(event);
  for (const LogField& f : fields) {
    b.put(' ');
    b.put(f.key);
    b.put('=');
    putValue(b, f.value);
  }
  b.put('\n');
  if (b.data[b.len - 1] != '\n') b.data[b.len - 1] = '\n';
  ssize_t ignored = ::write(STDERR_FILENO, b.data, b.len);
  (void)ignored;
}

}  // namespace common
