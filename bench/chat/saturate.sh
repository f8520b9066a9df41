#!/usr/bin/env bash
# Chat saturation: raise the offered rate step by step against one server pinned to core 0
# (the generator, `tether-bench chat`, on core 1) and report, per server, the highest
# deliveries/s whose send -> receive p99 stays <= 50 ms with no errors and nothing missing.
# Servers: tether-chat, Node's socket.io (node_server.js) and chat-sink (`tether-bench
# chat-sink`, the trivial server: its row is the generator's own ceiling). A fresh server per
# step; a server's series ends at its second step over the limit (so the plot shows the knee).
# 127.0.0.1 only, bounded.
#
# Usage: [SERVERS="tether-chat node sink"] [CLIENTS=2000] [ROOMS=50] [STEP_SECONDS=5] [THREADS=1]
#        [RATES="0.25 0.5 ..."] [OUT_DIR=dir] [BUILD_DIR=build] bench/chat/saturate.sh
# Writes OUT_DIR/chat_saturation.csv (one row per step) and, with gnuplot,
# OUT_DIR/chat_saturation.png (OUT_DIR defaults to $TMPDIR/tether-bench).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}
bench=$build/bench/tether-bench
servers=${SERVERS:-tether-chat node sink}
clients=${CLIENTS:-2000}; rooms=${ROOMS:-50}; seconds=${STEP_SECONDS:-5}; threads=${THREADS:-1}
rates=${RATES:-0.1 0.25 0.5 1 1.5 2 3 4 6 8 12 16 24 32}
out=${OUT_DIR:-${TMPDIR:-/tmp}/tether-bench}
limit_ms=50
export NODE_PATH=$root/tests/node/node_modules
ulimit -n 65536 2>/dev/null || true
mkdir -p "$out"
csv=$out/chat_saturation.csv
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 "$root/bench/chat/free_ports.py" 1 1 | cut -d' ' -f1; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
start_server() {  # start_server NAME PORT: sets pid
  case $1 in
    tether-chat) taskset -c 0 "$build/backend/tether-chat" --port "$2" --id bench --drain 0 --log-level warn >/dev/null & ;;
    node) taskset -c 0 node "$root/bench/chat/node_server.js" "$2" >/dev/null & ;;
    sink) taskset -c 0 "$bench" chat-sink --port "$2" >/dev/null & ;;
    *) echo "unknown server $1 (tether-chat, node, sink)" >&2; exit 2 ;;
  esac
  pid=$!
  wait_port "$2"
}

echo "server,clients,rooms,rate_per_client,offered_deliveries_per_s,deliveries_per_s,sends_per_s,p50_ms,p99_ms,p999_ms,server_cpu,deliveries_per_cpu_s,gen_cpu,errors,missing,load1" > "$csv"
members=$(( clients / rooms ))
for server in $servers; do
  best=0; best_p99=; over=0
  for rate in $rates; do
    port=$(free_port)
    start_server "$server" "$port"
    line=$(taskset -c 1 "$bench" chat --url "127.0.0.1:$port" --pid "$pid" --label "$server" --clients "$clients" \
      --rooms "$rooms" --rate "$rate" --duration "$seconds" --warmup 2 --threads "$threads" 2>/dev/null | grep '^{' || true)
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    if [ -z "$line" ]; then echo "$server rate $rate: no result" >&2; break; fi
    row=$(python3 - "$line" "$members" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
r, members, load = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
offered = r["clients"] * r["rate"] * members
print(",".join(str(x) for x in (r["label"], r["clients"], r["rooms"], r["rate"], round(offered), r["deliveriesPerSec"],
      r["sendsPerSec"], r["p50Ms"], r["p99Ms"], r["p999Ms"], r["serverCpuPerSec"], r["deliveriesPerCpuSec"],
      r["genCpuPerSec"], r["errors"],
      r["missing"], load)))
PY
)
    echo "$row" >> "$csv"
    IFS=, read -r _ _ _ _ offered got _ p50 p99 _ cpu per_cpu gen errors missing _ <<<"$row"
    printf '%-12s rate %-5s offered %9s  delivered %9s  p50 %8s ms  p99 %8s ms  server CPU %s (%s deliveries/CPU-s)  generator CPU %s\n' \
      "$server" "$rate" "$offered" "$got" "$p50" "$p99" "$cpu" "$per_cpu" "$gen"
    ok=$(python3 -c "print(int(float('$p99') <= $limit_ms and int('$errors') == 0 and int('$missing') == 0))")
    if [ "$ok" = 1 ]; then
      best=$got; best_p99=$p99; over=0
    else
      over=$((over + 1))
      [ "$over" -lt 2 ] || break  # one step past the knee is plotted, then the series ends
    fi
  done
  echo "== $server: highest deliveries/s with p99 <= ${limit_ms} ms: $best (p99 ${best_p99:-n/a} ms)"
done
echo "CSV: $csv"

if command -v gnuplot >/dev/null; then
  png=$out/chat_saturation.png
  series=""
  for server in $servers; do
    series+="${series:+, }'$csv' using (strcol(1) eq '$server' ? \$5 : 1/0):6 with linespoints title '$server delivered'"
    series+=", '' using (strcol(1) eq '$server' ? \$5 : 1/0):9 axes x1y2 with points title '$server p99 (ms)'"
  done
  gnuplot <<GP
set terminal pngcairo size 900,560
set output '$png'
set datafile separator ','
set key autotitle columnhead left top
set title "Chat saturation: $clients clients, $rooms rooms, server on one core (load $(cut -d' ' -f1 /proc/loadavg))"
set xlabel 'offered deliveries/s'
set ylabel 'delivered/s'
set y2label 'p99 send -> receive (ms)'
set logscale y2
set y2tics
set ytics nomirror
set grid
plot $series, $limit_ms axes x1y2 with lines dt 2 lc 'gray' title 'p99 limit'
GP
  echo "plot: $png"
fi
