#!/usr/bin/env bash
# A/B of two tether binaries on the same machine, same run: the overhead of a change on the
# keep-alive proxy path (e.g. metrics). One nginx backend (`return 200`), both tethers with one
# worker in front of it, wrk -t1 -c64 alternating between them for ROUNDS rounds; prints the
# median req/s and p99 of each and the ratio. Noisy on a shared machine: use callgrind.sh for a
# deterministic instructions-per-request figure. Does not install or stop anything system-wide.
#
# Usage: bench/http/compare_builds.sh OLD_TETHER NEW_TETHER [ROUNDS=5] [DURATION=5s]
set -euo pipefail
OLD=$1 NEW=$2 ROUNDS=${3:-5} DURATION=${4:-5s}
work=$(mktemp -d /tmp/tether-ab.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
BACKEND=${BACKEND:-28801} OLD_PORT=${OLD_PORT:-28802} NEW_PORT=${NEW_PORT:-28803}
mkdir -p "$work/backend"
cat > "$work/backend/nginx.conf" <<CONF
worker_processes 1; daemon off; error_log stderr error; pid $work/backend/nginx.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$BACKEND; location / { return 200 "hello from the backend\n"; } } }
CONF
for v in old new; do
  port=$([[ $v == old ]] && echo "$OLD_PORT" || echo "$NEW_PORT")
  cat > "$work/$v.yaml" <<CONF
workers: 1
listeners: [{name: web, address: "127.0.0.1:$port"}]
upstreams:
  be: {keepalive: 64, servers: ["127.0.0.1:$BACKEND"]}
CONF
done
nginx -c "$work/backend/nginx.conf" -p "$work/backend" & pids+=($!)
"$OLD" -c "$work/old.yaml" --log-level warn & pids+=($!)
"$NEW" -c "$work/new.yaml" --log-level warn & pids+=($!)
sleep 1
declare -A rps p99
for ((r = 1; r <= ROUNDS; r++)); do
  for v in old new; do
    port=$([[ $v == old ]] && echo "$OLD_PORT" || echo "$NEW_PORT")
    out=$(wrk -t1 -c64 -d"$DURATION" --latency "http://127.0.0.1:$port/" 2>&1)
    rps[$v]+="$(echo "$out" | awk '/Requests\/sec/ {print $2}') "
    p99[$v]+="$(echo "$out" | awk '$1 == "99%" {v=$2; n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /[^m]s$/) n*=1000; printf "%.3f", n}') "
    echo "round $r $v: $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s" >&2
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mo=$(echo "${rps[old]}" | median) mn=$(echo "${rps[new]}" | median)
po=$(echo "${p99[old]}" | median) pn=$(echo "${p99[new]}" | median)
printf "%-4s %12s %10s\nold  %12.0f %10.3f\nnew  %12.0f %10.3f\nnew/old req/s %.3f  p99 %.3f\n" target "req/s" "p99 ms" \
  "$mo" "$po" "$mn" "$pn" "$(awk -v a="$mn" -v b="$mo" 'BEGIN{print a/b}')" "$(awk -v a="$pn" -v b="$po" 'BEGIN{print a/b}')"
