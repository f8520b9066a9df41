#!/usr/bin/env bash
# Instructions per proxied keep-alive request, for tether, nginx and HAProxy, under callgrind.
#
# Each proxy runs under `valgrind --tool=callgrind` twice: once idle (start, stop) and once
# serving exactly N requests (bench/http/count_client.py, 8 keep-alive connections) to an nginx
# backend. (busy - idle) / N is the proxy's own cost per request, independent of machine load.
# Usage: [TLS=rsa2048|p256] [TETHER_ROUTE=none|plain|rules] bench/http/callgrind.sh [N=20000]
#   TLS: every proxy terminates TLS with a certificate of that kind (keep-alive, so the N
#   requests cost 8 handshakes); the per-request figure then prices the TLS record path.
#   HANDSHAKES=full|resumed|resumed12 (with TLS): instead, N connections of one request each
#   (bench/http/handshake_client.py, 2 processes): full handshakes, or TLS 1.3 / TLS 1.2
#   resumptions; the figure is then instructions per connection.
#   H2=1 (with TLS): the proxies offer HTTP/2 and h2load sends the N requests over 8 connections
#   of 16 concurrent streams each; the figure is then instructions per HTTP/2 request.
#   TETHER_ROUTE (tether only): none (default) proxies without a routes section; plain adds one
#   route without rules; rules adds one route with four header rules (two on the request, two on
#   the response), to price routing and header rules against `none`.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-20000}
"$root/scripts/install-deps" --bench >/dev/null
BUILD_DIR=${BUILD_DIR:-$root/build} "$root/scripts/build" >/dev/null
TETHER=${BUILD_DIR:-$root/build}/proxy/tether
work=$(mktemp -d /tmp/tether-callgrind.XXXXXX)
backend_pid=""
cleanup() { [[ -n "$backend_pid" ]] && kill "$backend_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
BACKEND=18811 PORT=18812

source "$root/bench/http/contestants.sh"
write_contestant_configs "$work" $BACKEND $PORT $PORT $PORT off
case ${TETHER_ROUTE:-none} in
  none) ;;
  plain) echo 'routes: [{path_prefix: /, upstream: be}]' >> "$work/tether.yaml" ;;
  rules) cat >> "$work/tether.yaml" <<'CONF'
routes:
  - path_prefix: /
    upstream: be
    request_headers: {set: {X-Env: prod}, remove: [X-Debug]}
    response_headers: {set: {X-Frame-Options: DENY}, add: {Strict-Transport-Security: "max-age=31536000"}}
CONF
    ;;
  *) echo "callgrind.sh: TETHER_ROUTE must be none, plain or rules" >&2; exit 2 ;;
esac
tls_arg=""
if [[ -n "${HANDSHAKES:-}${H2:-}" && -z "${TLS:-}" ]]; then echo "callgrind.sh: HANDSHAKES and H2 need TLS" >&2; exit 2; fi
if [[ -n "${TLS:-}" ]]; then
  make_bench_cert "$work" "$TLS"
  make_contestants_tls "$work" "$work/$TLS.pem" "$work/$TLS.key"
  tls_arg=tls
  [[ -n "${H2:-}" ]] && make_contestants_h2 "$work"
fi
nginx -c "$work/backend/nginx.conf" -p "$work/backend" & backend_pid=$!
sleep 0.5

total_ir() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}'; }

measure() {  # measure NAME REQUESTS -- command...
  local name=$1 n=$2; shift 3
  local out="$work/$name.$n.cg"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >/dev/null 2>"$work/$name.$n.err" &
  local pid=$!
  for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done
  if ((n > 0)); then
    case ${HANDSHAKES:-} in
      "") if [[ -n "${H2:-}" ]]; then
            h2load -n "$n" -c 8 -m 16 "https://127.0.0.1:$PORT/" | grep -q " $n succeeded" || echo "warning: $name: not all $n HTTP/2 requests succeeded" >&2
          else
            python3 "$root/bench/http/count_client.py" "$PORT" "$n" 8 $tls_arg
          fi ;;
      full) python3 "$root/bench/http/handshake_client.py" "$PORT" "$n" 2 >/dev/null ;;
      resumed) python3 "$root/bench/http/handshake_client.py" "$PORT" "$n" 2 resume tls1.3 >/dev/null ;;
      resumed12) python3 "$root/bench/http/handshake_client.py" "$PORT" "$n" 2 resume tls1.2 >/dev/null ;;
    esac
  fi
  kill -TERM "$pid"; wait "$pid" || true
  # callgrind writes one file per process/thread; sum them
  local sum=0
  for f in "$out"*; do sum=$((sum + $(total_ir "$f"))); done
  echo "$sum"
}

printf "%-8s %14s %14s %12s\n" proxy "idle Ir" "busy Ir" "Ir/request"
for name in tether nginx haproxy; do
  case $name in
    tether) cmd=("$TETHER" -c "$work/tether.yaml" --log-level warn) ;;
    nginx) cmd=(nginx -c "$work/nginx/nginx.conf" -p "$work/nginx") ;;
    haproxy) cmd=(haproxy -f "$work/haproxy.cfg" -db) ;;
  esac
  idle=$(measure "$name" 0 -- "${cmd[@]}")
  busy=$(measure "$name" "$N" -- "${cmd[@]}")
  printf "%-8s %14d %14d %12d\n" "$name" "$idle" "$busy" $(((busy - idle) / N))
done
