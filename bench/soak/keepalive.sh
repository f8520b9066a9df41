#!/usr/bin/env bash
# Keep-alive soak: does tether's memory stay flat over millions of proxied requests?
#
# One nginx backend (1 worker, `return 200`, the HTTP benchmark's, bench/http/contestants.sh) and
# tether in front of it (workers: 1, upstream keep-alive 64, admin listener on for /metrics).
# h2load --h1 -c 64 -t 1 (one request at a time per connection, connections kept alive) sends a
# warm-up of WARMUP requests, then the rest of REQUESTS in one run, with the same 64 connections
# from start to end. tether's VmRSS (/proc/PID/status) is read after the warm-up, every SAMPLE_S
# seconds during the run (with the responses tether has sent so far, from its /metrics) and at
# the end. The run is stopped after MAX_S seconds if it has not finished by then (a FAIL).
#
# Prints: RSS at start (idle), after the warm-up and at the end, the peak (VmHWM), the growth per
# million requests, req/s, failed/errored requests and non-2xx responses, and PASS/FAIL for:
#   - RSS flat: end - after-warm-up <= 2 MiB. At 10 million requests a leak of one byte in every
#     four requests already exceeds that, while 2 MiB leaves room for RSS moving a page at a time
#     and for the allocator's caches;
#   - every request answered 2xx (no failed, errored or timed-out request, no non-2xx).
# Writes OUT_DIR/soak-keepalive.txt (this output) and OUT_DIR/soak-keepalive-rss.csv (the
# samples). OUT_DIR defaults to $TMPDIR/tether-bench, outside the source tree. Loopback only;
# bounded by MAX_S (10 million requests finish within the default 420 s at 24,000 req/s or more);
# every process it starts is stopped on exit.
#
# Usage: [OUT_DIR=DIR] [BUILD_DIR=build] [WARMUP=100000] [SAMPLE_S=10] [MAX_S=420]
#        bench/soak/keepalive.sh [REQUESTS=10000000]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
REQUESTS=${1:-10000000}
WARMUP=${WARMUP:-100000}
SAMPLE_S=${SAMPLE_S:-10}
MAX_S=${MAX_S:-420}
CONNS=64
((REQUESTS > WARMUP)) || { echo "REQUESTS ($REQUESTS) must be larger than WARMUP ($WARMUP)" >&2; exit 1; }
# shellcheck source=bench/soak/setup.sh
source "$root/bench/soak/setup.sh"
soak_setup keepalive

BACKEND=18811 TETHER_PORT=18812 ADMIN_PORT=18813
out="$OUT_DIR/soak-keepalive.txt"
csv="$OUT_DIR/soak-keepalive-rss.csv"
exec > >(tee "$out") 2>&1

source "$root/bench/http/contestants.sh"
write_contestant_configs "$work" $BACKEND $TETHER_PORT 18814 18815
echo "admin: {address: \"127.0.0.1:$ADMIN_PORT\"}" >> "$work/tether.yaml"

echo "== tether keep-alive soak"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:  $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- proxy common || echo ' (proxy/common with local changes)')"
echo "cpus:    $(nproc) ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "command: bench/soak/keepalive.sh $REQUESTS (WARMUP=$WARMUP SAMPLE_S=$SAMPLE_S MAX_S=$MAX_S)"
echo "load generator: h2load --h1 -c $CONNS -t 1; tether workers: 1; backend: nginx return 200"

nginx -c "$work/backend/nginx.conf" -p "$work/backend" 2>"$work/backend.err" & pids+=($!)
"$TETHER" -c "$work/tether.yaml" --log-level warn 2>"$work/tether.err" & pids+=($!); tether_pid=$!
for _ in $(seq 50); do
  curl -fs -o /dev/null "http://127.0.0.1:$TETHER_PORT/" && curl -fs -o /dev/null "http://127.0.0.1:$ADMIN_PORT/metrics" && break
  sleep 0.1
done
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "a server failed to start:" >&2; cat "$work"/*.err >&2; exit 1; }
done

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$tether_pid/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$tether_pid/status"; }
served() {  # responses tether has sent (sum of tether_requests_total), from its admin listener
  curl -fs "http://127.0.0.1:$ADMIN_PORT/metrics" | awk '/^tether_requests_total[{ ]/ {s += $NF} END {printf "%d", s}'
}
# h2load summary -> "total succeeded failed errored timeout 2xx non2xx req_per_s"
h2load_summary() {
  awk '/^requests:/ {t=$2; ok=$8; f=$10; e=$12; to=$14}
       /^status codes:/ {s2=$3; n=$5+$7+$9}
       /^finished in/ {r=$4}
       END {print t, ok, f, e, to, s2, n, r}' "$1"
}
sample() {  # sample PHASE: one CSV row
  printf "%s,%s,%s,%s,%s\n" "$(date -u +%H:%M:%S)" "$1" "$(served)" "$(rss_kib)" "$(hwm_kib)" >> "$csv"
}

rss_start=$(rss_kib)
echo "time,phase,responses_served,vmrss_kib,vmhwm_kib" > "$csv"
sample start

h2load --h1 -n "$WARMUP" -c $CONNS -t 1 "http://127.0.0.1:$TETHER_PORT/" > "$work/warmup.txt" 2>&1
read -r w_total w_ok w_fail w_err w_to w_2xx w_non w_rps < <(h2load_summary "$work/warmup.txt")
sleep 1
rss_warm=$(rss_kib)
sample after-warm-up
echo "warm-up: $w_total requests, $w_ok succeeded, $w_fail failed, $w_err errored, $w_non non-2xx, $w_rps req/s"

main=$((REQUESTS - WARMUP))
t0=$(date +%s.%N)
timeout "$MAX_S" h2load --h1 -n "$main" -c $CONNS -t 1 "http://127.0.0.1:$TETHER_PORT/" > "$work/main.txt" 2>&1 & h2pid=$!
pids+=($h2pid)
next=$(($(date +%s) + SAMPLE_S))
while sleep 0.5; kill -0 "$h2pid" 2>/dev/null; do
  (($(date +%s) >= next)) || continue
  next=$((next + SAMPLE_S))
  sample run
  tail -n1 "$csv" | awk -F, -v t0="$t0" -v now="$(date +%s.%N)" '{printf "  %s  +%4.0fs  %9d responses  VmRSS %6d KiB\n", $1, now - t0, $3, $4}'
done
h2rc=0; wait "$h2pid" || h2rc=$?
t1=$(date +%s.%N)
sleep 1
rss_end=$(rss_kib)
hwm=$(hwm_kib)
sample end
served_total=$(served)
if ((h2rc == 124)); then  # stopped at MAX_S: h2load printed no summary; count what tether served
  m_total=$((served_total - 1 - w_total)) m_ok=0 m_fail=0 m_err=0 m_to=0 m_2xx=0 m_non=0
  m_rps=$(awk -v n="$m_total" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", n / (b - a)}')
  echo "run stopped at MAX_S=${MAX_S}s after $m_total of $main requests"
elif ((h2rc != 0)); then
  echo "h2load failed ($h2rc):" >&2; cat "$work/main.txt" >&2; exit 1
else
  read -r m_total m_ok m_fail m_err m_to m_2xx m_non m_rps < <(h2load_summary "$work/main.txt")
fi
kill -0 "$tether_pid" 2>/dev/null || { echo "tether exited during the run:" >&2; cat "$work/tether.err" >&2; exit 1; }

echo
echo "== results"
echo "requests: $((w_total + m_total)) ($w_total warm-up + $m_total run), $served_total responses counted by tether (one of them the start-up check)"
echo "run: $m_total requests in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s, $m_rps req/s (h2load)"
echo "errors: failed $((w_fail + m_fail)), errored $((w_err + m_err)), timeout $((w_to + m_to)); 2xx $((w_2xx + m_2xx)), non-2xx $((w_non + m_non))"
growth=$((rss_end - rss_warm))
printf "VmRSS: start %d KiB, after warm-up %d KiB, end %d KiB, peak (VmHWM) %d KiB\n" "$rss_start" "$rss_warm" "$rss_end" "$hwm"
printf "growth end - after warm-up: %+d KiB (%+.2f%%), %+.1f bytes per million requests\n" "$growth" \
  "$(awk -v g="$growth" -v w="$rss_warm" 'BEGIN {print 100 * g / w}')" \
  "$(awk -v g="$growth" -v n="$m_total" 'BEGIN {print g * 1024 / (n / 1e6)}')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at end"
rc=0
if ((growth <= 2048)); then echo "PASS  RSS flat (growth <= 2048 KiB)"; else echo "FAIL  RSS grew by $growth KiB (> 2048 KiB)"; rc=1; fi
if ((w_ok + m_ok == REQUESTS && w_fail + m_fail + w_err + m_err + w_to + m_to == 0 && w_non + m_non == 0)); then
  echo "PASS  all $REQUESTS requests answered 2xx"
elif ((h2rc == 124)); then
  echo "FAIL  the run did not finish within MAX_S=${MAX_S}s"; rc=1
else
  echo "FAIL  not every request was answered 2xx"; rc=1
fi
echo "(samples: $csv; output: $out)"
exit $rc
