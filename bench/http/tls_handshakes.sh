#!/usr/bin/env bash
# TLS handshakes and idle TLS connections: tether vs nginx vs HAProxy, same machine, same run.
#
# For each certificate kind (RSA 2048, ECDSA P-256) the three proxies (bench/http/contestants.sh:
# one worker/thread each, each with its default TLS settings and session tickets) terminate TLS in
# front of one nginx backend, and each is measured in turn:
#   full (ab)      `ab -c 16` without keep-alive: every request is a new connection and a full
#                  handshake; handshakes/s as ab reports them
#   full, resumed  bench/http/handshake_client.py, 4 processes, a new connection per request,
#                  without and with the previous session offered (TLS 1.3 PSK; the TLS 1.2 row
#                  uses tickets): handshakes/s, and the proxy's CPU microseconds per handshake
#                  from /proc (the load-independent figure)
#   idle bytes     the proxy's RSS growth per idle TLS keep-alive connection (1000 connections,
#                  each after its handshake and one request), bench/http/idle_tls_client.py
# The proxies run on CPU $PROXY_CPU (default: the last one), the backend and the clients on the
# others ($OTHER_CPUS), so no proxy shares its core with a client.
# It prints one table per kind and writes OUT_DIR/bench-tls-handshakes.csv. Loopback only;
# bounded by N.
#
# Usage: [OUT_DIR=DIR] bench/http/tls_handshakes.sh [N=4000] [IDLE=1000]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
N=${1:-4000}
IDLE=${2:-1000}
OUT_DIR=${OUT_DIR:-${TMPDIR:-/tmp}/tether-bench}
mkdir -p "$OUT_DIR"
"$root/scripts/install-deps" --bench >/dev/null
BUILD_DIR=${BUILD_DIR:-$root/build} "$root/scripts/build" >/dev/null
TETHER=${BUILD_DIR:-$root/build}/proxy/tether
work=$(mktemp -d /tmp/tether-bench-tls.XXXXXX)
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
trap 'stop_all; rm -rf "$work"' EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
source "$root/bench/http/contestants.sh"
BACKEND=18831 TETHER_PORT=18832 NGINX_PORT=18833 HAPROXY_PORT=18834
declare -A ports=([tether]=$TETHER_PORT [nginx]=$NGINX_PORT [haproxy]=$HAPROXY_PORT)
hz=$(getconf CLK_TCK)
ncpu=$(nproc)
PROXY_CPU=${PROXY_CPU:-$((ncpu - 1))}
OTHER_CPUS=${OTHER_CPUS:-$( ((ncpu > 1)) && echo "0-$((ncpu - 2))" || echo 0)}

cpu_ticks() {  # utime+stime of a process and its children
  local total=0 pid
  for pid in $1 $(pgrep -P "$1"); do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done
  echo $total
}
rss_kib() {
  local total=0 pid
  for pid in $1 $(pgrep -P "$1"); do total=$((total + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0))); done
  echo $total
}
per_handshake_us() { awk -v d="$1" -v hz="$hz" -v n="$2" 'BEGIN { printf "%.0f", (n > 0 ? d / hz * 1e6 / n : 0) }'; }

csv="$OUT_DIR/bench-tls-handshakes.csv"
echo "cert,proxy,full_ab_per_s,full_per_s,full_cpu_us,resumed_per_s,resumed_cpu_us,resumed12_per_s,resumed12_cpu_us,idle_bytes_per_conn" > "$csv"
for kind in rsa2048 p256; do
  rm -rf "${work:?}"/*
  write_contestant_configs "$work" $BACKEND $TETHER_PORT $NGINX_PORT $HAPROXY_PORT
  make_bench_cert "$work" "$kind"
  make_contestants_tls "$work" "$work/$kind.pem" "$work/$kind.key"
  taskset -c "$OTHER_CPUS" nginx -c "$work/backend/nginx.conf" -p "$work/backend" 2>"$work/backend.err" & pids+=($!)
  taskset -c "$PROXY_CPU" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" 2>"$work/nginx.err" & pids+=($!); nginx_pid=$!
  taskset -c "$PROXY_CPU" haproxy -f "$work/haproxy.cfg" -db 2>"$work/haproxy.err" & pids+=($!); haproxy_pid=$!
  taskset -c "$PROXY_CPU" "$TETHER" -c "$work/tether.yaml" --log-level warn 2>"$work/tether.err" & pids+=($!); tether_pid=$!
  sleep 1
  declare -A procs=([tether]=$tether_pid [nginx]=$nginx_pid [haproxy]=$haproxy_pid)
  printf "\n%s\n%-8s %10s %10s %10s %12s %10s %12s %10s %12s %12s\n" "certificate: $kind" proxy "full(ab)/s" "full/s" "full us" "resumed/s" "resumed us" "resumed1.2/s" "1.2 us" "resumed/full" "idle B/conn"
  for t in tether nginx haproxy; do
    port=${ports[$t]} pid=${procs[$t]}
    ab_rate=$(taskset -c "$OTHER_CPUS" ab -q -n "$N" -c 16 "https://127.0.0.1:$port/" 2>/dev/null | awk '/Requests per second/ {print $4}')
    declare -A rate=() us=()
    for mode in full resumed resumed12; do
      args=(); [[ $mode == resumed ]] && args=(resume tls1.3); [[ $mode == resumed12 ]] && args=(resume tls1.2)
      before=$(cpu_ticks "$pid")
      out=$(taskset -c "$OTHER_CPUS" python3 "$root/bench/http/handshake_client.py" "$port" "$N" 4 "${args[@]}")
      after=$(cpu_ticks "$pid")
      n=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"])')
      rate[$mode]=$(echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d["connections"]/d["seconds"]))')
      us[$mode]=$(per_handshake_us $((after - before)) "$n")
      if [[ $mode != full ]]; then
        echo "$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["resumed"] >= d["connections"]-8 and d["failed"] == 0 else 1)' \
          || echo "warning: $t $mode: $out" >&2
      fi
    done
    base=$(rss_kib "$pid")
    coproc idle { taskset -c "$OTHER_CPUS" python3 "$root/bench/http/idle_tls_client.py" "$port" "$IDLE" 60; }
    read -r ready <&"${idle[0]}" || ready=""
    grown=$(rss_kib "$pid")
    kill "$idle_PID" 2>/dev/null || true; wait "$idle_PID" 2>/dev/null || true
    idle_b=$([[ $ready == ready ]] && echo $(((grown - base) * 1024 / IDLE)) || echo "")
    ratio=$(awk -v f="${us[full]}" -v r="${us[resumed]}" 'BEGIN { printf "%.1fx", (r > 0 ? f / r : 0) }')
    printf "%-8s %10.0f %10s %10s %10s %12s %10s %12s %10s %12s %12s\n" "$t" "$ab_rate" "${rate[full]}" "${us[full]}" "${rate[resumed]}" "${us[resumed]}" \
      "${rate[resumed12]}" "${us[resumed12]}" "$ratio" "$idle_b"
    echo "$kind,$t,$ab_rate,${rate[full]},${us[full]},${rate[resumed]},${us[resumed]},${rate[resumed12]},${us[resumed12]},$idle_b" >> "$csv"
  done
  stop_all
done
echo "(resumed/full: the proxy's CPU per full handshake over its CPU per resumed one; csv: $csv)"
