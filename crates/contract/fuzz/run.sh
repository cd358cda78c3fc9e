#!/usr/bin/env bash
# Run every fuzz target of tale-sandbox-contract for SECONDS seconds each
# (default 10). Installs cargo-fuzz when missing. Works on a stable toolchain
# through RUSTC_BOOTSTRAP=1 (cargo-fuzz passes nightly-only flags).
#
#   crates/contract/fuzz/run.sh          # 10 s per target (the test command)
#   crates/contract/fuzz/run.sh 600      # 10 min per target, by hand
#   FUZZ_TARGETS="scanner text" crates/contract/fuzz/run.sh 60
#
# The instrumented build goes to FUZZ_TARGET_DIR (default fuzz/target), not
# CARGO_TARGET_DIR, so it never mixes with the workspace's normal builds and
# stays warm between runs.
#
# Findings are written to crates/contract/fuzz/artifacts/<target>/ and make
# the script exit non-zero. The growing corpus lives in corpus/<target>/
# (git-ignored); seeds/<target>/ holds committed starting inputs.
set -euo pipefail

seconds="${1:-10}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"
# Safe Rust: AddressSanitizer finds nothing extra here and doubles the build
# time; debug assertions (-a) catch arithmetic overflow.
sanitizer="${FUZZ_SANITIZER:-none}"
target_dir="${FUZZ_TARGET_DIR:-$here/target}"
cargo fuzz build -a -s "$sanitizer" --target-dir "$target_dir"

for target in $targets; do
    mkdir -p "corpus/$target" "seeds/$target"
    echo "run.sh: fuzzing $target for ${seconds}s" >&2
    cargo fuzz run -a -s "$sanitizer" --target-dir "$target_dir" "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
        | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|Running|Done|thread|panicked|Failing input|artifact_prefix)|INFO: Done|panicked' || true
    if compgen -G "artifacts/$target/*" >/dev/null; then
        echo "run.sh: $target produced findings in fuzz/artifacts/$target" >&2
        exit 1
    fi
done
echo "run.sh: all targets ran ${seconds}s without findings" >&2
