#!/usr/bin/env bash
# Bus fan-in: what each tether-chat instance of a fleet receives from Redis, against its rooms'
# share of all traffic. INSTANCES instances on one private redis-server, ROOMS rooms whose two
# members are on one instance or, for a SPLIT fraction of the rooms, on two; MESSAGES per room.
# bench/chat/bus_fanin.js places the clients, sends, checks that every member got every message
# of its rooms exactly once and in order, and reports per instance the bus messages received
# (tether_chat_bus_received_total) beside the messages of its rooms. Passes when every
# instance's ratio is <= 1.5 and nothing was lost or repeated. Never part of the test run;
# loopback only, bounded; every process it starts is stopped on exit.
#
# Usage: [INSTANCES=8] [ROOMS=400] [SPLIT=0.5] [MESSAGES=10] [CLIENTS_PER_INSTANCE=25] [RATE=400]
#        [SEED=1] [OUT_DIR=$TMPDIR/tether-bench] [TETHER_BUILD_DIR=build] bench/chat/bus_fanin.sh
# Builds nothing: needs $TETHER_BUILD_DIR/backend/tether-chat, redis-server, redis-cli and
# tests/node/node_modules.
set -euo pipefail
{
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${TETHER_BUILD_DIR:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac
chat=$build/backend/tether-chat
[[ -x $chat ]] || { echo "bus_fanin.sh: missing $chat (build it first)" >&2; exit 2; }
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "bus_fanin.sh: needs redis-server and redis-cli" >&2; exit 2
fi
export INSTANCES=${INSTANCES:-8}
out=${OUT_DIR:-${TMPDIR:-/tmp}/tether-bench}
mkdir -p "$out"
export NODE_PATH=$root/tests/node/node_modules
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tmp=$(mktemp -d /tmp/tether-fanin.XXXXXX)
pids=()
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 30); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then echo "bus_fanin.sh: logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r redis_port base_port < <(python3 "$root/bench/chat/free_ports.py" 1 "$INSTANCES")
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp" --appendonly yes --save '' --daemonize no \
  --logfile "$tmp/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
for ((i = 0; i < INSTANCES; i++)); do
  "$chat" --port $((base_port + i)) --id "b$((i + 1))" --redis "redis://127.0.0.1:$redis_port" --drain 0 \
    --log-level warn >"$tmp/chat-$i.log" 2>&1 &
  pids+=($!)
done

echo "== tether-chat bus fan-in"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:  $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "cpus:    $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'))"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "command: bench/chat/bus_fanin.sh (INSTANCES=$INSTANCES ROOMS=${ROOMS:-400} SPLIT=${SPLIT:-0.5} MESSAGES=${MESSAGES:-10} CLIENTS_PER_INSTANCE=${CLIENTS_PER_INSTANCE:-25} RATE=${RATE:-400} SEED=${SEED:-1})"
rc=0
node "$root/bench/chat/bus_fanin.js" --base-port "$base_port" --csv "$out/bus-fanin.csv" | tee "$out/bus-fanin.txt" || rc=$?
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at end"
echo "(output: $out/bus-fanin.txt, per instance: $out/bus-fanin.csv)"
exit "$rc"
}
