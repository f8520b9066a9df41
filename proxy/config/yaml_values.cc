// YAML value readers: see yaml_values.h.
#include "proxy/config/yaml_values.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <cstdlib>

#include "common/units.h"
#include "common/uv_util.h"

namespace proxy::config::yaml {

std::string positionOf(const YAML::Mark& m, const std::string& source) {
  if (m.line < 0) return source;
  return source + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

void fail(const YAML::Node& node, std::string message) {
  throw LoadError{node.Mark(), std::move(message)};
}

void expectMap(const YAML::Node& node, std::string_view what) {
  if (!node.IsMap()) fail(node, std::string(what) + " must be a mapping");
}

// Rejects any key of `node` not in `allowed`.
void checkKeys(const YAML::Node& node, std::string_view where, std::initializer_list<std::string_view> allowed) {
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = it->first.Scalar();
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      fail(it->first, "unknown key '" + key + "' in " + std::string(where) + " (expected one of: " + list + ")");
    }
  }
}

std::string scalar(const YAML::Node& node, std::string_view what) {
  if (!node.IsScalar()) fail(node, std::string(what) + " must be a scalar");
  return node.Scalar();
}

uint64_t unsignedValue(const YAML::Node& node, std::string_view what, uint64_t min, uint64_t max) {
  std::string s = scalar(node, what);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < min || v > max)
    fail(node, std::string(what) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                   "], got '" + s + "'");
  return v;
}

bool boolValue(const YAML::Node& node, std::string_view what) {
  std::string s = scalar(node, what);
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail(node, std::string(what) + " must be true or false, got '" + s + "'");
}

Millis durationValue(const YAML::Node& node, std::string_view what) {
  std::string s = scalar(node, what);
  auto d = common::parseDuration(s);
  if (!d) fail(node, std::string(what) + " must be a duration like 500ms, 10s, 5m or 1h, got '" + s + "'");
  return *d;
}

uint64_t sizeValue(const YAML::Node& node, std::string_view what) {
  std::string s = scalar(node, what);
  auto v = common::parseSize(s);
  if (!v) fail(node, std::string(what) + " must be a size like 16KiB or 10MiB, got '" + s + "'");
  return *v;
}

// Seconds: a plain integer, or a duration ("1h", "30m").
uint64_t durationValueOrSeconds(const YAML::Node& node, std::string_view what) {
  std::string s = scalar(node, what);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && ptr == s.data() + s.size()) return v;
  return static_cast<uint64_t>(durationValue(node, what).count() / 1000);
}

sockaddr_storage addressValue(const YAML::Node& node, std::string_view what) {
  std::string s = scalar(node, what);
  sockaddr_storage ss;
  std::string err;
  if (!common::parseSockAddr(s, ss, err)) fail(node, std::string(what) + " '" + s + "': " + err);
  return ss;
}

std::string resolvePath(const std::string& path, const std::string& source) {
  if (path.empty() || path[0] == '/') return path;
  size_t slash = source.rfind('/');
  return slash == std::string::npos ? path : source.substr(0, slash + 1) + path;
}

std::string systemReason(int err) {
  std::string r = std::strerror(err);
  if (!r.empty()) r[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(r[0])));
  return r;
}

std::string pemFile(const YAML::Node& node, const std::string& what, const std::string& source, std::string& at) {
  std::string path = resolvePath(scalar(node, what), source);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(node, what + " '" + path + "': " + systemReason(errno));
  std::fclose(f);
  at = positionOf(node.Mark(), source);
  return path;
}

}  // namespace proxy::config::yaml
