// Loads tether.yaml into a validated Config.
//
// Contract: either returns a Config whose every field is valid (addresses parsed, routes resolved
// to upstream indices, strategies known), or fails with one message of the form
// `FILE:LINE:COL: what is wrong`. Unknown keys are errors, so a typo never silently becomes a
// default. Not used on the data path; yaml-cpp exceptions are caught here and turned into errors.
#pragma once

#include <string>
#include <string_view>

#include "proxy/config/config.h"

namespace proxy::config {

struct LoadResult {
  bool ok = false;
  std::string error;  // "FILE:LINE:COL: message" when !ok
};

LoadResult loadConfigFile(const std::string& path, Config& out);
// `source_name` is used in messages in place of a file path.
LoadResult loadConfigText(std::string_view yaml, const std::string& source_name, Config& out);

}  // namespace proxy::config
