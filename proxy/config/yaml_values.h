// The YAML value readers the configuration loader is built from: each checks a node's kind and
// converts it (units from common/units.h), or raises LoadError carrying the node's mark, which
// loadConfigText turns into "FILE:LINE:COL: message". Loading is start-up/reload work, never the
// data path, so errors are exceptions here.
#pragma once

#include <netinet/in.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "proxy/config/config.h"

namespace proxy::config::yaml {

struct LoadError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& node, std::string message);
// "FILE:LINE:COL" (just "FILE" when yaml-cpp has no position), the prefix of every config error.
std::string positionOf(const YAML::Mark& m, const std::string& source);
void expectMap(const YAML::Node& node, std::string_view what);
void checkKeys(const YAML::Node& node, std::string_view where, std::initializer_list<std::string_view> allowed);
std::string scalar(const YAML::Node& node, std::string_view what);
uint64_t unsignedValue(const YAML::Node& node, std::string_view what, uint64_t min, uint64_t max);
bool boolValue(const YAML::Node& node, std::string_view what);
Millis durationValue(const YAML::Node& node, std::string_view what);
uint64_t sizeValue(const YAML::Node& node, std::string_view what);
uint64_t durationValueOrSeconds(const YAML::Node& node, std::string_view what);
sockaddr_storage addressValue(const YAML::Node& node, std::string_view what);

// A relative path is taken from the config file's (`source`) folder.
std::string resolvePath(const std::string& path, const std::string& source);
// strerror's text in lower case: "no such file or directory", "permission denied".
std::string systemReason(int err);
// A certificate or key path: resolved against the config file's folder and readable now, so a
// missing file fails at its key with the system's reason; `at` keeps the key's position for the
// errors OpenSSL finds later (a bad PEM, a key that does not match).
std::string pemFile(const YAML::Node& node, const std::string& what, const std::string& source, std::string& at);

}  // namespace proxy::config::yaml
