#!/usr/bin/env bash
# tether-chat --write-delay curve: for each delay, the bench/chat/loadgen.js load (as run.sh)
# plus bench/chat/latency_probe.js in room0, printing deliveries per CPU-second and the probe's
# p50/p99 round trip. Loopback only; never part of the test run.
# Usage: [BUILD_DIR=build] [DELAYS="0 1 5 20"] bench/chat/delay_curve.sh [CLIENTS] [ROOMS] [SECONDS]   (defaults 2000 50 10)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
clients=${1:-2000}; rooms=${2:-50}; seconds=${3:-10}
build=${BUILD_DIR:-$root/build}
export NODE_PATH=$root/tests/node/node_modules
ulimit -n 65536 2>/dev/null || true
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

printf '%-8s %14s %12s %20s %8s %8s\n' delay deliveries/s cpu-s/s deliveries/cpu-s p50-ms p99-ms
for d in ${DELAYS:-0 1 5 20}; do
  port=$(free_port)
  "$build/backend/tether-chat" --port "$port" --id curve --drain 0 --log-level warn --write-delay "$d" >/dev/null &
  pids+=($!); tc=$!
  sleep 0.5
  out=$(mktemp)
  node "$root/bench/chat/loadgen.js" --port "$port" --pid "$tc" --clients "$clients" --rooms "$rooms" \
    --seconds "$seconds" --label "delay-$d" >"$out" &
  lg=$!
  probe=$(node "$root/bench/chat/latency_probe.js" --port "$port" --warmup 8 --seconds "$seconds")
  wait "$lg"
  kill "$tc"; wait "$tc" 2>/dev/null || true
  python3 - "$d" "$(cat "$out")" "$probe" <<'PY'
import json, sys
d, a, p = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"{d + ' ms':<8} {a['deliveriesPerSec']:>14} {a['serverCpuPerSec']:>12} {a['deliveriesPerCpuSec']:>20} {p['p50Ms']:>8} {p['p99Ms']:>8}")
PY
  rm -f "$out"
done
