#!/usr/bin/env bash
# Reconnect storm: does limits.per_client (with slow_start) keep the surviving instances of a
# Socket.IO fleet below overload when one instance dies and its clients all reconnect at once?
#
# One invocation runs the same scenario twice, same seed: limits OFF, then ON. Each run starts, on
# 127.0.0.1 only, 3 standalone tether-chat instances (s1 s2 s3) and one tether (workers: 1) in front
# with a `proxy_protocol: true` listener, `affinity: [sid]` over round_robin, an active health
# check, `slow_start: 10s` and an admin listener. CLIENTS simulated Socket.IO polling clients
# (bench/soak/storm_clients.py; each with its own PROXY v1 source address, AGGRESSIVE of them
# aggressive) run through the phases
#   ramp (clients connect) -> steady -> SIGKILL s1 -> storm -> s1 restarted -> recovery
# while a sampler records, every second, tether's /metrics (tether_requests_total per server),
# and CPU (utime+stime) and RSS of every process from /proc. The report (OUT_DIR/report.txt) gives,
# per phase, OFF vs ON: requests/s reaching each instance, the survivors' CPU and RSS, the
# well-behaved clients' handshake and ack latency p50/p99 and errors, 429s by client kind, and the
# restarted instance's share per second (slow start); then one PASS/FAIL line: with limits ON the
# survivors stay below overload (mean CPU < 90% of a core, well-behaved p99 < 1 s in every phase)
# and well-behaved clients see at most 0.1% 429s.
#
# Bounded: about 3.5 minutes plus the build; loopback only; every process it starts is ended by
# the EXIT trap. CLIENTS is 1000 by default: the clients are Python, and 1000 well-behaved ones
# already take about half of the CPU they share with tether and the instances
# (docs/benchmarks.md, "Reconnect storm").
#
# Usage: [OUT_DIR=DIR] [BUILD_DIR=build] [CLIENTS=1000] [AGGRESSIVE=0.05] [PARALLEL=8]
#        [RAMP=5] [STEADY=15] [STORM=20] [RECOVERY=20] [SEED=1] [LIMITS='{...}'] [NO_BUILD=1]
#        [SUT_CPUS=1] [FLOOD_CPUS=0]
#        bench/soak/reconnect_storm.sh
#   OUT_DIR defaults to $TMPDIR/tether-bench-storm-DATE (outside the source tree). NO_BUILD=1 skips
#   scripts/install-deps and the build (CI=true scripts/build) when both were done already.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
OUT_DIR=${OUT_DIR:-${TMPDIR:-/tmp}/tether-bench-storm-$stamp}
BUILD_DIR=${BUILD_DIR:-$root/build}
CLIENTS=${CLIENTS:-1000}
AGGRESSIVE=${AGGRESSIVE:-0.05}
PARALLEL=${PARALLEL:-8}
RAMP=${RAMP:-5}
STEADY=${STEADY:-15}
STORM=${STORM:-20}
RECOVERY=${RECOVERY:-20}
SEED=${SEED:-1}
LIMITS=${LIMITS:-'{connections: 4, requests_per_second: 10, burst: 20}'}
# CPU placement: SUT_CPUS for tether, the instances and the well-behaved clients (the latency probe
# shares their CPU, so it sees their load and not the flood generator's), FLOOD_CPUS for the
# aggressive clients; by default CPU 1 and CPU 0. Set both empty to let the scheduler place them.
if (( $(nproc) >= 2 )); then SUT_CPUS=${SUT_CPUS-1}; FLOOD_CPUS=${FLOOD_CPUS-0}; fi
SUT_CPUS=${SUT_CPUS:-}
FLOOD_CPUS=${FLOOD_CPUS:-}
# Run in the background as "sut CMD... &": exec keeps $! the command's own pid.
sut() { if [[ -n $SUT_CPUS ]]; then exec taskset -c "$SUT_CPUS" "$@"; else exec "$@"; fi; }
flood() { if [[ -n $FLOOD_CPUS ]]; then exec taskset -c "$FLOOD_CPUS" "$@"; else exec "$@"; fi; }
KILLED=s1
py=$root/bench/soak/storm_clients.py

mkdir -p "$OUT_DIR"
if [[ -z ${NO_BUILD:-} ]]; then
  "$root/scripts/install-deps" --bench >/dev/null
  CI=true BUILD_DIR=$BUILD_DIR "$root/scripts/build" >/dev/null
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 20000 2>/dev/null || true

pids=()
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {  # wait_http URL: up to 10 s
  local _
  for _ in $(seq 100); do
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "reconnect_storm: $1 did not answer" >&2; return 1
}
sleep_until() {  # sleep_until UNIX_SECONDS
  local d; d=$(python3 -c 'import sys, time; print(max(0.0, float(sys.argv[1]) - time.time()))' "$1")
  sleep "$d"
}

{
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit:  $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- proxy backend bench common || echo ' (with local changes)')"
  echo "cpus:    $(nproc) ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at start"
  echo "command: CLIENTS=$CLIENTS AGGRESSIVE=$AGGRESSIVE PARALLEL=$PARALLEL RAMP=$RAMP STEADY=$STEADY STORM=$STORM RECOVERY=$RECOVERY SEED=$SEED SUT_CPUS=$SUT_CPUS FLOOD_CPUS=$FLOOD_CPUS bench/soak/reconnect_storm.sh"
  echo "limits ON: per_client: $LIMITS"
  echo "fd limit: $(ulimit -n)"
  [[ -n $SUT_CPUS$FLOOD_CPUS ]] && echo "cpus:    tether, instances, well-behaved clients on ${SUT_CPUS:-any}; aggressive clients on ${FLOOD_CPUS:-any}"
} | tee "$OUT_DIR/run.txt"

start_chat() {  # start_chat NAME PORT DIR
  sut "$BUILD_DIR/backend/tether-chat" --host 127.0.0.1 --port "$2" --id "$1" --drain 0 \
    --log-level warn >>"$3/$1.log" 2>&1 &
  pids+=($!)
  echo $! > "$3/$1.pid"
  disown $!   # its SIGKILL is the experiment: no "Killed" notice from the shell
}

run_scenario() {  # run_scenario off|on
  local mode=$1 dir=$OUT_DIR/$1
  mkdir -p "$dir"
  local port admin p1 p2 p3
  port=$(free_port); admin=$(free_port); p1=$(free_port); p2=$(free_port); p3=$(free_port)
  local limits_yaml=""
  [[ $mode == on ]] && limits_yaml="  per_client: $LIMITS"
  cat > "$dir/tether.yaml" <<EOF
# reconnect storm, limits $mode
workers: 1
listeners:
  - name: edge
    address: 127.0.0.1:$port
    proxy_protocol: true
    trusted_proxies: [127.0.0.1/32]
admin:
  address: 127.0.0.1:$admin
upstreams:
  chat:
    strategy: round_robin
    affinity: [sid]
    slow_start: 10s
    retries: 1
    max_fails: 3
    fail_timeout: 10s
    health_check: {type: http, path: /health, interval: 1s, timeout: 1s, rise: 2, fall: 2, expect_status: [200]}
    servers:
      - {name: s1, address: "127.0.0.1:$p1"}
      - {name: s2, address: "127.0.0.1:$p2"}
      - {name: s3, address: "127.0.0.1:$p3"}
timeouts: {connect: 2s, client_header: 10s, keepalive: 75s, upstream_response: 60s, shutdown: 2s}
limits:
  max_connections: 100000
$limits_yaml
EOF
  start_chat s1 "$p1" "$dir"; start_chat s2 "$p2" "$dir"; start_chat s3 "$p3" "$dir"
  sut "$BUILD_DIR/proxy/tether" -c "$dir/tether.yaml" --log-level warn >"$dir/tether.log" 2>&1 &
  pids+=($!); echo $! > "$dir/tether.pid"
  local tpid=$!
  wait_http "http://127.0.0.1:$p1/health"; wait_http "http://127.0.0.1:$p2/health"
  wait_http "http://127.0.0.1:$p3/health"; wait_http "http://127.0.0.1:$admin/metrics"

  python3 "$py" monitor --metrics "http://127.0.0.1:$admin/metrics" \
    --duration $((RAMP + STEADY + STORM + RECOVERY + 60)) \
    --backend s1="http://127.0.0.1:$p1/metrics" --backend s2="http://127.0.0.1:$p2/metrics" \
    --backend s3="http://127.0.0.1:$p3/metrics" \
    --pidfile s1="$dir/s1.pid" --pidfile s2="$dir/s2.pid" --pidfile s3="$dir/s3.pid" \
    --pidfile tether="$dir/tether.pid" --pidfile well="$dir/well.pid" --pidfile aggr="$dir/aggr.pid" \
    --out "$dir/monitor.jsonl" 2>"$dir/monitor.err" &
  pids+=($!); local mon=$!
  local common=(--port "$port" --clients "$CLIENTS" --aggressive "$AGGRESSIVE" --parallel "$PARALLEL"
    --hammer-seconds "$STORM" --ramp "$RAMP" --go-file "$dir/go" --seed "$SEED")
  sut python3 "$py" clients --role well "${common[@]}" --out "$dir/clients-well.jsonl" 2>"$dir/clients-well.err" &
  pids+=($!); local cw=$!; echo $cw > "$dir/well.pid"
  flood python3 "$py" clients --role aggressive "${common[@]}" --out "$dir/clients-aggressive.jsonl" \
    2>"$dir/clients-aggressive.err" &
  pids+=($!); local ca=$!; echo $ca > "$dir/aggr.pid"
  local _
  for _ in $(seq 300); do
    [[ -f $dir/go.well.ready && -f $dir/go.aggressive.ready ]] && break
    sleep 0.1
  done
  # Phase boundaries fall on whole seconds, as do the samples and the clients' one-second buckets.
  local t0 t1 t2 t3 t4
  t0=$(( $(date +%s) + 2 )); t1=$((t0 + RAMP)); t2=$((t1 + STEADY)); t3=$((t2 + STORM)); t4=$((t3 + RECOVERY))
  echo "$t0 $t4" > "$dir/go.tmp"; mv "$dir/go.tmp" "$dir/go"

  sleep_until "$t2"
  kill -9 "$(cat "$dir/$KILLED.pid")"
  echo "  [$mode] $(date -u +%H:%M:%S) SIGKILL $KILLED; storm ${STORM}s"
  sleep_until "$t3"
  local kport=$p1
  start_chat "$KILLED" "$kport" "$dir"
  echo "  [$mode] $(date -u +%H:%M:%S) $KILLED restarted; recovery ${RECOVERY}s"
  sleep_until "$t4"
  wait "$cw" "$ca" || true
  kill "$mon" 2>/dev/null || true; wait "$mon" 2>/dev/null || true
  kill -0 "$tpid" 2>/dev/null || echo "  [$mode] tether DIED (see $dir/tether.log)"
  kill "$tpid" "$(cat "$dir/s1.pid")" "$(cat "$dir/s2.pid")" "$(cat "$dir/s3.pid")" 2>/dev/null || true
  wait "$tpid" 2>/dev/null || true
  {
    echo "meta mode $mode"
    echo "meta killed $KILLED"
    echo "meta servers s1 s2 s3"
    echo "meta clients $CLIENTS"
    echo "meta aggressive $AGGRESSIVE x $PARALLEL connections"
    [[ $mode == on ]] && echo "meta limits $LIMITS"
    echo "ramp $t0 $t1"
    echo "steady $t1 $t2"
    echo "storm $t2 $t3"
    echo "recovery $t3 $t4"
  } > "$dir/phases.txt"
  echo "  [$mode] done $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
}

for mode in off on; do
  echo "== run: limits $mode"
  run_scenario "$mode"
  sleep 2
done
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at end" | tee -a "$OUT_DIR/run.txt"
status=0
python3 "$py" report "$OUT_DIR" || status=$?
echo "results in $OUT_DIR"
exit "$status"
