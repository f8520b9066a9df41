// Where benchmarks write their CSV files and plots unless told otherwise (--out DIR):
// $TMPDIR/tether-bench (or /tmp/tether-bench), outside the source tree, so a run never dirties a
// checkout. The copies in docs/ are results committed together with the figures they back.
#pragma once

#include <cstdlib>
#include <string>

namespace bench {

inline std::string defaultOutDir() {
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp && *tmp ? tmp : "/tmp") + "/tether-bench";
}

}  // namespace bench
