#!/usr/bin/env bash
# Runs every test of the project, installing what it needs itself:
#   rust     cargo test --workspace --all-targets
#   fuzz     crates/contract/fuzz/run.sh 10            (when that script exists)
#   node     napi addon build + Node tests (tests/node)
#   wasm     wasm package build + wasm-in-Node tests (tests/wasm)
#   browser  wasm-in-Chromium tests (tests/browser; installs Debian's chromium when missing)
#   cluster  tests/cluster/run.sh                      (when that script exists)
# Installs on demand: npm dev dependencies (npm ci in tests/), the wasm32 rustup target and
# wasm-bindgen-cli at the version pinned in bindings/wasm/Cargo.toml (cached in
# ~/.cache/tale-sandbox/), Debian's chromium.
#
# Every stage runs even when an earlier one failed (except those that need its output); the exit
# status is non-zero when any stage failed. One cargo target dir serves every stage:
# CARGO_TARGET_DIR, default <repo>/target.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

STAGE_NAMES=()
STAGE_RESULTS=()
STAGE_TIMES=()
STAGE_CPU=()
FAILED=0
START=$SECONDS

banner() {
  echo
  echo "=================================================================================="
  echo "== $*"
  echo "=================================================================================="
}

duration() {
  printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
}

# CPU seconds (user + system) used so far by finished child processes, into CPU_SECONDS: with the
# wall time, it tells how a stage would fare on an otherwise idle machine when the machine is
# shared. `times` must run in this shell (a command substitution would report its own subshell).
CPU_FILE="$(mktemp)"
trap 'rm -f "$CPU_FILE"' EXIT
read_children_cpu() {
  times >"$CPU_FILE"
  CPU_SECONDS="$(tail -n 1 "$CPU_FILE" | awk '{
    total = 0
    for (i = 1; i <= 2; i++) { split($i, t, "m"); total += t[1] * 60 + t[2] }
    printf "%d", total
  }')"
}

# run_stage NAME FUNCTION: runs FUNCTION in a subshell with errexit, records status and time.
run_stage() {
  local name="$1" fn="$2" began=$SECONDS rc cpu_began
  read_children_cpu
  cpu_began=$CPU_SECONDS
  banner "stage $name"
  set +e
  ( set -euo pipefail; "$fn" )
  rc=$?
  set -e
  local took=$((SECONDS - began))
  read_children_cpu
  local cpu=$((CPU_SECONDS - cpu_began))
  STAGE_NAMES+=("$name")
  STAGE_TIMES+=("$took")
  STAGE_CPU+=("$cpu")
  if [[ $rc -eq 0 ]]; then
    STAGE_RESULTS+=("ok")
  else
    STAGE_RESULTS+=("FAILED (exit $rc)")
    FAILED=1
  fi
  echo "== stage $name: ${STAGE_RESULTS[-1]} in $(duration "$took") (cpu $(duration "$cpu"))"
  return 0
}

skip_stage() {
  banner "stage $1"
  echo "$2"
  STAGE_NAMES+=("$1")
  STAGE_TIMES+=(0)
  STAGE_CPU+=(0)
  STAGE_RESULTS+=("not run: $2")
}

ensure_npm_deps() {
  # npm ci when node_modules is missing or was installed from another lock file.
  local stamp="$ROOT/tests/node_modules/.tale-lock-sha256"
  local want
  want="$(sha256sum "$ROOT/tests/package-lock.json" | cut -d' ' -f1)"
  if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
    echo "npm ci in tests/"
    npm ci --prefix "$ROOT/tests" --no-audit --no-fund
    echo "$want" >"$stamp"
  fi
}

ensure_chromium() {
  if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests"
    if [[ $(id -u) -ne 0 ]]; then
      echo "chromium is missing and installing it needs root: run apt-get install -y chromium" >&2
      return 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  chromium --version
}

node_tests() {
  # The default reporter, so the log closes with node:test's standard summary lines.
  node --test "$@"
}

stage_rust() {
  cargo test --workspace --all-targets
}

stage_fuzz() {
  bash crates/contract/fuzz/run.sh 10
}

stage_node() {
  ensure_npm_deps
  bash scripts/build-node.sh --with-test-hooks
  # The declarations are committed: a build that changes them means they are stale.
  if ! git diff --quiet -- npm/sandbox-native/index.d.ts 2>/dev/null; then
    echo "npm/sandbox-native/index.d.ts changed when the addon was built; commit the regenerated file:" >&2
    git --no-pager diff --stat -- npm/sandbox-native/index.d.ts >&2
    [[ "${CI:-}" == "true" ]] && return 1
  fi
  (cd tests && node_tests node/)
}

stage_wasm() {
  ensure_npm_deps
  bash scripts/build-wasm.sh
  (cd tests && node_tests wasm/)
}

stage_browser() {
  ensure_npm_deps
  ensure_chromium
  (cd tests && node_tests browser/)
}

stage_cluster() {
  bash tests/cluster/run.sh
}

run_stage rust stage_rust
if [[ -f crates/contract/fuzz/run.sh ]]; then
  run_stage fuzz stage_fuzz
else
  skip_stage fuzz "crates/contract/fuzz/run.sh does not exist yet"
fi
run_stage node stage_node
run_stage wasm stage_wasm
if [[ "${STAGE_RESULTS[-1]}" == "ok" ]]; then
  run_stage browser stage_browser
else
  skip_stage browser "the wasm package did not build or its Node tests failed"
  FAILED=1
fi
if [[ -f tests/cluster/run.sh ]]; then
  run_stage cluster stage_cluster
else
  skip_stage cluster "tests/cluster/run.sh does not exist yet"
fi

banner "summary"
for i in "${!STAGE_NAMES[@]}"; do
  printf '  %-8s %-8s cpu %-8s %s\n' "${STAGE_NAMES[$i]}" "$(duration "${STAGE_TIMES[$i]}")" \
    "$(duration "${STAGE_CPU[$i]}")" "${STAGE_RESULTS[$i]}"
done
if [[ $FAILED -eq 0 ]]; then
  echo "test-all: PASSED, every stage ok in $(duration $((SECONDS - START)))"
else
  echo "test-all: FAILED, see the stages above ($(duration $((SECONDS - START))) in all)"
fi
exit $FAILED
