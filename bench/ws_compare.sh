#!/usr/bin/env bash
# WebSocket tunnels: tether vs nginx vs HAProxy, one run, same echo backend (tether-echo).
#
#   1. Idle-tunnel memory: open $IDLE_TUNNELS WebSocket connections through the proxy (one worker
#      / one thread), keep them idle, and divide the proxy's VmRSS growth by the tunnel count.
#      For nginx the worker process is measured (the master holds no connections).
#   2. Many tunnels: $MANY_TUNNELS idle tunnels through tether's one worker must all open (the
#      count is capped by the fd limit: the proxy needs two descriptors per tunnel).
#   3. Throughput/latency: tether-bench ws, $CONNS connections, $SIZE-byte messages, open loop,
#      at a ladder of aggregate rates; per proxy the highest rate that is fully echoed with
#      p99 <= $P99_SLO_US is its capacity "at equal p99". A direct run (no proxy) shows what the
#      generator + backend alone can do. The proxy's CPU time per message (/proc/PID/stat) is
#      reported too: unlike latency it does not depend on what else runs on the machine.
# CPU placement (this box may have few cores): the proxy gets CPU $PROXY_CPU alone, the
# generator and the backend share the others. Loopback only; every process is started here with
# its own temp config and prefix (never a system service) and killed on exit.
#
# usage: bench/ws_compare.sh            (env: BUILD_DIR, IDLE_TUNNELS, CONNS, SIZE, RATES, DURATION)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
bench=$build/bench/tether-bench
echo_bin=$build/bench/tether-echo
tether_bin=$build/proxy/tether
IDLE_TUNNELS=${IDLE_TUNNELS:-5000}
MANY_TUNNELS=${MANY_TUNNELS:-20000}
CONNS=${CONNS:-1000}
SIZE=${SIZE:-64}
RATES=${RATES:-"5000 10000 20000 30000 40000 60000 80000 100000"}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
P99_SLO_US=${P99_SLO_US:-10000}
NGINX=${NGINX:-/usr/sbin/nginx}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
ncpu=$(nproc)
PROXY_CPU=${PROXY_CPU:-$((ncpu - 1))}
OTHER_CPUS=${OTHER_CPUS:-$( ((ncpu > 1)) && echo "0-$((ncpu - 2))" || echo 0)}

for b in "$bench" "$echo_bin" "$tether_bin"; do [[ -x $b ]] || { echo "missing $b (build first: scripts/build)" >&2; exit 1; }; done
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need_fds=$((IDLE_TUNNELS * 2 + 100))
if (( $(ulimit -n) < need_fds )); then
  echo "fd limit $(ulimit -n) < $need_fds needed for $IDLE_TUNNELS tunnels; lowering IDLE_TUNNELS" >&2
  IDLE_TUNNELS=$(( ($(ulimit -n) - 100) / 2 ))
fi
if (( $(ulimit -n) < MANY_TUNNELS * 2 + 100 )); then
  echo "fd limit $(ulimit -n) (hard $(ulimit -Hn)) allows $(( ($(ulimit -n) - 100) / 2 )) tunnels through one process, not $MANY_TUNNELS" >&2
  MANY_TUNNELS=$(( ($(ulimit -n) - 100) / 2 ))
fi

work=$(mktemp -d /tmp/tether-wscompare.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# RSS of a proxy: its worker process(es) (nginx: the children of the master).
proxy_rss() {
  local name=$1 pid=$2 total=0 c
  if [[ $name == nginx ]]; then
    for c in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do total=$((total + $(rss_kib "$c"))); done
    echo "$total"
  else
    rss_kib "$pid"
  fi
}

# ---- backend ------------------------------------------------------------------------------------
taskset -c "$OTHER_CPUS" "$echo_bin" --port 0 > "$work/echo.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q listening "$work/echo.out" && break; sleep 0.05; done
backend_port=$(awk '/listening/ {split($2, a, ":"); print a[2]}' "$work/echo.out")
[[ -n $backend_port ]] || { echo "tether-echo did not start" >&2; exit 1; }

# ---- proxies ------------------------------------------------------------------------------------
start_tether() {
  local port=$1 dir=$work/tether
  mkdir -p "$dir"
  cat > "$dir/tether.yaml" <<EOF
workers: 1
listeners:
  - name: web
    address: 127.0.0.1:$port
upstreams:
  echo:
    servers:
      - address: 127.0.0.1:$backend_port
limits:
  max_connections: 200000
EOF
  taskset -c "$PROXY_CPU" "$tether_bin" -c "$dir/tether.yaml" --log-level warn > "$dir/log" 2>&1 &
  echo $!
}

start_nginx() {
  local port=$1 dir=$work/nginx
  mkdir -p "$dir/logs" "$dir/tmp"
  cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
worker_cpu_affinity $(python3 -c "print(format(1 << $PROXY_CPU, 'b'))");
worker_rlimit_nofile $(ulimit -n);
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections $(( $(ulimit -n) - 100 )); multi_accept on; }
http {
  access_log off;
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
  upstream echo { server 127.0.0.1:$backend_port; }
  server {
    listen 127.0.0.1:$port;
    location / {
      proxy_pass http://echo;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }
  }
}
EOF
  "$NGINX" -p "$dir" -c "$dir/nginx.conf" > "$dir/out" 2>&1 &
  echo $!
}

start_haproxy() {
  local port=$1 dir=$work/haproxy
  mkdir -p "$dir"
  cat > "$dir/haproxy.cfg" <<EOF
global
  nbthread 1
  cpu-map 1/1 $PROXY_CPU
  maxconn $(( $(ulimit -n) / 2 - 50 ))
defaults
  mode http
  timeout connect 5s
  timeout client 1h
  timeout server 1h
  timeout tunnel 1h
frontend fe
  bind 127.0.0.1:$port
  default_backend be
backend be
  server echo 127.0.0.1:$backend_port
EOF
  "$HAPROXY" -db -f "$dir/haproxy.cfg" > "$dir/out" 2>&1 &
  echo $!
}

declare -A MEM CAP TOP P99AT RESULTS CPU
MANY="not run"
LOW_RATE=${RATES%% *}

idle_memory() {  # name pid port -> bytes per idle tunnel
  local name=$1 pid=$2 port=$3 base now out=$work/hold-$1.out
  sleep 0.5
  base=$(proxy_rss "$name" "$pid")
  taskset -c "$OTHER_CPUS" "$bench" ws --url "ws://127.0.0.1:$port/" -c "$IDLE_TUNNELS" --connect-rate 5000 --hold 8 > "$out" 2>&1 &
  local bp=$!
  pids+=($bp)
  for _ in $(seq 1 300); do grep -q HOLDING "$out" && break; sleep 0.1; done
  sleep 2
  now=$(proxy_rss "$name" "$pid")
  wait "$bp" || true
  local opened; opened=$(awk '/^HOLDING/ {print $2}' "$out")
  opened=${opened:-0}
  if (( opened > 0 )); then
    MEM[$name]=$(( (now - base) * 1024 / opened ))
  else
    MEM[$name]=NA
  fi
  printf '  %-8s idle: %s tunnels, VmRSS %s -> %s KiB, %s B/tunnel\n' "$name" "$opened" "$base" "$now" "${MEM[$name]}"
}

# CPU time (utime + stime, in clock ticks) of a proxy's worker process(es).
proxy_ticks() {
  local name=$1 pid=$2 total=0 c procs=$2
  [[ $name == nginx ]] && procs=$(cat /proc/"$pid"/task/*/children 2>/dev/null)
  for c in $procs; do total=$((total + $(awk '{print $14 + $15}' "/proc/$c/stat"))); done
  echo "$total"
}

throughput() {  # name port [pid]: rate ladder, up while every message is echoed and p99 < 1 s
  local name=$1 port=$2 pid=${3:-} rate line best=0 top=0 t0=0 t1=0
  for rate in $RATES; do
    [[ -n $pid ]] && t0=$(proxy_ticks "$name" "$pid")
    line=$(taskset -c "$OTHER_CPUS" "$bench" ws --url "ws://127.0.0.1:$port/" -c "$CONNS" --connect-rate 5000 \
             -r "$rate" -s "$SIZE" -d "$DURATION" -w "$WARMUP" 2>/dev/null | grep '^RESULT' || true)
    if [[ -n $pid ]]; then
      # Proxy CPU per message relayed (both directions of one echo), over warm-up + window:
      # robust to other load on the box, unlike latency.
      t1=$(proxy_ticks "$name" "$pid")
      CPU[$name,$rate]=$(python3 -c "import os,sys; t,r,d=map(float,sys.argv[1:]); print(round(t/os.sysconf('SC_CLK_TCK')*1e6/(r*d), 2))" \
        "$((t1 - t0))" "$rate" "$(python3 -c "print($DURATION + $WARMUP)")")
      line+=" proxy_cpu_us_per_msg=${CPU[$name,$rate]}"
    fi
    RESULTS[$name,$rate]=$line
    local sent echoed p99 mps
    sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' <<<"$line"); echoed=$(sed -n 's/.* echoed=\([0-9]*\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line"); mps=$(sed -n 's/.* msgs_per_s=\([0-9]*\).*/\1/p' <<<"$line")
    printf '  %-8s rate %7s/s: %s\n' "$name" "$rate" "${line#RESULT }"
    [[ $rate == "$LOW_RATE" ]] && P99AT[$name]=${p99:-NA}
    if [[ -n $sent && -n $echoed && -n $p99 ]] && (( sent > 0 && echoed * 100 >= sent * 99 && p99 < 1000000 )); then
      top=$mps
      (( p99 <= P99_SLO_US )) && best=$mps
    else
      break  # saturated: higher rates only queue more
    fi
  done
  CAP[$name]=$best
  TOP[$name]=$top
}

echo "== tether-bench ws comparison: $(date -u +%FT%TZ), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), proxy on CPU $PROXY_CPU, generator+backend on CPU $OTHER_CPUS"
echo "== idle tunnels: $IDLE_TUNNELS; load: $CONNS connections x $SIZE B messages, ${DURATION}s (+${WARMUP}s warm-up) per rate, capacity = highest rate fully echoed with p99 <= ${P99_SLO_US} us (and with p99 < 1 s)"
echo "-- direct (no proxy): what the generator and backend alone sustain"
throughput direct "$backend_port"

for name in tether nginx haproxy; do
  port=$(free_port)
  case $name in
    tether) pid=$(start_tether "$port") ;;
    nginx) pid=$(start_nginx "$port") ;;
    haproxy) pid=$(start_haproxy "$port") ;;
  esac
  pids+=("$pid")
  wait_port "$port"
  echo "-- $name (pid $pid, port $port)"
  idle_memory "$name" "$pid" "$port"
  if [[ $name == tether ]]; then
    sleep 2
    many=$(taskset -c "$OTHER_CPUS" "$bench" ws --url "ws://127.0.0.1:$port/" -c "$MANY_TUNNELS" --connect-rate 5000 --hold 3 2>&1 | grep '^RESULT' || true)
    MANY="$MANY_TUNNELS requested: ${many#RESULT }, tether VmRSS once they closed: $(rss_kib "$pid") KiB"
    echo "  tether   many tunnels: $MANY"
  fi
  sleep 3  # let the proxy finish closing the idle/many tunnels before measuring latency
  throughput "$name" "$port" "$pid"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done

ratio() { python3 -c "import sys; a,b=sys.argv[1],sys.argv[2]; print('NA' if a in ('NA','0','') or b in ('NA','0','') else f'{float(a)/float(b):.2f}')" "$1" "$2"; }
echo
echo "== summary"
printf '%-34s %12s %12s %12s %16s %16s\n' "" tether nginx haproxy "tether/nginx" "tether/haproxy"
printf '%-34s %12s %12s %12s %16s %16s\n' "bytes per idle tunnel (lower=better)" "${MEM[tether]}" "${MEM[nginx]}" "${MEM[haproxy]}" \
  "$(ratio "${MEM[tether]}" "${MEM[nginx]}")" "$(ratio "${MEM[tether]}" "${MEM[haproxy]}")"
printf '%-34s %12s %12s %12s %16s %16s\n' "msg/s at p99 <= ${P99_SLO_US}us" "${CAP[tether]}" "${CAP[nginx]}" "${CAP[haproxy]}" \
  "$(ratio "${CAP[tether]}" "${CAP[nginx]}")" "$(ratio "${CAP[tether]}" "${CAP[haproxy]}")"
printf '%-34s %12s %12s %12s %16s %16s\n' "max msg/s echoed, p99 < 1s" "${TOP[tether]}" "${TOP[nginx]}" "${TOP[haproxy]}" \
  "$(ratio "${TOP[tether]}" "${TOP[nginx]}")" "$(ratio "${TOP[tether]}" "${TOP[haproxy]}")"
printf '%-34s %12s %12s %12s %16s %16s\n' "p99 us at ${LOW_RATE}/s (lower=better)" "${P99AT[tether]}" "${P99AT[nginx]}" "${P99AT[haproxy]}" \
  "$(ratio "${P99AT[tether]}" "${P99AT[nginx]}")" "$(ratio "${P99AT[tether]}" "${P99AT[haproxy]}")"
echo "direct (no proxy): ${CAP[direct]} msg/s at p99 <= ${P99_SLO_US}us, ${TOP[direct]} msg/s echoed with p99 < 1s"
echo "many tunnels through tether: $MANY"
echo
echo "== proxy CPU time per echoed message (us; both directions; lower=better) per offered rate"
printf '%10s %12s %12s %12s %16s %16s\n' rate tether nginx haproxy "tether/nginx" "tether/haproxy"
for rate in $RATES; do
  printf '%10s %12s %12s %12s %16s %16s\n' "$rate" "${CPU[tether,$rate]:--}" "${CPU[nginx,$rate]:--}" "${CPU[haproxy,$rate]:--}" \
    "$(ratio "${CPU[tether,$rate]:-NA}" "${CPU[nginx,$rate]:-NA}")" "$(ratio "${CPU[tether,$rate]:-NA}" "${CPU[haproxy,$rate]:-NA}")"
done
echo
echo "== p99 RTT (us) per offered rate ('-' = not run: the previous rate saturated)"
printf '%10s %12s %12s %12s %12s\n' rate direct tether nginx haproxy
for rate in $RATES; do
  row=$(printf '%10s' "$rate")
  for name in direct tether nginx haproxy; do
    line=${RESULTS[$name,$rate]:-}
    p99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")
    row+=$(printf ' %12s' "${p99:--}")
  done
  echo "$row"
done
