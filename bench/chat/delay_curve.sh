#!/usr/bin/env bash
# tether-chat --write-delay curve: for each delay, the run.sh load from `tether-bench chat`,
# printing deliveries per server CPU-second and the send -> receive latency p50/p99 over every
# delivery. Loopback only; never part of the test run.
# Usage: [BUILD_DIR=build] [DELAYS="0 1 5 20"] bench/chat/delay_curve.sh [CLIENTS] [ROOMS] [SECONDS]   (defaults 2000 50 10)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
clients=${1:-2000}; rooms=${2:-50}; seconds=${3:-10}
build=${BUILD_DIR:-$root/build}
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
  line=$("$build/bench/tether-bench" chat --url "127.0.0.1:$port" --pid "$tc" --clients "$clients" --rooms "$rooms" \
    --duration "$seconds" --warmup 3 --label "delay-$d" 2>/dev/null | grep '^{' || true)
  kill "$tc"; wait "$tc" 2>/dev/null || true
  [ -n "$line" ] || { echo "delay $d: the generator printed no result" >&2; continue; }
  python3 - "$d" "$line" <<'PY'
import json, sys
d, a = sys.argv[1], json.loads(sys.argv[2])
print(f"{d + ' ms':<8} {a['deliveriesPerSec']:>14} {a['serverCpuPerSec']:>12} {a['deliveriesPerCpuSec']:>20} {a['p50Ms']:>8} {a['p99Ms']:>8}")
PY
done
