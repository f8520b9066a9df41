#!/usr/bin/env bash
# HTTP keep-alive proxying: tether vs nginx vs HAProxy, same machine, same run.
#
# One fast backend (nginx, 1 worker, `return 200`), and in front of it, each with 1 worker/thread
# and upstream keep-alive: tether, nginx (proxy_http_version 1.1, keepalive 64) and HAProxy
# (nbthread 1, http-reuse always). wrk -t1 -c64 drives each in alternating rounds; the script
# prints req/s and p99 per target (median over rounds) and the ratios, and writes
# OUT_DIR/bench-http.csv (OUT_DIR defaults to $TMPDIR/tether-bench, outside the source tree; the
# copy in docs/ is one such file committed with the figures it backs). Loopback only; bounded by
# ROUNDS x DURATION.
#
# With TLS=rsa2048|p256 the three proxies terminate TLS (a self-signed certificate of that kind,
# each proxy's default TLS settings), wrk speaks https with keep-alive, the direct row is left
# out, and the file is OUT_DIR/bench-https.csv.
#
# CPU placement: the proxies get CPU $PROXY_CPU (default: the last one); wrk gets the others
# ($OTHER_CPUS), and so does the backend unless BACKEND_CPU says otherwise. With TLS, wrk's own
# encryption can make it the bottleneck on a 2-core machine: BACKEND_CPU=$PROXY_CPU puts the
# (same) backend beside the proxy, so the proxy's core is the one that runs out and req/s and p99
# compare the proxies rather than how the scheduler shares two cores between five processes.
#
# Usage: [OUT_DIR=DIR] [TLS=rsa2048|p256] bench/http/compare.sh [ROUNDS=5] [DURATION=10s]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${1:-5}
DURATION=${2:-10s}
OUT_DIR=${OUT_DIR:-${TMPDIR:-/tmp}/tether-bench}
mkdir -p "$OUT_DIR"
"$root/scripts/install-deps" --bench >/dev/null
BUILD_DIR=${BUILD_DIR:-$root/build} "$root/scripts/build" >/dev/null
TETHER=${BUILD_DIR:-$root/build}/proxy/tether
work=$(mktemp -d /tmp/tether-bench-http.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

BACKEND=18801 TETHER_PORT=18802 NGINX_PORT=18803 HAPROXY_PORT=18804

source "$root/bench/http/contestants.sh"
write_contestant_configs "$work" $BACKEND $TETHER_PORT $NGINX_PORT $HAPROXY_PORT
scheme=http order=(direct tether nginx haproxy) csv_name=bench-http.csv
if [[ -n "${TLS:-}" ]]; then
  make_bench_cert "$work" "$TLS"
  make_contestants_tls "$work" "$work/$TLS.pem" "$work/$TLS.key"
  scheme=https order=(tether nginx haproxy) csv_name=bench-https.csv
fi

ncpu=$(nproc)
PROXY_CPU=${PROXY_CPU:-$((ncpu - 1))}
OTHER_CPUS=${OTHER_CPUS:-$( ((ncpu > 1)) && echo "0-$((ncpu - 2))" || echo 0)}
BACKEND_CPU=${BACKEND_CPU:-$OTHER_CPUS}
taskset -c "$BACKEND_CPU" nginx -c "$work/backend/nginx.conf" -p "$work/backend" 2>"$work/backend.err" & pids+=($!)
taskset -c "$PROXY_CPU" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>"$work/nginx.err" & pids+=($!); nginx_pid=$!
taskset -c "$PROXY_CPU" haproxy -f "$work/haproxy.cfg" -db 2>"$work/haproxy.err" & pids+=($!); haproxy_pid=$!
taskset -c "$PROXY_CPU" "$TETHER" -c "$work/tether.yaml" --log-level warn 2>"$work/tether.err" & pids+=($!); tether_pid=$!
sleep 1
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "a server failed to start:" >&2; cat "$work"/*.err >&2; exit 1; }
done

declare -A ports=([direct]=$BACKEND [tether]=$TETHER_PORT [nginx]=$NGINX_PORT [haproxy]=$HAPROXY_PORT)
declare -A procs=([direct]="" [tether]=$tether_pid [nginx]=$nginx_pid [haproxy]=$haproxy_pid)
# CPU ticks (utime+stime) of a process and its children (nginx's worker is a child of its master).
cpu_ticks() {
  local root=$1 total=0 pid
  [[ -z "$root" ]] && { echo 0; return; }
  for pid in $root $(pgrep -P "$root"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo $total
}
hz=$(getconf CLK_TCK)
declare -A rps p99 cpu
for t in "${order[@]}"; do rps[$t]=""; p99[$t]=""; cpu[$t]=""; done

to_ms() {  # wrk latency "1.23ms" / "456.00us" / "1.2s" -> ms
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'
}

for ((r = 1; r <= ROUNDS; r++)); do
  for t in "${order[@]}"; do
    before=$(cpu_ticks "${procs[$t]}")
    out=$(taskset -c "$OTHER_CPUS" wrk -t1 -c64 -d"$DURATION" --latency "$scheme://127.0.0.1:${ports[$t]}/" 2>&1)
    after=$(cpu_ticks "${procs[$t]}")
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    cpu[$t]+="$(awk -v d=$((after - before)) -v hz="$hz" -v n="$reqs" 'BEGIN { printf "%.2f", (n > 0 ? d / hz * 1e6 / n : 0) }') "
    if echo "$out" | grep -q "Non-2xx\|Socket errors"; then echo "warning: $t round $r: $(echo "$out" | grep -E 'Non-2xx|Socket errors')" >&2; fi
    rps[$t]+="$(echo "$out" | awk '/Requests\/sec/ {print $2}') "
    p99[$t]+="$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')") "
    echo "round $r $t: $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s, p99 $(echo "$out" | awk '$1 == "99%" {print $2}')" >&2
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
csv="$OUT_DIR/$csv_name"
echo "target,req_per_s,p99_ms,proxy_cpu_us_per_request" > "$csv"
printf "\n%-8s %12s %10s %22s   (median of %d rounds of %s; proxies on CPU %s, wrk on %s, backend on %s; load: %s)\n" target "req/s" "p99 ms" \
  "proxy CPU us/request" "$ROUNDS" "$DURATION" "$PROXY_CPU" "$OTHER_CPUS" "$BACKEND_CPU" "$(cut -d' ' -f1-3 /proc/loadavg)"
for t in "${order[@]}"; do
  m=$(echo "${rps[$t]}" | median); q=$(echo "${p99[$t]}" | median); c=$(echo "${cpu[$t]}" | median)
  printf "%-8s %12.0f %10.3f %22s\n" "$t" "$m" "$q" "$([[ $t == direct ]] && echo - || echo "$c")"
  echo "$t,$m,$q,$c" >> "$csv"
  declare "med_$t=$m" "p99_$t=$q" "cpu_$t=$c"
done
best=$(awk -v a="$med_nginx" -v b="$med_haproxy" 'BEGIN {print (a > b ? a : b)}')
bestname=$(awk -v a="$med_nginx" -v b="$med_haproxy" 'BEGIN {print (a > b ? "nginx" : "haproxy")}')
printf "\ntether / nginx   req/s: %.2fx   p99: %.2fx\n" "$(awk -v a="$med_tether" -v b="$med_nginx" 'BEGIN{print a/b}')" "$(awk -v a="$p99_tether" -v b="$p99_nginx" 'BEGIN{print a/b}')"
printf "tether / haproxy req/s: %.2fx   p99: %.2fx\n" "$(awk -v a="$med_tether" -v b="$med_haproxy" 'BEGIN{print a/b}')" "$(awk -v a="$p99_tether" -v b="$p99_haproxy" 'BEGIN{print a/b}')"
[[ $scheme == https ]] || printf "tether / best (%s): %.2fx (target >= 1.30x)\n" "$bestname" "$(awk -v a="$med_tether" -v b="$best" 'BEGIN{print a/b}')"
printf "proxy CPU per request: tether %s us, nginx %s us, haproxy %s us (nginx/tether %.2fx, haproxy/tether %.2fx)\n" \
  "$cpu_tether" "$cpu_nginx" "$cpu_haproxy" "$(awk -v a="$cpu_nginx" -v b="$cpu_tether" 'BEGIN{print a/b}')" "$(awk -v a="$cpu_haproxy" -v b="$cpu_tether" 'BEGIN{print a/b}')"
echo "(csv: $csv)"
