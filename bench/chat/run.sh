#!/usr/bin/env bash
# Side-by-side chat benchmark: tether-chat vs Node's socket.io server (node_server.js) under the
# same client load from `tether-bench chat` (the C++ generator), one after the other, on
# 127.0.0.1 only. Never part of the test run.
# Usage: [RATE=msgs/s/client] [SIZE=bytes] [THREADS=T] [PIN=0|1] bench/chat/run.sh [CLIENTS] [ROOMS] [SECONDS]
#   defaults 2000 50 10, RATE 1, SIZE 64, THREADS 1. PIN=1 (default when there are 2+ cores):
#   the server runs on core 0 and the generator on core 1 (taskset), so neither steals the other's
#   CPU and "server CPU" is at most one core.
# Needs a release build (BUILD_DIR, default build/) and tests/node/node_modules.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
clients=${1:-2000}; rooms=${2:-50}; seconds=${3:-10}
rate=${RATE:-1}; size=${SIZE:-64}; threads=${THREADS:-1}
build=${BUILD_DIR:-$root/build}
bench=$build/bench/tether-bench
export NODE_PATH=$root/tests/node/node_modules
ulimit -n 65536 2>/dev/null || true
pin=${PIN:-$([ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null && echo 1 || echo 0)}
on_server=(); on_gen=()
if [ "$pin" = 1 ]; then on_server=(taskset -c 0); on_gen=(taskset -c 1); fi
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 "$root/bench/chat/free_ports.py" 1 1 | cut -d' ' -f1; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
generate() {  # generate PORT PID LABEL: the JSON line of one run
  "${on_gen[@]}" "$bench" chat --url "127.0.0.1:$1" --pid "$2" --label "$3" --clients "$clients" --rooms "$rooms" \
    --rate "$rate" --size "$size" --duration "$seconds" --warmup 3 --threads "$threads" >"$tmp/$3.txt" || true
  cat "$tmp/$3.txt" >&2
  grep '^{' "$tmp/$3.txt"
}
tmp=$(mktemp -d); trap 'cleanup; rm -rf "$tmp"' EXIT

port=$(free_port)
"${on_server[@]}" "$build/backend/tether-chat" --port "$port" --id bench --drain 0 --log-level warn >/dev/null &
pids+=($!); tc=$!
wait_port "$port"
tether=$(generate "$port" "$tc" tether-chat)
kill "$tc"; wait "$tc" 2>/dev/null || true

port=$(free_port)
"${on_server[@]}" node "$root/bench/chat/node_server.js" "$port" >/dev/null &
pids+=($!); ns=$!
wait_port "$port"
nodejs=$(generate "$port" "$ns" node-socket.io)
kill "$ns"; wait "$ns" 2>/dev/null || true

echo "load: $(cut -d' ' -f1-3 /proc/loadavg), pinned: $pin"
echo "$tether"
echo "$nodejs"
python3 - "$tether" "$nodejs" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'':24}{'tether-chat':>14}{'node socket.io':>16}{'ratio':>8}")
for key in ("deliveriesPerSec", "serverCpuPerSec", "deliveriesPerCpuSec", "rssPerClientKiB", "p50Ms", "p99Ms",
            "genCpuPerSec", "errors", "missing"):
    r = f"{a[key] / b[key]:8.2f}" if b[key] else f"{'-':>8}"
    print(f"{key:24}{a[key]:>14}{b[key]:>16}{r}")
PY
