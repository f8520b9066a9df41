// `tether-bench affinity`: the simulation (default) or, with --e2e, the same comparison
// measured on real tether and backend processes on loopback (e2e_main.h).
#pragma once

#include <string>

namespace bench::affinity {

// argv[0] is the subcommand name ("affinity"). Returns the process exit code: 0, 1 on a
// failed run, 2 on bad flags.
int affinityMain(int argc, char** argv);

// Runs gnuplot on `script` when gnuplot is installed. Returns 0 when the plot was written or
// gnuplot is missing (a note on stderr: the plot is optional), 1 when gnuplot failed.
int runGnuplot(const std::string& script_path, const std::string& script, const std::string& png);

}  // namespace bench::affinity
