#!/usr/bin/env bash
# Load-independent cost of one chat delivery in tether-chat: instructions (callgrind), syscalls
# (strace -c, which slows the server: its batching differs), write/writev calls and heap
# allocations (both counted at full speed by bench/chat/malloc_count.c, preloaded), each divided by the
# deliveries (tether_chat_messages_out_total) counted over the same window. Driven by
# `tether-bench chat` on 127.0.0.1; never part of the test run.
# Usage: [BUILD_DIR=build] [WRITE_DELAY=ms] [REDIS=redis://127.0.0.1:PORT] bench/chat/profile.sh [CLIENTS] [ROOMS] [RATE]
#        (defaults 200 5 0.25; with REDIS the server runs on the fleet bus, whose Redis you start)
# The defaults keep 40 members per room (as run.sh 2000 50) at a rate callgrind keeps up with.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
clients=${1:-200}; rooms=${2:-5}; rate=${3:-0.25}
build=${BUILD_DIR:-$root/build}
delay=${WRITE_DELAY:-0}
ulimit -n 65536 2>/dev/null || true
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
deliveries() { curl -s "http://127.0.0.1:$1/metrics" | awk '/^tether_chat_messages_out_total/ {print $2}'; }
delay_flag=()
[ "$delay" != 0 ] && delay_flag=(--write-delay "$delay")
[ -n "${REDIS:-}" ] && delay_flag+=(--redis "$REDIS")
# Waits until deliveries are flowing, then 2 more seconds.
wait_flowing() {
  for _ in $(seq 1 600); do
    d=$(deliveries "$1"); [ -n "$d" ] && [ "${d%.*}" -gt 0 ] && break; sleep 0.5
  done
  sleep 2
}

cc -O2 -shared -fPIC -o "$work/malloc_count.so" "$root/bench/chat/malloc_count.c" -lpthread

# 1. Heap allocations and syscalls, at full speed (strace slows it down; the ratio holds).
port=$(free_port)
MALLOC_COUNT_FILE=$work/allocs LD_PRELOAD=$work/malloc_count.so \
  "$build/backend/tether-chat" --port "$port" --id prof --drain 0 --log-level warn "${delay_flag[@]}" >/dev/null &
pids+=($!); tc=$!
sleep 0.5
"$build/bench/tether-bench" chat --url "127.0.0.1:$port" --clients "$clients" --rooms "$rooms" --duration 30 \
  --rate "$rate" --ramp 200 --label prof >/dev/null 2>&1 &
pids+=($!)
wait_flowing "$port"
read -r m0 w0 <"$work/allocs"; d0=$(deliveries "$port")
sleep 5
read -r m1 w1 <"$work/allocs"; d1=$(deliveries "$port")
timeout -s INT 5 strace -c -f -p "$tc" -o "$work/strace" >/dev/null 2>&1 || true
d2=$(deliveries "$port")
kill "$tc"; wait "$tc" 2>/dev/null || true
sys=$(awk '$NF == "total" {print $4}' "$work/strace")
python3 - "$d0" "$d1" "$m0" "$m1" "$d2" "$sys" "$w0" "$w1" <<'PY'
import sys
d0, d1, m0, m1, d2, sysc, w0, w1 = map(float, sys.argv[1:])
print(f"allocations per delivery: {(m1-m0)/max(d1-d0,1):.3f}  ({int(m1-m0)} allocations, {int(d1-d0)} deliveries)")
print(f"writes per delivery:      {(w1-w0)/max(d1-d0,1):.3f}  ({int(w1-w0)} write/writev calls, full speed, no strace)")
print(f"syscalls per delivery:    {sysc/max(d2-d1,1):.3f}  ({int(sysc)} syscalls, {int(d2-d1)} deliveries)")
PY
grep -E '^ +[0-9].* (writev|write|epoll_wait|read|sendto|recvfrom)$' "$work/strace" | awk '{print "  " $NF ": " $4}' || true
wait || true

# 2. Instructions (callgrind): counters zeroed at the window's start, dumped at its end.
port=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" \
  "$build/backend/tether-chat" --port "$port" --id prof --drain 0 --log-level warn "${delay_flag[@]}" >/dev/null 2>"$work/vg.log" &
pids+=($!); tc=$!
sleep 3
"$build/bench/tether-bench" chat --url "127.0.0.1:$port" --clients "$clients" --rooms "$rooms" --duration 40 \
  --rate "$rate" --ramp 200 --label prof >/dev/null 2>&1 &
pids+=($!)
wait_flowing "$port"
callgrind_control -z "$tc" >/dev/null
d0=$(deliveries "$port")
sleep 10
d1=$(deliveries "$port")
callgrind_control -d "$tc" >/dev/null
kill "$tc"; wait "$tc" 2>/dev/null || true
ir=$(cat "$work"/cg.*.1 | awk '/^summary:/ {s += $2} END {print s}')
python3 - "$d0" "$d1" "$ir" <<'PY'
import sys
d0, d1, ir = map(float, sys.argv[1:])
print(f"instructions per delivery: {ir/max(d1-d0,1):.0f}  ({int(ir)} Ir, {int(d1-d0)} deliveries)")
PY
if [ -n "${KEEP_CALLGRIND:-}" ]; then cp "$work"/cg.* "$KEEP_CALLGRIND"/ 2>/dev/null || true; fi
wait || true
