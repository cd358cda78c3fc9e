#!/usr/bin/env bash
# Runs every gate and every test of the project, installing what it needs itself:
#   lint     cargo fmt --all --check (rustfmt.toml; and the fuzz crate's sources), the lock file
#            (Cargo.lock must not need updating), cargo clippy --workspace --all-targets -D warnings
#   rust     cargo test --workspace --all-targets (bench targets run once, in their quick mode)
#   doctest  cargo test --workspace --doc (--all-targets leaves doctests out)
#   fuzz     fuzz/run.sh 8   (every fuzz target 8 s: the contract's parsers, the accumulator, the
#            kubelet-logs parsers; installs its pinned cargo-fuzz)
#   node     napi addon build + Node tests (tests/node, KubernetesBackend against the
#            tale-testcluster binary included); the generated index.d.ts must equal the one in
#            the tree; then the short soak (tests/soak: 80 executions, 16 at a time, through the
#            addon on the test cluster with faults on every route and rotations; long run by
#            hand: SOAK_EXECUTIONS=1000 SOAK_CONCURRENCY=24, see BENCHMARKS.md)
#   install  tests/install/run.sh: the linux-x64-musl addon built and checked (musl libc only),
#            its unwinder checked under musl's loader, npm pack, install of the tarballs into a
#            fresh project, one execution from there
#   wasm     wasm package build + wasm-in-Node tests (tests/wasm)
#   browser  wasm-in-Chromium tests (tests/browser; installs Debian's chromium when missing)
#   cluster  tests/cluster/run.sh (kubectl and @kubernetes/client-node against the test cluster)
# Installs on demand: npm dev dependencies (npm ci in tests/), the x86_64-unknown-linux-musl rustup
# target and Debian's musl-tools (install stage), the wasm32 rustup target and
# wasm-bindgen-cli at the version pinned in bindings/wasm/Cargo.toml and cargo-fuzz at the version
# pinned in fuzz/run.sh (both cached in ~/.cache/tale-sandbox/), Debian's chromium.
#
# Every cargo call, here and in the scripts this calls, passes --locked: a Cargo.lock that needs
# updating fails the run instead of being rewritten.
#
#   scripts/test-all.sh               every stage (the test command, and CI's)
#   scripts/test-all.sh lint node     only the stages named, in the order given
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

# What failed, recapped after the summary (a CI log is often shown by its two ends only).
FAILURES_FILE="$(mktemp)"
trap 'rm -f "$CPU_FILE" "$FAILURES_FILE"' EXIT

node_tests() {
  # The default reporter, so the log closes with node:test's standard summary lines. The
  # output is also kept: on failure, each failing test's report (its `not ok` line and the
  # block under it: the error, expected and actual) and every `# soak summary` line go to
  # the recap at the end.
  local log rc=0
  log="$(mktemp)"
  node --test "$@" 2>&1 | tee "$log" || rc=$?
  if [[ $rc -ne 0 ]]; then
    {
      echo "-- node --test $* (in $(basename "$PWD")/), exit $rc:"
      awk '
        /^ *not ok / { keep = 1; n = 0 }
        keep { print; if (++n >= 60 || /^ *\.\.\.$/) keep = 0 }
        /soak summary|soak faults per route/ { print }
      ' "$log" | cut -c1-600
    } >>"$FAILURES_FILE"
  fi
  rm -f "$log"
  return "$rc"
}

stage_lint() {
  # Needs no build: fmt parses, the lock check resolves; clippy then checks every target.
  local failed=()
  echo "lint: cargo fmt --all --check"
  if ! cargo fmt --all --check; then
    failed+=(fmt)
  fi
  # The fuzz crate is a workspace of its own (cargo-fuzz needs that), out of `cargo fmt --all`'s
  # reach: its sources are checked with the same rustfmt.toml (found from their folder up).
  echo "lint: rustfmt --check fuzz/fuzz_targets/*.rs"
  if ! rustfmt --check --edition 2024 fuzz/fuzz_targets/*.rs; then
    failed+=(fmt-fuzz)
  fi
  echo "lint: Cargo.lock is up to date (cargo metadata --locked)"
  if ! cargo metadata --locked --format-version 1 >/dev/null; then
    echo "lint: Cargo.lock needs updating: run a cargo build without --locked and commit Cargo.lock" >&2
    failed+=(lockfile)
  fi
  echo "lint: cargo clippy --workspace --all-targets --locked -- -D warnings"
  if ! cargo clippy --workspace --all-targets --locked -- -D warnings; then
    failed+=(clippy)
  fi
  if [[ ${#failed[@]} -gt 0 ]]; then
    echo "lint: failed: ${failed[*]}" >&2
    return 1
  fi
  echo "lint: fmt, lock file and clippy clean"
}

stage_rust() {
  # Bench targets run in test mode (no --bench argument): the serve benchmark of the test cluster
  # takes its quick mode then; its full run is `cargo bench -p tale-sandbox-testcluster`.
  cargo test --workspace --all-targets --locked --no-fail-fast
}

stage_doctest() {
  cargo test --workspace --doc --locked --no-fail-fast
}

stage_fuzz() {
  # 11 targets × 8 s, plus the instrumented build (warm: seconds): about 2 minutes.
  bash fuzz/run.sh 8
}

stage_node() {
  ensure_npm_deps
  # The build regenerates npm/sandbox-native/index.d.ts in place. It must come out identical to
  # the file in the tree (on a clean clone: the committed one); the tree is left as it was.
  local dts="npm/sandbox-native/index.d.ts" before stale=0
  before="$(mktemp)"
  cp "$dts" "$before"
  if ! bash scripts/build-node.sh --with-test-hooks; then
    cp "$before" "$dts"
    rm -f "$before"
    return 1
  fi
  if ! cmp -s "$before" "$dts"; then
    stale=1
    echo "node: $dts is stale: the addon's exports generate another one (diff below: - in the tree," >&2
    echo "node: + generated). Run scripts/build-node.sh and commit $dts." >&2
    diff -u --label "$dts (in the tree)" --label "$dts (generated)" "$before" "$dts" >&2 || true
    cp "$before" "$dts"
  fi
  rm -f "$before"
  # KubernetesBackend's tests drive the embedded test cluster's binary.
  cargo build --quiet --locked -p tale-sandbox-testcluster --bin tale-testcluster
  export TALE_TESTCLUSTER_BIN="$CARGO_TARGET_DIR/debug/tale-testcluster"
  local failed=0
  (cd tests && node_tests node/) || failed=1
  # The short soak (its own defaults; SOAK_SEED/SOAK_EXECUTIONS/SOAK_CONCURRENCY from the caller).
  (cd tests && node_tests soak/) || failed=1
  if [[ $stale -ne 0 ]]; then
    echo "node: the tests ran, but index.d.ts is stale (see above)" >&2
    failed=1
  fi
  return "$failed"
}

ensure_musl_tools() {
  if ! command -v musl-gcc >/dev/null 2>&1; then
    echo "installing Debian's musl-tools for the linux-x64-musl addon"
    if [[ $(id -u) -ne 0 ]]; then
      echo "musl-gcc is missing and installing it needs root: run apt-get install -y musl-tools" >&2
      return 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq musl-tools >/dev/null
  fi
}

stage_install() {
  ensure_npm_deps
  ensure_musl_tools
  bash tests/install/run.sh
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

ALL_STAGES=(lint rust doctest fuzz node install wasm browser cluster)
KNOWN_STAGES=("${ALL_STAGES[@]}")
if [[ $# -gt 0 ]]; then
  for name in "$@"; do
    if [[ " ${KNOWN_STAGES[*]} " != *" $name "* ]]; then
      echo "test-all: unknown stage '$name' (stages: ${KNOWN_STAGES[*]})" >&2
      exit 2
    fi
  done
  STAGES=("$@")
else
  STAGES=("${ALL_STAGES[@]}")
fi
WASM_RESULT=""
for name in "${STAGES[@]}"; do
  if [[ $name == browser && -n $WASM_RESULT && $WASM_RESULT != ok ]]; then
    skip_stage browser "the wasm package did not build or its Node tests failed"
    continue
  fi
  run_stage "$name" "stage_$name"
  if [[ $name == wasm ]]; then
    WASM_RESULT="${STAGE_RESULTS[-1]}"
  fi
done

banner "summary"
for i in "${!STAGE_NAMES[@]}"; do
  printf '  %-8s %-8s cpu %-8s %s\n' "${STAGE_NAMES[$i]}" "$(duration "${STAGE_TIMES[$i]}")" \
    "$(duration "${STAGE_CPU[$i]}")" "${STAGE_RESULTS[$i]}"
done
if [[ -s $FAILURES_FILE ]]; then
  banner "failed tests (recap of the reports above)"
  head -n 400 "$FAILURES_FILE"
fi
if [[ $FAILED -eq 0 ]]; then
  echo "test-all: PASSED, every stage ok in $(duration $((SECONDS - START)))"
else
  echo "test-all: FAILED, see the stages above ($(duration $((SECONDS - START))) in all)"
fi
exit $FAILED
