// tether-bench-affinity: runAffinityBench() as its own binary (bench/main.cc's tether-bench has
// no affinity subcommand).
int runAffinityBench(int argc, char** argv);

int main(int argc, char** argv) { return runAffinityBench(argc, argv); }
