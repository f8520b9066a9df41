// The table of known strategies, by their `strategy:` name in tether.yaml.
#pragma once

#include <string>
#include <string_view>

#include "proxy/lb/strategy.h"

namespace proxy::lb {

const Strategy* findStrategy(std::string_view name);
// "round_robin, ..." for error messages: every strategy, or those `filter` accepts.
std::string strategyNames(bool (*filter)(const Strategy&) = nullptr);

}  // namespace proxy::lb
