#!/usr/bin/env bash
# Builds the wasm package into bindings/wasm/pkg/ (ESM, `wasm-bindgen --target web`): the
# wasm32-unknown-unknown release build, the JS glue and .d.ts, plus the hand-written package.json
# and README from bindings/wasm/package/.
#
# Installs what it needs: the rustup target, and wasm-bindgen-cli at exactly the version pinned in
# bindings/wasm/Cargo.toml, into a cache reused across runs
# ($TALE_SANDBOX_CACHE, default ~/.cache/tale-sandbox/wasm-bindgen-<version>/).
# Honours CARGO_TARGET_DIR (default: <repo>/target). Every cargo call passes --locked (the CLI's
# install falls back to fresh resolution when its published Cargo.lock cannot be used).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
CACHE="${TALE_SANDBOX_CACHE:-$HOME/.cache/tale-sandbox}"
PKG="$ROOT/bindings/wasm/pkg"

version="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)".*/\1/p' "$ROOT/bindings/wasm/Cargo.toml")"
if [[ -z "$version" ]]; then
  echo "build-wasm: bindings/wasm/Cargo.toml must pin wasm-bindgen exactly (wasm-bindgen = \"=0.2.X\")" >&2
  exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "build-wasm: adding the rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

bindgen_root="$CACHE/wasm-bindgen-$version"
bindgen="$bindgen_root/bin/wasm-bindgen"
if [[ "$("$bindgen" --version 2>/dev/null || true)" != "wasm-bindgen $version" ]]; then
  echo "build-wasm: installing wasm-bindgen-cli $version into $bindgen_root (takes a few minutes, once)"
  # Its own target dir: the CLI's dependencies have nothing in common with the project's.
  # --debug: builds in under half the time of a release build (114 s against 302 s here) and
  # generates byte-identical glue; it runs for a fraction of a second per build either way.
  # --locked builds it from its published Cargo.lock. That lock can name a dependency release
  # the registry does not serve (0.2.130's names webpki-roots 1.0.11, which the registry reached
  # here lacks): then the pinned CLI is built from freshly resolved dependencies, said aloud.
  install=(cargo install wasm-bindgen-cli --version "=$version" --root "$bindgen_root" --force --debug)
  if ! CARGO_TARGET_DIR="$CACHE/cargo-install-target" "${install[@]}" --locked; then
    echo "build-wasm: the published Cargo.lock of wasm-bindgen-cli $version cannot be used here;" \
      "installing it without --locked" >&2
    CARGO_TARGET_DIR="$CACHE/cargo-install-target" "${install[@]}"
  fi
  rm -rf "$CACHE/cargo-install-target"
fi

cargo build --locked --release --target wasm32-unknown-unknown \
  --manifest-path "$ROOT/bindings/wasm/Cargo.toml" -p tale-sandbox-wasm

rm -rf "$PKG"
"$bindgen" --target web --out-dir "$PKG" --out-name tale_sandbox_wasm \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/tale_sandbox_wasm.wasm"
cp "$ROOT/bindings/wasm/package/package.json" "$ROOT/bindings/wasm/package/README.md" "$PKG/"
echo "build-wasm: package ready in ${PKG#"$ROOT"/} ($(wc -c <"$PKG/tale_sandbox_wasm_bg.wasm") bytes of wasm)"
