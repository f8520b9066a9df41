#!/usr/bin/env bash
# Chaos run: CLIENTS socket.io clients in ROOMS rooms through tether to a 3-instance tether-chat
# fleet sharing a private redis-server; one instance gets SIGKILL every KILL_EVERY seconds for
# DURATION seconds (the fleet supervisor restarts it), and Redis itself gets SIGKILL once, at
# REDIS_RESTART_AT seconds, and is started again (same append-only file) REDIS_DOWN seconds
# later. Passes when every client ends with every
# message of its rooms, in order, none twice (bench/chat/chaos.js checks; docs/chaos.md explains).
# Never part of the test run. Loopback only; every process it starts is stopped on exit.
#
# Usage: [CLIENTS=200] [ROOMS=20] [ROOMS_PER_CLIENT=1] [DURATION=60] [KILL_EVERY=10] [RATE=100]
#        [SETTLE=20] [LOST_ACKS=0.02] [REDIS_RESTART_AT=35 (0: never)] [REDIS_DOWN=3] [STRATEGY=round_robin|least_conn|consistent_hash] [INSTANCES=3] [KEEP_LOGS=1] [LOG_LEVEL=info]
#        [TETHER_BUILD_DIR=build] bench/chat/chaos.sh
# Builds nothing: needs $TETHER_BUILD_DIR/backend/tether-chat and $TETHER_BUILD_DIR/proxy/tether,
# redis-server and redis-cli on PATH, and tests/node/node_modules.
set -euo pipefail
# The whole script is one block, parsed before it runs: editing this file during a run cannot
# change what the running copy does.
{
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${TETHER_BUILD_DIR:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac
instances=${INSTANCES:-3}
strategy=${STRATEGY:-round_robin}
chat=$build/backend/tether-chat
tether=$build/proxy/tether
for b in "$chat" "$tether"; do [[ -x $b ]] || { echo "chaos.sh: missing $b (build it first)" >&2; exit 2; }; done
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
  echo "chaos.sh: needs redis-server and redis-cli" >&2; exit 2
fi
export NODE_PATH=$root/tests/node/node_modules
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tmp=$(mktemp -d /tmp/tether-chaos.XXXXXX)
redis_pid="" fleet_pid="" tether_pid="" node_pid="" restarter_pid=""
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $node_pid ]]; then kill -TERM "$node_pid" 2>/dev/null || true; fi
  if [[ -n $tether_pid ]]; then kill -TERM "$tether_pid" 2>/dev/null || true; fi
  if [[ -n $fleet_pid ]]; then
    local kids; kids=$(pgrep -P "$fleet_pid" 2>/dev/null || true)
    kill -TERM "$fleet_pid" 2>/dev/null || true   # forwarded to every instance (drain)
    for _ in $(seq 50); do kill -0 "$fleet_pid" 2>/dev/null || break; sleep 0.1; done
    kids="$kids $(pgrep -P "$fleet_pid" 2>/dev/null || true)"
    # shellcheck disable=SC2086  # $kids is a list of pids
    kill -KILL "$fleet_pid" $kids 2>/dev/null || true
  fi
  if [[ -n $tether_pid ]]; then
    for _ in $(seq 30); do kill -0 "$tether_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$tether_pid" 2>/dev/null || true
  fi
  if [[ -n $redis_pid ]]; then kill -KILL "$redis_pid" 2>/dev/null || true; fi
  if [[ -n $restarter_pid ]]; then kill -KILL "$restarter_pid" 2>/dev/null || true; fi  # the restarted redis, or its wait
  wait 2>/dev/null || true
  if [[ $rc -ne 0 || -n ${KEEP_LOGS:-} ]]; then echo "chaos.sh: logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free loopback ports: one for redis, one for tether, $instances consecutive ones for the fleet.
read -r redis_port tether_port base_port < <(python3 "$root/bench/chat/free_ports.py" 2 "$instances")

wait_until() {  # wait_until SECONDS command...: polls every 0.1 s
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}
# shellcheck disable=SC2317  # called through wait_until
health_ok() { python3 -c 'import sys,urllib.request; sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=1).status == 200 else 1)' "$1"; }
# shellcheck disable=SC2317  # called through wait_until
all_instances_ok() { for ((i = 0; i < instances; i++)); do health_ok "http://127.0.0.1:$((base_port + i))/health" || return 1; done; }

redis_args=(--port "$redis_port" --bind 127.0.0.1 --protected-mode yes --dir "$tmp"
  --appendonly yes --save '' --daemonize no --logfile "$tmp/redis.log")
redis-server "${redis_args[@]}" &
redis_pid=$!
wait_until 10 redis-cli -h 127.0.0.1 -p "$redis_port" ping || { echo "chaos.sh: redis did not start" >&2; exit 2; }

"$chat" fleet --instances "$instances" --base-port "$base_port" --redis "redis://127.0.0.1:$redis_port" \
  --drain 1s --log-level "${LOG_LEVEL:-info}" >"$tmp/fleet.log" 2>&1 &
fleet_pid=$!
wait_until 15 all_instances_ok || { echo "chaos.sh: fleet did not come up" >&2; tail -20 "$tmp/fleet.log" >&2; exit 2; }

case $strategy in
  round_robin) strategy_yaml="    strategy: round_robin" ;;
  least_conn) strategy_yaml="    strategy: least_conn" ;;
  consistent_hash) strategy_yaml=$'    strategy: consistent_hash\n    hash_key: [query:uid, remote_addr]' ;;
  *) echo "chaos.sh: STRATEGY must be round_robin, least_conn or consistent_hash" >&2; exit 2 ;;
esac
cat >"$tmp/tether.yaml" <<EOF
# generated by bench/chat/chaos.sh
workers: 1
listeners:
  - name: chaos
    address: 127.0.0.1:$tether_port
upstreams:
  chat:
$strategy_yaml
    affinity: [sid]
    retries: 2
    max_fails: 1
    fail_timeout: 2s
    health_check: {type: http, path: /health, interval: 500ms, timeout: 400ms, rise: 2, fall: 1}
$("$chat" fleet --instances "$instances" --base-port "$base_port" --print-upstreams)
timeouts: {connect: 1s, upstream_response: 60s, tunnel_idle: 10m, shutdown: 2s}
EOF
"$tether" -t -c "$tmp/tether.yaml" >"$tmp/tether-check.log" 2>&1 || { echo "chaos.sh: generated config rejected:" >&2; cat "$tmp/tether-check.log" "$tmp/tether.yaml" >&2; exit 2; }
"$tether" -c "$tmp/tether.yaml" >"$tmp/tether.log" 2>&1 &
tether_pid=$!
wait_until 10 health_ok "http://127.0.0.1:$tether_port/health" || { echo "chaos.sh: tether did not come up" >&2; tail -20 "$tmp/tether.log" >&2; exit 2; }

echo "chaos.sh: redis :$redis_port, fleet pid $fleet_pid on :$base_port..$((base_port + instances - 1)), tether :$tether_port ($strategy), logs $tmp" >&2
# In the background + wait, so a SIGINT/SIGTERM to this script runs the cleanup at once.
node "$root/bench/chat/chaos.js" --url "http://127.0.0.1:$tether_port" --fleet-pid "$fleet_pid" \
  --base-port "$base_port" --instances "$instances" >"$tmp/summary.json" &
node_pid=$!
restart_at=${REDIS_RESTART_AT:-35} redis_down=${REDIS_DOWN:-3}
if [[ $restart_at != 0 ]]; then
  # The subshell becomes the new redis-server (exec), so cleanup's kill of it stops either.
  (
    sleep "$restart_at"
    echo "chaos.sh: redis killed (-9) at ${restart_at}s, restarted ${redis_down}s later" >&2
    kill -KILL "$redis_pid" 2>/dev/null || true
    sleep "$redis_down"
    exec redis-server "${redis_args[@]}"
  ) &
  restarter_pid=$!
fi
rc=0
wait "$node_pid" || rc=$?
node_pid=""
cat "$tmp/summary.json"
restarts=$(grep -c instance_restarted "$tmp/fleet.log" || true)
echo "chaos.sh: fleet restarts logged: $restarts; tether health changes: $(grep -c 'server_down\|server_up' "$tmp/tether.log" || true)" >&2
if [[ $rc -ne 0 ]]; then
  echo "chaos.sh: FAILED (exit $rc); last fleet log lines:" >&2
  tail -30 "$tmp/fleet.log" >&2
fi
exit "$rc"
}
