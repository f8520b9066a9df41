#!/usr/bin/env bash
# Memory per idle WebSocket tunnel: N tunnels (default 5000) opened through tether (1 worker),
# nginx (1 worker) and HAProxy (nbthread 1) to the same `ws` echo server; the proxy's RSS growth
# divided by N. Loopback only; every process is stopped at the end.
# Usage: bench/ws/idle_memory.sh [N=5000]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-5000}
"$root/scripts/install-deps" --bench >/dev/null
BUILD_DIR=${BUILD_DIR:-$root/build} "$root/scripts/build" >/dev/null
TETHER=${BUILD_DIR:-$root/build}/proxy/tether
ulimit -Hn 200000 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/tether-wsmem.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ECHO=18901 PORT=18902

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
tree_rss() { local t=0 p r; for p in $1 $(pgrep -P "$1"); do r=$(rss_kib "$p" 2>/dev/null || true); t=$((t + ${r:-0})); done; echo $t; }

mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; error_log stderr error; pid $work/nginx/nginx.pid;
worker_rlimit_nofile 100000;
events { worker_connections 30000; }
http { access_log off;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  server { listen 127.0.0.1:$PORT;
    location / { proxy_pass http://127.0.0.1:$ECHO; proxy_http_version 1.1;
                 proxy_set_header Upgrade \$http_upgrade; proxy_set_header Connection \$connection_upgrade;
                 proxy_read_timeout 1h; } } }
CONF
cat > "$work/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
frontend fe
  bind 127.0.0.1:$PORT
  default_backend be
backend be
  server s1 127.0.0.1:$ECHO
CONF
cat > "$work/tether.yaml" <<CONF
workers: 1
listeners: [{address: "127.0.0.1:$PORT"}]
upstreams:
  be: {servers: ["127.0.0.1:$ECHO"]}
CONF

export NODE_PATH="$root/tests/node/node_modules"
node "$root/bench/ws/echo_server.js" "$ECHO" > "$work/echo.log" & pids+=($!)
sleep 1
csv="$root/docs/bench-ws-memory.csv"
echo "proxy,tunnels,bytes_per_tunnel" > "$csv"
printf "%-8s %10s %12s %12s %14s\n" proxy tunnels "RSS before" "RSS after" "bytes/tunnel"
for name in tether nginx haproxy; do
  case $name in
    tether) "$TETHER" -c "$work/tether.yaml" --log-level warn & ;;
    nginx) nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>/dev/null & ;;
    haproxy) haproxy -f "$work/haproxy.cfg" -db 2>/dev/null & ;;
  esac
  pid=$!
  sleep 1
  mkfifo "$work/in.$name"
  node "$root/bench/ws/hold_tunnels.js" "$PORT" < "$work/in.$name" > "$work/out.$name" & holder=$!
  exec 7> "$work/in.$name"
  echo 200 >&7  # warm-up batch: allocator pools, listener, upstream structures
  until grep -q "^open" "$work/out.$name"; do sleep 0.2; done
  sleep 0.5
  before=$(tree_rss "$pid")
  echo "$N" >&7
  until [[ $(grep -c "^open" "$work/out.$name") -ge 2 ]]; do sleep 0.5; done
  sleep 1
  after=$(tree_rss "$pid")
  opened=$(tail -1 "$work/out.$name" | awk '{print $2 - 200}')
  per=$(( (after - before) * 1024 / (opened > 0 ? opened : 1) ))
  printf "%-8s %10d %10d KiB %10d KiB %14d\n" "$name" "$opened" "$before" "$after" "$per"
  echo "$name,$opened,$per" >> "$csv"
  echo quit >&7; exec 7>&-
  wait "$holder" 2>/dev/null || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
echo "(csv: $csv)"
