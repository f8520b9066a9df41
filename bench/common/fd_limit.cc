// raiseFdLimit: see fd_limit.h.
#include "bench/common/fd_limit.h"

#include <sys/resource.h>

namespace bench {

void raiseFdLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace bench
