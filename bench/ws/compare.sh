#!/usr/bin/env bash
# WebSocket tunnels, one run: idle-tunnel memory (idle_memory.sh) and `tether-bench ws`
# throughput/latency through tether, nginx and HAProxy (and direct) to the same tether-echo
# backend. Throughput is a rate sweep: each target gets the same offered rates (open loop,
# 1000 connections, 64-byte messages); its capacity is the highest rate it delivered in full
# (≥ 99% received) with p99 ≤ 20 ms. Loopback only; bounded by RATES x DURATION.
# Usage: bench/ws/compare.sh [DURATION=5] [RATES="20000 40000 60000 80000 100000"]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${1:-5}
RATES=${2:-"20000 40000 60000 80000 100000"}
CONNS=${CONNS:-1000}
"$root/bench/ws/idle_memory.sh" 5000
B=${BUILD_DIR:-$root/build}
ulimit -Hn 200000 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/tether-wsbench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ECHO=18941 TETHER=18942 NGINX=18943 HAPROXY=18944
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; error_log stderr error; pid $work/nginx/nginx.pid; worker_rlimit_nofile 20000;
events { worker_connections 8000; }
http { access_log off;
  server { listen 127.0.0.1:$NGINX;
    location / { proxy_pass http://127.0.0.1:$ECHO; proxy_http_version 1.1; proxy_set_header Upgrade \$http_upgrade;
                 proxy_set_header Connection "upgrade"; proxy_read_timeout 1h; } } }
CONF
cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 6000
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
frontend fe
  bind 127.0.0.1:$HAPROXY
  default_backend be
backend be
  server s1 127.0.0.1:$ECHO
CONF
printf 'workers: 1\nlisteners: [{address: "127.0.0.1:%s"}]\nupstreams:\n  be: {servers: ["127.0.0.1:%s"]}\n' $TETHER $ECHO > "$work/tether.yaml"
"$B/bench/tether-echo" --port $ECHO & pids+=($!)
"$B/proxy/tether" -c "$work/tether.yaml" --log-level warn & pids+=($!)
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>/dev/null & pids+=($!)
haproxy -f "$work/haproxy.cfg" -db 2>/dev/null & pids+=($!)
sleep 1
declare -A port=([direct]=$ECHO [tether]=$TETHER [nginx]=$NGINX [haproxy]=$HAPROXY) cap
csv="$root/docs/bench-ws-throughput.csv"
echo "target,offered,received_per_s,p50_ms,p99_ms,p999_ms" > "$csv"
printf "\n%-8s %9s %12s %9s %9s %9s\n" target offered "received/s" "p50 ms" "p99 ms" "p99.9 ms"
for rate in $RATES; do
  for t in direct tether nginx haproxy; do
    out=$("$B/bench/tether-bench" ws --url "ws://127.0.0.1:${port[$t]}/" --connections "$CONNS" --connect-rate 5000 \
          --rate "$rate" --size 64 --duration "$DURATION" 2>&1 || true)
    recv=$(echo "$out" | awk '/received/ {gsub("\\(", "", $6); print $6}')
    read -r p50 p99 p999 < <(echo "$out" | awk '/^rtt/ {print $4, $8, $10}')
    printf "%-8s %9d %12s %9s %9s %9s\n" "$t" "$rate" "${recv:-0}" "${p50:--}" "${p99:--}" "${p999:--}"
    echo "$t,$rate,${recv:-0},${p50:-},${p99:-},${p999:-}" >> "$csv"
    if awk -v r="${recv:-0}" -v o="$rate" -v p="${p99:-999}" 'BEGIN {exit !(r >= 0.99 * o && p <= 20)}'; then cap[$t]=$rate; fi
  done
done
echo
for t in direct tether nginx haproxy; do printf "capacity %-8s %8s msg/s (p99 <= 20 ms, >= 99%% delivered)\n" "$t" "${cap[$t]:-<$(echo $RATES | cut -d' ' -f1)}"; done
best=$(( ${cap[nginx]:-0} > ${cap[haproxy]:-0} ? ${cap[nginx]:-0} : ${cap[haproxy]:-0} ))
if ((best > 0)); then awk -v a="${cap[tether]:-0}" -v b="$best" 'BEGIN {printf "tether / better of nginx and HAProxy: %.2fx (target >= 1.30x)\n", a / b}'; fi
echo "(csv: $csv)"
