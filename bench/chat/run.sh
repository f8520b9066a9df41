#!/usr/bin/env bash
# Side-by-side chat benchmark: tether-chat vs Node's socket.io server, same client load
# (bench/chat/loadgen.js), on 127.0.0.1 only. Never part of the test run.
# Usage: [RATE=msgs/s/client] bench/chat/run.sh [CLIENTS] [ROOMS] [SECONDS]   (defaults 2000 50 20, RATE 1)
# Needs a release build (BUILD_DIR, default build/) and tests/node/node_modules.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
clients=${1:-2000}; rooms=${2:-50}; seconds=${3:-20}; rate=${RATE:-1}
build=${BUILD_DIR:-$root/build}
export NODE_PATH=$root/tests/node/node_modules
ulimit -n 65536 2>/dev/null || true
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
"$build/backend/tether-chat" --port "$port" --id bench --drain 0 --log-level warn >/dev/null &
pids+=($!); tc=$!
sleep 0.5
tether=$(node "$root/bench/chat/loadgen.js" --port "$port" --pid "$tc" --clients "$clients" --rooms "$rooms" --seconds "$seconds" --rate "$rate" --label tether-chat)
kill "$tc"; wait "$tc" 2>/dev/null || true

port=$(free_port)
node "$root/bench/chat/node_server.js" "$port" >/dev/null &
pids+=($!); ns=$!
sleep 1
nodejs=$(node "$root/bench/chat/loadgen.js" --port "$port" --pid "$ns" --clients "$clients" --rooms "$rooms" --seconds "$seconds" --rate "$rate" --label node-socket.io)
kill "$ns"; wait "$ns" 2>/dev/null || true

echo "$tether"
echo "$nodejs"
python3 - "$tether" "$nodejs" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"{'':28}{'tether-chat':>14}{'node socket.io':>16}{'ratio':>8}")
for key, better in [("deliveriesPerSec", "="), ("serverCpuPerSec", "<"), ("deliveriesPerCpuSec", ">"), ("rssPerClientKiB", "<")]:
    r = a[key] / b[key] if b[key] else float("inf")
    print(f"{key:28}{a[key]:>14}{b[key]:>16}{r:>8.2f}")
PY
