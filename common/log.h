// Structured logging shared by tether and tether-chat.
//
// One line per event on stderr: `time level event key=value ...`. Values with spaces or quotes
// are quoted. Lines are assembled in a stack buffer and written with a single write(2), so
// lines from several worker threads never interleave. Logging is for events (start, health
// change, config error), never per request: access logs are a separate, buffered facility.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace common {

enum class LogLevel : uint8_t { Debug, Info, Warn, Error };

struct LogField {
  std::string_view key;
  std::string_view value;
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  LogField(std::string_view k, long long v);
  LogField(std::string_view k, int v) : LogField(k, static_cast<long long>(v)) {}
  LogField(std::string_view k, unsigned v) : LogField(k, static_cast<long long>(v)) {}
  LogField(std::string_view k, long v) : LogField(k, static_cast<long long>(v)) {}
  LogField(std::string_view k, unsigned long v) : LogField(k, static_cast<long long>(v)) {}

 private:
  char num_[24];  // owns the digits when built from an integer
};

void setLogLevel(LogLevel level);
LogLevel logLevel();
// Parses "debug|info|warn|error"; returns false on anything else.
bool parseLogLevel(std::string_view text, LogLevel& out);

void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

inline void logDebug(std::string_view e, std::initializer_list<LogField> f = {}) {
  if (logLevel() <= LogLevel::Debug) log(LogLevel::Debug, e, f);
}
inline void logInfo(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::Info, e, f); }
inline void logWarn(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::Warn, e, f); }
inline void logError(std::string_view e, std::initializer_list<LogField> f = {}) { log(LogLevel::Error, e, f); }

}  // namespace common
