#!/usr/bin/env bash
# Builds the napi addon (release) with @napi-rs/cli into npm/sandbox-native/, where the package's
# index.js loader finds it, regenerates npm/sandbox-native/index.d.ts, and copies the addon into
# its platform package folder (npm/<platform>/) when that folder exists.
#
#   scripts/build-node.sh                    the shipped addon
#   scripts/build-node.sh --with-test-hooks  also the test-only addon (cargo feature `test-hooks`,
#                                            a hidden panic trigger) into tests/node/.cache/test-hooks/
#
# Honours CARGO_TARGET_DIR (default: <repo>/target). Cargo runs with --locked: a Cargo.lock that needs
# updating is an error, not rewritten.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
NAPI="$ROOT/tests/node_modules/.bin/napi"

if [[ ! -x "$NAPI" ]]; then
  echo "build-node: installing the test/build npm dependencies (tests/package-lock.json)"
  npm ci --prefix "$ROOT/tests" --no-audit --no-fund
fi

napi_build() {
  local out_dir="$1"
  shift
  "$NAPI" build --release --platform \
    --manifest-path "$ROOT/bindings/node/Cargo.toml" \
    --package-json-path "$ROOT/npm/sandbox-native/package.json" \
    --target-dir "$CARGO_TARGET_DIR" \
    --output-dir "$out_dir" \
    --no-js --dts index.d.ts "$@" -- --locked
}

napi_build "$ROOT/npm/sandbox-native"

for addon in "$ROOT"/npm/sandbox-native/sandbox-native.*.node; do
  platform="${addon##*/sandbox-native.}"
  platform="${platform%.node}"
  if [[ -d "$ROOT/npm/$platform" ]]; then
    cp "$addon" "$ROOT/npm/$platform/"
    echo "build-node: copied ${addon##*/} into npm/$platform/"
  fi
done

if [[ "${1:-}" == "--with-test-hooks" ]]; then
  mkdir -p "$ROOT/tests/node/.cache/test-hooks"
  napi_build "$ROOT/tests/node/.cache/test-hooks" --features test-hooks
fi
