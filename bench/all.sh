#!/usr/bin/env bash
# Every benchmark whose figures docs/ quotes, in one pass, into one results folder: the figures in
# docs/benchmarks.md, docs/affinity.md and docs/metrics.md come from one run of this script (their
# headers name its date and commit); the chat figures (bench/chat/README.md and the chat section
# of docs/benchmarks.md) name the separate runs they come from, and the chat steps here repeat them. Each step's full output is kept as
# OUT_DIR/NAME.txt, and OUT_DIR/run.txt records the date, commit, machine load and the exact
# command of every step. Loopback only; bounded (about 45 minutes on 2 cores). The soak runs
# and the reconnect storm (bench/soak/*.sh; docs/benchmarks.md, "Soak" and "Reconnect storm"),
# the chaos run (bench/chat/chaos.sh; docs/chaos.md) and the bus fan-in
# (bench/chat/bus_fanin.sh; docs/fleet.md, "Bus fan-in") are separate runs.
#
# Usage: [OUT_DIR=DIR] [BUILD_DIR=build] bench/all.sh
#   OUT_DIR defaults to $TMPDIR/tether-bench-all-DATE (outside the source tree).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
export OUT_DIR=${OUT_DIR:-${TMPDIR:-/tmp}/tether-bench-all-$stamp}
export BUILD_DIR=${BUILD_DIR:-$root/build}
mkdir -p "$OUT_DIR"
"$root/scripts/install-deps" --bench >/dev/null
"$root/scripts/build" >/dev/null

{
  echo "date:   $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet || echo ' (with local changes)')"
  echo "cpus:   $(nproc) ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo))"
  echo "load:   $(cut -d' ' -f1-3 /proc/loadavg) at start"
} > "$OUT_DIR/run.txt"

step() {  # step NAME COMMAND...: runs it, output to OUT_DIR/NAME.txt, command and load to run.txt
  local name=$1; shift
  echo "== $name: $*" | tee -a "$OUT_DIR/run.txt"
  (cd "$root" && "$@") > "$OUT_DIR/$name.txt" 2>&1
  echo "   done $(date -u +%H:%M:%SZ), load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT_DIR/run.txt"
}

step callgrind bench/http/callgrind.sh 10000
step http bench/http/compare.sh 3 10s
step callgrind-tls env TLS=p256 bench/http/callgrind.sh 10000
step https env TLS=p256 BACKEND_CPU=$(($(nproc) - 1)) bench/http/compare.sh 5 10s
step tls-handshakes bench/http/tls_handshakes.sh 2000 1000
step callgrind-h2 env TLS=p256 H2=1 bench/http/callgrind.sh 5000
step h2 bench/http/h2.sh 5 10
step affinity "$BUILD_DIR/bench/tether-bench" affinity --out "$OUT_DIR"
step affinity-e2e "$BUILD_DIR/bench/tether-bench" affinity --e2e --servers 3 --clients 2000 --out "$OUT_DIR"
step chat-1000 bench/chat/run.sh 1000 50 10
step chat-2000 bench/chat/run.sh 2000 50 10
step chat-5000 env RATE=0.2 bench/chat/run.sh 5000 50 10
step chat-saturate bench/chat/saturate.sh
step ws env IDLE_TUNNELS=5000 bench/ws_compare.sh
echo "results in $OUT_DIR" | tee -a "$OUT_DIR/run.txt"
