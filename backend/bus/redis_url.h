// Redis endpoint URLs for --redis: redis://[[user]:password@]host[:port][/db]. Pure, no I/O.
//
// Examples: redis://127.0.0.1:6379, redis://redis/2, redis://:s3cret@10.0.0.5:6380/0,
// redis://[::1]:6379. The user part is accepted and ignored (AUTH with a password only, as
// Redis before ACLs); a password in the URL is overridden by --redis-password.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace backend::bus {

struct RedisTarget {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string password;  // empty: no AUTH
  std::string display() const;  // host:port/db, never the password
};

// Parses `url`; on error returns nullopt and sets `error` to what is wrong.
std::optional<RedisTarget> parseRedisUrl(std::string_view url, std::string& error);

}  // namespace backend::bus
