// `tether-bench affinity --e2e`: the affinity comparison measured on real processes on
// loopback. Flags: e2e_options.h; the stack: stack.h; traffic: e2e_runner.h; figures and
// output: e2e_stats.h. The simulation runs with the same parameters for the prediction.
#pragma once

namespace bench::affinity {

// argv[0] is "affinity". Exit code: 0; 1 when a run failed or was interrupted; 2 on bad flags.
int e2eMain(int argc, char** argv);

}  // namespace bench::affinity
