// `tether-bench ws`: an open-loop WebSocket load generator.
//
// Opens N connections to a ws:// URL (loopback only) at a bounded rate, then sends binary
// messages of a fixed size at a fixed *aggregate* rate, round-robin over the open connections,
// whatever the answers do (open loop: a slow proxy shows as latency, not as a lower offered
// load). The target must echo every message (tether-echo, directly or through a proxy). After a
// warm-up, RTTs go into a histogram for a bounded measurement window; the report gives
// messages/s echoed in the window and p50/p90/p99/p99.9/max RTT, plus one machine-readable
// `RESULT key=value ...` line for scripts.
#pragma once

namespace bench::ws {

int wsBenchMain(int argc, char** argv);

}  // namespace bench::ws
