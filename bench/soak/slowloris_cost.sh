#!/usr/bin/env bash
# What slow-header (slowloris) connections cost tether, measured so that other load on the
# machine does not move the figures (bench/soak/slowloris.sh measures latency, which it does).
#
# Same backend and tether as bench/soak/slowloris.sh (timeouts.client_header: 10s), and the same
# slow client (bench/soak/slowloris.py: SLOW connections, one header byte every 2 s, each replaced
# when answered).
#   1. perf stat on tether (task-clock, context switches, syscall tracepoints) over alternating
#      15 s windows of wrk -t1 -c64, alone and with the slow connections (2 of each), then 10 s
#      with the slow connections only: syscalls per proxied request with and without them, and
#      what the slow connections alone cause per second. Skipped if perf cannot read the
#      syscall tracepoints.
#   2. callgrind: tether under valgrind for 30 s with the slow connections only, and 30 s idle;
#      (slow - idle) instructions / slow connections = instructions per slow connection (accept,
#      one read per byte, the 408, the close).
# Prints those figures. Writes OUT_DIR/soak-slowloris-cost.txt (this output). OUT_DIR defaults to
# $TMPDIR/tether-bench, outside the source tree. Loopback only; about 4 minutes; every process it
# starts is stopped on exit.
#
# Usage: [OUT_DIR=DIR] [BUILD_DIR=build] bench/soak/slowloris_cost.sh [SLOW=1000]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
SLOW=${1:-1000}
# shellcheck source=bench/soak/setup.sh
source "$root/bench/soak/setup.sh"
soak_setup cost
need_fds $((SLOW + 256))  # each slow connection, plus the normal load's and tether's own

BACKEND=18831 TETHER_PORT=18832
out="$OUT_DIR/soak-slowloris-cost.txt"
exec > >(tee "$out") 2>&1

source "$root/bench/http/contestants.sh"
write_contestant_configs "$work" $BACKEND $TETHER_PORT 18833 18834
echo "timeouts: {client_header: 10s}" >> "$work/tether.yaml"

echo "== what slow connections cost tether"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:  $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- proxy common || echo ' (proxy/common with local changes)')"
echo "cpus:    $(nproc) ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "command: bench/soak/slowloris_cost.sh $SLOW"

nginx -c "$work/backend/nginx.conf" -p "$work/backend" 2>"$work/backend.err" & pids+=($!)
sleep 0.5

slow_start() {  # slow_start MAX_SECONDS CSV: the slow client, returns once all SLOW have sent a byte
  python3 "$root/bench/soak/slowloris.py" --port "$TETHER_PORT" --conns "$SLOW" --interval 2 --ramp 2 \
    --timeout 10 --max-seconds "$1" --csv "$2" > "$work/slow.out" 2>&1 & slow_pid=$!
  pids+=($slow_pid)
  for _ in $(seq 600); do grep -q '^ready' "$work/slow.out" && return; kill -0 "$slow_pid" 2>/dev/null || break; sleep 0.1; done
  echo "the slowloris client did not get its $SLOW connections going:" >&2; cat "$work/slow.out" >&2; exit 1
}
slow_stop() { kill -USR1 "$slow_pid" 2>/dev/null || true; wait "$slow_pid"; }

events=task-clock,context-switches,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_accept4,syscalls:sys_enter_close
echo
echo "-- 1. perf stat on tether: per proxied request (wrk -t1 -c64, 15 s windows), and per second with the slow connections only"
if ! perf stat -x, -e syscalls:sys_enter_read -o "$work/perf-check" -- true 2>/dev/null; then
  echo "skipped: perf cannot read syscall tracepoints here (perf missing, or perf_event_paranoid / tracefs)"
else
  "$TETHER" -c "$work/tether.yaml" --log-level warn 2>"$work/tether.err" & pids+=($!); tether_pid=$!
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$TETHER_PORT/" && break; sleep 0.1; done
  wrk -t1 -c64 -d5s "http://127.0.0.1:$TETHER_PORT/" > /dev/null 2>&1  # warm-up
  window() {  # window NAME: 15 s of wrk under perf stat
    perf stat -x, -e "$events" -p "$tether_pid" -o "$work/perf-$1" -- sleep 15 & local pp=$!
    local o; o=$(wrk -t1 -c64 -d15s --latency "http://127.0.0.1:$TETHER_PORT/" 2>&1)
    wait "$pp"
    local n; n=$(echo "$o" | awk '/requests in/ {print $1}')
    echo "$1 $n" >> "$work/windows"
    echo "  $1: $(echo "$o" | awk '/Requests\/sec/ {printf "%.0f req/s", $2}'), p99 $(echo "$o" | awk '$1 == "99%" {print $2}'), load $(cut -d' ' -f1 /proc/loadavg)"
  }
  for r in 1 2; do
    window "alone-$r"
    slow_start 300 "$work/perf-slow.csv"; window "slow-$r"; slow_stop
  done
  slow_start 300 "$work/perf-slow.csv"
  perf stat -x, -e "$events" -p "$tether_pid" -o "$work/perf-only" -- sleep 10
  slow_stop
  printf "  %-34s" "per proxied request"; while read -r w _; do printf " %9s" "$w"; done < "$work/windows"; echo
  for e in ${events//,/ }; do
    printf "  %-34s" "${e#syscalls:sys_enter_}$([[ $e == task-clock ]] && echo ' (ms)')"
    while read -r w n; do
      printf " %9.3f" "$(awk -F, -v e="$e" -v n="$n" '$3 == e {print $1 / n}' "$work/perf-$w")"
    done < "$work/windows"
    echo
  done
  echo "  slow connections only, 10 s, per second:"
  for e in ${events//,/ }; do
    printf "    %-32s %9.1f\n" "${e#syscalls:sys_enter_}$([[ $e == task-clock ]] && echo ' (ms)')" "$(awk -F, -v e="$e" '$3 == e {print $1 / 10}' "$work/perf-only")"
  done
  kill "$tether_pid"; wait "$tether_pid" 2>/dev/null || true
fi

echo
echo "-- 2. callgrind: instructions per slow connection (30 s with the slow connections only, minus 30 s idle)"
total_ir() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'; }
grind() {  # grind NAME SLOW?: tether under callgrind; its total instructions into $ir
  local name=$1 slow=$2 pid f
  ir=0
  valgrind --tool=callgrind --callgrind-out-file="$work/$name.cg" "$TETHER" -c "$work/tether.yaml" --log-level warn \
    > /dev/null 2>"$work/$name.err" & pid=$!
  pids+=($pid)
  for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$TETHER_PORT") 2>/dev/null && break; sleep 0.2; done
  sleep 2
  if ((slow)); then
    python3 "$root/bench/soak/slowloris.py" --port "$TETHER_PORT" --conns "$SLOW" --interval 2 --ramp 2 \
      --timeout 10 --max-seconds 30 --csv "$work/grind.csv" > "$work/grind.out" 2>&1
  else
    sleep 41  # as long as the slow run: 30 s, then up to 11 s for the last answers
  fi
  kill -TERM "$pid"; wait "$pid" || true
  for f in "$work/$name.cg"*; do ir=$((ir + $(total_ir "$f"))); done
}
grind idle 0; idle=$ir
grind slow 1; slow=$ir
conns=$(awk -F, 'NR > 1 {c++} END {print c + 0}' "$work/grind.csv")
bytes=$(awk -F, 'NR > 1 {b += $8} END {print b + 0}' "$work/grind.csv")
echo "  idle: $idle instructions; with the slow connections: $slow"
echo "  slow client: $(grep '^connections=' "$work/grind.out")"
echo "  $conns slow connections, $bytes bytes received from them"
echo "  instructions per slow connection: $(((slow - idle) / conns))"
echo
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at end"
echo "(output: $out)"
