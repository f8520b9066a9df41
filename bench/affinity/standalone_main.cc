// tether-bench-affinity: the affinity subcommand as its own binary until bench/main.cc
// dispatches `tether-bench affinity` to runAffinityBench().
int runAffinityBench(int argc, char** argv);

int main(int argc, char** argv) { return runAffinityBench(argc, argv); }
