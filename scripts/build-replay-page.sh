#!/usr/bin/env bash
# Makes the replay page (npm/sandbox-replay/page) runnable: builds the wasm package when it is
# missing and copies it into page/wasm/ (ignored by git). Then serve npm/sandbox-replay/ with any
# static file server and open /page/, e.g.
#   python3 -m http.server -d npm/sandbox-replay 8000   # http://127.0.0.1:8000/page/
# (a module worker cannot start from a file:// URL, hence the server; nothing runs server-side).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/bindings/wasm/pkg"
PAGE="$ROOT/npm/sandbox-replay/page"

if [[ ! -f "$PKG/tale_sandbox_wasm_bg.wasm" || "${1:-}" == "--rebuild" ]]; then
  bash "$ROOT/scripts/build-wasm.sh"
fi
rm -rf "$PAGE/wasm"
mkdir -p "$PAGE/wasm"
cp "$PKG/tale_sandbox_wasm.js" "$PKG/tale_sandbox_wasm_bg.wasm" "$PAGE/wasm/"
echo "build-replay-page: ready; serve $(realpath --relative-to="$ROOT" "$PAGE/..") and open /page/"
