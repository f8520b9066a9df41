#!/usr/bin/env bash
# HTTP/2 to clients over TLS: tether vs nginx (`http2` on its TLS listener), same backend, same
# run; and HTTP/1.1 vs HTTP/2 through the same tether listener.
#
# One fast backend (nginx, 1 worker, `return 200`); in front of it, each with 1 worker and
# upstream keep-alive 64, tether (`http2: true` on a TLS listener) and nginx (`listen ... ssl
# http2`, proxy_http_version 1.1). h2load drives each in alternating rounds: HTTP/2 with -c 16 -m 16
# (16 connections, 16 streams each), and through tether also HTTP/1.1 (--h1 -c 16, one request at
# a time per connection, as browsers do). Prints per target the median req/s over rounds, the p99
# latency (from h2load's per-request log) and the proxy's CPU time per request (utime+stime from
# /proc over the round); writes OUT_DIR/bench-h2.csv. Loopback only; bounded by ROUNDS x DURATION.
#
# CPU placement: the proxies get CPU $PROXY_CPU (default: the last one) to themselves; the backend
# and h2load share the others ($OTHER_CPUS). The proxy under test is then the bottleneck, so req/s
# and p99 compare the proxies rather than the scheduler's mood on a small machine.
#
# Usage: [OUT_DIR=DIR] bench/http/h2.sh [ROUNDS=3] [DURATION=10]   (DURATION in seconds)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${1:-3}
DURATION=${2:-10}
OUT_DIR=${OUT_DIR:-${TMPDIR:-/tmp}/tether-bench}
mkdir -p "$OUT_DIR"
"$root/scripts/install-deps" --bench >/dev/null
BUILD_DIR=${BUILD_DIR:-$root/build} "$root/scripts/build" >/dev/null
TETHER=${BUILD_DIR:-$root/build}/proxy/tether
work=$(mktemp -d /tmp/tether-bench-h2.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
source "$root/bench/http/contestants.sh"
ncpu=$(nproc)
PROXY_CPU=${PROXY_CPU:-$((ncpu - 1))}
OTHER_CPUS=${OTHER_CPUS:-$( ((ncpu > 1)) && echo "0-$((ncpu - 2))" || echo 0)}

read -r BACKEND TETHER_PORT NGINX_PORT _ < <(python3 "$root/bench/chat/free_ports.py" 3 1)
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
mkdir -p "$work"/nginx/logs
write_backend_config "$work" "$BACKEND"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1; daemon off; error_log stderr error; pid $work/nginx/nginx.pid;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; http2_max_concurrent_streams 128;
  upstream be { server 127.0.0.1:$BACKEND; keepalive 64; }
  server { listen 127.0.0.1:$NGINX_PORT ssl http2;
    ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; } } }
CONF
cat > "$work/tether.yaml" <<CONF
workers: 1
listeners:
  - {name: web, address: "127.0.0.1:$TETHER_PORT", http2: true, tls: {cert: $work/cert.pem, key: $work/key.pem}}
upstreams:
  be: {strategy: round_robin, keepalive: 64, servers: ["127.0.0.1:$BACKEND"]}
CONF

taskset -c "$OTHER_CPUS" nginx -c "$work/backend/nginx.conf" -p "$work/backend" 2>"$work/backend.err" & pids+=($!)
taskset -c "$PROXY_CPU" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>"$work/nginx.err" & pids+=($!); nginx_pid=$!
taskset -c "$PROXY_CPU" "$TETHER" -c "$work/tether.yaml" --log-level warn 2>"$work/tether.err" & pids+=($!); tether_pid=$!
sleep 1
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "a server failed to start:" >&2; cat "$work"/*.err >&2; exit 1; }
done

cpu_ticks() {  # utime+stime of a process and its children (nginx's worker is a child of its master)
  local total=0 pid
  for pid in $1 $(pgrep -P "$1"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo $total
}
hz=$(getconf CLK_TCK)
# target name -> "pid port h2load-args"
declare -A target=([tether_h2]="$tether_pid $TETHER_PORT -c16 -m16" [nginx_h2]="$nginx_pid $NGINX_PORT -c16 -m16"
                   [tether_h1]="$tether_pid $TETHER_PORT --h1 -c16 -m1")
order=(tether_h2 nginx_h2 tether_h1)
declare -A rps p99 cpu
for t in "${order[@]}"; do rps[$t]=""; p99[$t]=""; cpu[$t]=""; done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }

for ((r = 1; r <= ROUNDS; r++)); do
  for t in "${order[@]}"; do
    read -r pid port args <<<"${target[$t]}"
    before=$(cpu_ticks "$pid")
    # shellcheck disable=SC2086
    out=$(taskset -c "$OTHER_CPUS" h2load $args -D "$DURATION" -t1 --log-file="$work/$t.log" "https://127.0.0.1:$port/")
    after=$(cpu_ticks "$pid")
    done_n=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
    failed=$(sed -n 's/^requests: .* \([0-9]*\) failed.*/\1/p' <<<"$out")
    r_s=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
    # The log's third column is each request's duration in microseconds.
    p=$(awk '{print $3}' "$work/$t.log" | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.2f", a[i]/1000}')
    c=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$done_n" 'BEGIN {printf "%.1f", n ? t / hz * 1e6 / n : 0}')
    printf "round %d %-10s %10s req/s  p99 %7s ms  cpu/request %6s us  failed %s\n" "$r" "$t" "$r_s" "$p" "$c" "$failed"
    rps[$t]+=" $r_s"; p99[$t]+=" $p"; cpu[$t]+=" $c"
  done
done

echo "target,req_per_s,p99_ms,cpu_us_per_request" > "$OUT_DIR/bench-h2.csv"
echo
printf "%-10s %12s %10s %16s   (median of %d rounds of %ss; proxy on CPU %s, the rest on %s; load: %s)\n" target req/s p99_ms cpu_us/request "$ROUNDS" "$DURATION" "$PROXY_CPU" "$OTHER_CPUS" "$(cut -d' ' -f1-3 /proc/loadavg)"
for t in "${order[@]}"; do
  a=$(median <<<"${rps[$t]}"); b=$(median <<<"${p99[$t]}"); c=$(median <<<"${cpu[$t]}")
  printf "%-10s %12s %10s %16s\n" "$t" "$a" "$b" "$c"
  echo "$t,$a,$b,$c" >> "$OUT_DIR/bench-h2.csv"
done
