#!/usr/bin/env bash
# Run every fuzz target of the project (the contract's parsers, the stdout
# accumulator, the kubelet-logs model's parsers) for SECONDS seconds each
# (default 10), or for a number of executions each. Installs cargo-fuzz at the
# version pinned below when missing. Works on a stable toolchain through
# RUSTC_BOOTSTRAP=1 (cargo-fuzz passes nightly-only flags).
#
#   fuzz/run.sh                  # 10 s per target
#   fuzz/run.sh 8                # 8 s per target (the test command)
#   fuzz/run.sh 600              # 10 min per target, by hand
#   fuzz/run.sh --runs 1000000   # 10^6 executions per target, by hand (BENCHMARKS.md)
#   FUZZ_TARGETS="scanner accumulator" fuzz/run.sh 60
#
# One process per target (libFuzzer's -jobs is not used): the machine's cores
# are shared.
#
# The instrumented build goes to FUZZ_TARGET_DIR (default fuzz/target), not
# CARGO_TARGET_DIR, so it never mixes with the workspace's normal builds and
# stays warm between runs.
#
# Exit status: non-zero when the build fails or any target fails (a crash, a
# panic, a timeout, running out of memory: whatever makes libFuzzer stop with
# an error). Every target runs even after one failed; each gets a short
# summary, and a failing one the end of its log (the panic, the failing input
# and how to reproduce it). Findings are written to
# fuzz/artifacts/<target>/. The growing corpus lives in
# corpus/<target>/ (git-ignored); seeds/<target>/ holds committed starting
# inputs.
#
# Lock file: this crate is a workspace of its own and its Cargo.lock is not
# committed; each run starts from the repository's Cargo.lock, so every crate
# the fuzz targets share with the workspace builds at the workspace's locked
# version (cargo-fuzz has no --locked to pass on).
set -euo pipefail

# The cargo-fuzz release this script is written against (its flags and output).
cargo_fuzz_version="0.13.2"

if [[ "${1:-}" == "--runs" ]]; then
    runs_wanted="${2:?run.sh: --runs needs a number of executions}"
    budget=(-runs="$runs_wanted")
    what="$runs_wanted executions"
else
    seconds="${1:-10}"
    budget=(-max_total_time="$seconds")
    what="${seconds}s"
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$here"
export RUSTC_BOOTSTRAP=1

# Installed into a cache of its own, like wasm-bindgen-cli (scripts/build-wasm.sh): another
# cargo-fuzz on the PATH is neither used nor replaced.
cache="${TALE_SANDBOX_CACHE:-$HOME/.cache/tale-sandbox}"
fuzz_root="$cache/cargo-fuzz-$cargo_fuzz_version"
export PATH="$fuzz_root/bin:$PATH"
if [[ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $cargo_fuzz_version" ]]; then
    echo "run.sh: installing cargo-fuzz $cargo_fuzz_version into $fuzz_root (takes about 2 minutes, once)" >&2
    # Its own target dir: the CLI's dependencies have nothing in common with the project's.
    # --locked: from its published Cargo.lock. Should that lock name a dependency release the
    # registry does not serve, the pinned version is built from freshly resolved dependencies.
    install=(cargo install cargo-fuzz --version "=$cargo_fuzz_version" --root "$fuzz_root" --force)
    if ! CARGO_TARGET_DIR="$cache/cargo-install-target" "${install[@]}" --locked; then
        echo "run.sh: the published Cargo.lock of cargo-fuzz $cargo_fuzz_version cannot be used here;" \
            "installing it without --locked" >&2
        CARGO_TARGET_DIR="$cache/cargo-install-target" "${install[@]}"
    fi
    rm -rf "$cache/cargo-install-target"
fi

cp "$root/Cargo.lock" Cargo.lock

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
# Safe Rust: AddressSanitizer finds nothing extra here and doubles the build
# time; debug assertions (-a) catch arithmetic overflow.
sanitizer="${FUZZ_SANITIZER:-none}"
target_dir="${FUZZ_TARGET_DIR:-$here/target}"
cargo fuzz build -a -s "$sanitizer" --target-dir "$target_dir"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=()
for target in $targets; do
    mkdir -p "corpus/$target" "seeds/$target"
    echo "run.sh: fuzzing $target for $what" >&2
    status=0
    began=$SECONDS
    cargo fuzz run -a -s "$sanitizer" --target-dir "$target_dir" "$target" "corpus/$target" "seeds/$target" -- \
        "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 \
        || status=$?
    took=$((SECONDS - began))
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
    rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")"
    corpus="$(find "corpus/$target" -type f | wc -l)"
    if [[ $status -eq 0 ]]; then
        echo "run.sh: $target ok: ${runs:-?} runs in ${took}s (${speed:-?}/s), corpus $corpus inputs, peak RSS ${rss:-?} MB, 0 crashes" >&2
    else
        echo "run.sh: $target FAILED (exit $status) after ${runs:-?} runs:" >&2
        # What went wrong (a panic and its message, libFuzzer's crash, timeout or out-of-memory
        # report), then cargo-fuzz's failing input and how to reproduce it; backtraces left out.
        # Without either (a build error, say): the end of the log.
        problem="$(grep -E -A2 'panicked at|==[0-9]+== ERROR|ALARM: working on the last Unit|out-of-memory' "$log" || true)"
        reproduce="$(sed -n '/^Failing input:/,/^Error:/p' "$log")"
        if [[ -n "$problem$reproduce" ]]; then
            printf '%s\n' "$problem" "$reproduce" >&2
        else
            tail -n 40 "$log" >&2
        fi
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "run.sh: ${#failed[@]} target(s) failed: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
echo "run.sh: all targets ran $what without findings" >&2
