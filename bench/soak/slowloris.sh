#!/usr/bin/env bash
# Slowloris soak: does normal keep-alive traffic through tether keep its latency while SLOW
# connections trickle request heads, and does every slow connection get its 408 on time?
#
# One nginx backend (1 worker, `return 200`, the HTTP benchmark's, bench/http/contestants.sh) and
# tether in front of it (workers: 1, upstream keep-alive 64, timeouts.client_header: TIMEOUT).
# bench/soak/slowloris.py keeps SLOW connections open, each sending one header byte every INTERVAL
# seconds and never finishing its head, and replaces each one that was answered, so SLOW are open
# during a whole measurement (the first SLOW open over INTERVAL seconds; wrk starts once all of
# them have sent a byte; afterwards no new one is opened and the open ones get their answers).
# tether must answer each `408` TIMEOUT after its first byte; every slow connection's outcome
# (408 / another status / closed / nothing) and time is recorded.
#
# After a 5 s warm-up, ROUNDS rounds, each measuring wrk -t1 -c64 (keep-alive) through tether for
# DURATION three times:
#   1. "alone": no slow connections;
#   2. "elsewhere": the slow connections go to a second, idle tether process (the control): the
#      machine runs the slow client and its kernel work, the measured tether does not serve them;
#   3. "slowloris": the slow connections go to the measured tether.
# 2 vs 1 is what running the slow client costs on this machine, 3 vs 2 what serving the slow
# connections costs tether. Alternating rounds and medians keep a shared machine's swings out of
# the comparison. In the last round, tether's CPU use with only the slow connections is measured
# for 10 s.
#
# Prints per measurement: req/s, p50, p99, socket errors, non-2xx, tether's CPU per request and
# the slow client's CPU; then the medians, the p99 change (slowloris vs alone, in %), the same
# changes for elsewhere vs alone and slowloris vs elsewhere, the 408 count and timing, and
# PASS/FAIL for:
#   - median p99 with slowloris less than 10% above the median p99 alone;
#   - every slow connection to the measured tether answered 408 within [TIMEOUT - 0.25 s, TIMEOUT + TOLERANCE];
#   - no socket errors and no non-2xx in the normal load.
# Writes OUT_DIR/soak-slowloris.txt (this output) and OUT_DIR/soak-slowloris-conns.csv (one row
# per slow connection). OUT_DIR defaults to $TMPDIR/tether-bench, outside the source tree.
# Loopback only; about 5 minutes (3 rounds, DURATION 20s); every process it starts is stopped on
# exit.
#
# Usage: [OUT_DIR=DIR] [BUILD_DIR=build] [ROUNDS=3] [DURATION=20s] [TIMEOUT=10] [INTERVAL=2]
#        [TOLERANCE=1] bench/soak/slowloris.sh [SLOW=1000]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
SLOW=${1:-1000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20s}
TIMEOUT=${TIMEOUT:-10}
INTERVAL=${INTERVAL:-2}
TOLERANCE=${TOLERANCE:-1}
# shellcheck source=bench/soak/setup.sh
source "$root/bench/soak/setup.sh"
soak_setup slowloris
# tether holds SLOW + 64 client connections and up to 64 upstream ones; the slowloris client SLOW.
need_fds $((SLOW + 256))

BACKEND=18821 TETHER_PORT=18822 CONTROL_PORT=18825
out="$OUT_DIR/soak-slowloris.txt"
csv="$OUT_DIR/soak-slowloris-conns.csv"
exec > >(tee "$out") 2>&1

source "$root/bench/http/contestants.sh"
write_contestant_configs "$work" $BACKEND $TETHER_PORT 18823 18824
echo "timeouts: {client_header: ${TIMEOUT}s}" >> "$work/tether.yaml"
sed "s/127.0.0.1:$TETHER_PORT/127.0.0.1:$CONTROL_PORT/" "$work/tether.yaml" > "$work/control.yaml"

echo "== tether slowloris soak"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:  $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- proxy common || echo ' (proxy/common with local changes)')"
echo "cpus:    $(nproc) ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at start"
echo "command: bench/soak/slowloris.sh $SLOW (ROUNDS=$ROUNDS DURATION=$DURATION TIMEOUT=$TIMEOUT INTERVAL=$INTERVAL TOLERANCE=$TOLERANCE)"
echo "normal load: wrk -t1 -c64 -d$DURATION --latency (keep-alive); tether workers: 1, client_header ${TIMEOUT}s; backend: nginx return 200"
echo "slow load: $SLOW connections open at once, one header byte every ${INTERVAL}s each, never finishing the head"

nginx -c "$work/backend/nginx.conf" -p "$work/backend" 2>"$work/backend.err" & pids+=($!)
"$TETHER" -c "$work/tether.yaml" --log-level warn 2>"$work/tether.err" & pids+=($!); tether_pid=$!
"$TETHER" -c "$work/control.yaml" --log-level warn 2>"$work/control.err" & pids+=($!); control_pid=$!
for _ in $(seq 50); do
  curl -fs -o /dev/null "http://127.0.0.1:$TETHER_PORT/" && curl -fs -o /dev/null "http://127.0.0.1:$CONTROL_PORT/" && break
  sleep 0.1
done
for p in "${pids[@]}"; do
  kill -0 "$p" 2>/dev/null || { echo "a server failed to start:" >&2; cat "$work"/*.err >&2; exit 1; }
done

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
to_ms() {  # wrk latency "1.23ms" / "456.00us" / "1.2s" -> ms
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f", 100 * (b - a) / a}'; }
declare -A rps p50 p99 cpu
bad_load=0
measure() {  # measure NAME [PID]: one wrk run into the arrays above (PID: also the CPU % that process used)
  local name=$1 other=${2:-} before after obefore oafter o reqs r5 r50 r99 c e n t0 t1 extra=""
  t0=$(date +%s.%N)
  before=$(cpu_ticks "$tether_pid"); [[ -n "$other" ]] && obefore=$(cpu_ticks "$other")
  o=$(wrk -t1 -c64 -d"$DURATION" --latency "http://127.0.0.1:$TETHER_PORT/" 2>&1)
  after=$(cpu_ticks "$tether_pid"); [[ -n "$other" ]] && oafter=$(cpu_ticks "$other")
  t1=$(date +%s.%N)
  reqs=$(echo "$o" | awk '/requests in/ {print $1}')
  r5=$(echo "$o" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  r50=$(to_ms "$(echo "$o" | awk '$1 == "50%" {print $2}')")
  r99=$(to_ms "$(echo "$o" | awk '$1 == "99%" {print $2}')")
  e=$(echo "$o" | awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10; f=1} END {if (!f) print 0}')
  n=$(echo "$o" | awk '/Non-2xx/ {print $NF; f=1} END {if (!f) print 0}')
  c=$(awk -v d=$((after - before)) -v hz="$hz" -v n="$reqs" 'BEGIN { printf "%.1f", (n > 0 ? d / hz * 1e6 / n : 0) }')
  ((e == 0 && n == 0)) || bad_load=1
  rps[$name]+="$r5 " p50[$name]+="$r50 " p99[$name]+="$r99 " cpu[$name]+="$c "
  [[ -n "$other" ]] && extra="  slowloris client CPU $(awk -v d=$((oafter - obefore)) -v hz="$hz" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 100 * d / hz / (b - a) }')%"
  printf "  round %d %-10s %6s req/s  p50 %7.3f ms  p99 %7.3f ms  socket errors %s  non-2xx %s  tether CPU %s us/request%s  (load %s)\n" \
    "$r" "$name" "$r5" "$r50" "$r99" "$e" "$n" "$c" "$extra" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

# slow_phase NAME PORT CSV: the slow connections against PORT while wrk measures tether as NAME
slow_phase() {
  local name=$1 port=$2 file=$3 slow_pid before after
  python3 "$root/bench/soak/slowloris.py" --port "$port" --conns "$SLOW" --interval "$INTERVAL" \
    --ramp "$INTERVAL" --timeout "$TIMEOUT" --tolerance "$TOLERANCE" --max-seconds 300 --csv "$file" --round "$r" \
    > "$work/$name-$r.out" 2>&1 & slow_pid=$!
  pids+=($slow_pid)
  for _ in $(seq 600); do  # up to 60 s for every slow connection to have sent its first byte
    grep -q '^ready' "$work/$name-$r.out" 2>/dev/null && break
    kill -0 "$slow_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^ready' "$work/$name-$r.out" || { echo "the slowloris client did not get its $SLOW connections going:" >&2; cat "$work/$name-$r.out" >&2; exit 1; }
  measure "$name" "$slow_pid"
  if [[ $name == slowloris ]] && ((r == ROUNDS)); then
    before=$(cpu_ticks "$tether_pid")
    sleep 10
    after=$(cpu_ticks "$tether_pid")
    slow_only=$(awk -v d=$((after - before)) -v hz="$hz" 'BEGIN { printf "%.1f", 100 * d / hz / 10 }')
    echo "  round $r: slow connections only, 10 s without the normal load: tether CPU $slow_only% of one core, VmRSS $(awk '/^VmRSS:/ {print $2}' "/proc/$tether_pid/status") KiB"
  fi
  kill -USR1 "$slow_pid"  # no new slow connections; the open ones are awaited (their 408s recorded)
  wait "$slow_pid" || { echo "the slowloris client failed:" >&2; cat "$work/$name-$r.out" >&2; exit 1; }
  echo "  round $r $name slow connections: $(grep '^connections=' "$work/$name-$r.out")"
}

echo
wrk -t1 -c64 -d5s "http://127.0.0.1:$TETHER_PORT/" > /dev/null 2>&1  # warm-up
rm -f "$csv"
slow_only=""
echo "  tether VmRSS $(awk '/^VmRSS:/ {print $2}' "/proc/$tether_pid/status") KiB after the warm-up"
for ((r = 1; r <= ROUNDS; r++)); do
  measure alone
  slow_phase elsewhere "$CONTROL_PORT" "$work/control.csv"
  slow_phase slowloris "$TETHER_PORT" "$csv"
done
summary=$(python3 "$root/bench/soak/slowloris.py" --summarize --csv "$csv" --timeout "$TIMEOUT" --tolerance "$TOLERANCE")
control=$(python3 "$root/bench/soak/slowloris.py" --summarize --csv "$work/control.csv" --timeout "$TIMEOUT" --tolerance "$TOLERANCE")

field() { echo "$summary" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
total=$(field connections) got=$(field got_408) in_time=$(field in_time)
declare -A m
for n in alone elsewhere slowloris; do
  m[rps_$n]=$(echo "${rps[$n]}" | median) m[p50_$n]=$(echo "${p50[$n]}" | median)
  m[p99_$n]=$(echo "${p99[$n]}" | median) m[cpu_$n]=$(echo "${cpu[$n]}" | median)
done
change=$(pct "${m[p99_alone]}" "${m[p99_slowloris]}")
spread=$(echo "${p99[alone]}" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {printf "%.3f-%.3f ms", a[1], a[NR]}')

echo
echo "== results (medians of $ROUNDS rounds)"
printf "%-22s %10s %10s %10s %14s\n" "normal load" "req/s" "p50 ms" "p99 ms" "tether us/req"
for n in alone elsewhere slowloris; do
  printf "%-22s %10s %10s %10s %14s\n" "$n" "${m[rps_$n]}" "${m[p50_$n]}" "${m[p99_$n]}" "${m[cpu_$n]}"
done
echo "p99 change with slowloris: $change% (p99 alone over the rounds: $spread)"
echo "req/s change with slowloris: $(pct "${m[rps_alone]}" "${m[rps_slowloris]}")%; tether CPU per request: $(pct "${m[cpu_alone]}" "${m[cpu_slowloris]}")%"
echo "with the slow connections at the control tether instead: p99 $(pct "${m[p99_alone]}" "${m[p99_elsewhere]}")%, req/s $(pct "${m[rps_alone]}" "${m[rps_elsewhere]}")%, tether CPU per request $(pct "${m[cpu_alone]}" "${m[cpu_elsewhere]}")%"
echo "slowloris at tether vs at the control: p99 $(pct "${m[p99_elsewhere]}" "${m[p99_slowloris]}")%, req/s $(pct "${m[rps_elsewhere]}" "${m[rps_slowloris]}")%, tether CPU per request $(pct "${m[cpu_elsewhere]}" "${m[cpu_slowloris]}")%"
echo "tether CPU with only the $SLOW slow connections: $slow_only% of one core"
echo "slow connections: $summary"
echo "control tether's slow connections: $control"
echo "slow connections: $total opened, $got answered 408, $in_time of them within [$(awk -v t="$TIMEOUT" 'BEGIN {print t - 0.25}'), $((TIMEOUT + TOLERANCE))] s of their first byte"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at end"
rc=0
if awk -v c="$change" 'BEGIN {exit !(c < 10)}'; then echo "PASS  p99 moved $change% (< +10%)"; else echo "FAIL  p99 moved $change% (>= +10%)"; rc=1; fi
if ((total > 0 && in_time == total)); then echo "PASS  all $total slow connections got 408 on time"; else echo "FAIL  $in_time of $total slow connections got 408 on time"; rc=1; fi
if ((bad_load == 0)); then echo "PASS  normal load: no socket errors, no non-2xx"; else echo "FAIL  normal load had socket errors or non-2xx"; rc=1; fi
echo "(slow connections: $csv; output: $out)"
exit $rc
