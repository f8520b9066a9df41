# Shared start of the soak scripts (sourced): output folder, dependencies, a CI=true build, a work
# folder, and a cleanup that stops every process whose pid is added to `pids` and removes the work
# folder on exit.
#   soak_setup NAME   sets OUT_DIR, BUILD_DIR, TETHER, work, pids; raises the open-file limit
#   need_fds N        exits 1 with a message unless N descriptors are allowed
soak_setup() {
  OUT_DIR=${OUT_DIR:-${TMPDIR:-/tmp}/tether-bench}
  BUILD_DIR=${BUILD_DIR:-$root/build}
  mkdir -p "$OUT_DIR"
  "$root/scripts/install-deps" --bench >/dev/null
  CI=true BUILD_DIR=$BUILD_DIR "$root/scripts/build" >/dev/null
  TETHER=$BUILD_DIR/proxy/tether
  work=$(mktemp -d "/tmp/tether-soak-$1.XXXXXX")
  pids=()
  trap soak_cleanup EXIT
  trap 'exit 130' INT TERM
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

# shellcheck disable=SC2317  # invoked by the trap
soak_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

need_fds() {
  if (($(ulimit -n) < $1)); then
    echo "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); this run needs at least $1" >&2
    exit 1
  fi
}
