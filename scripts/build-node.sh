#!/usr/bin/env bash
# Builds the napi addon (release) with @napi-rs/cli into npm/sandbox-native/, where the package's
# index.js loader finds it, regenerates npm/sandbox-native/index.d.ts, and copies the addon into
# its platform package folder (npm/<platform>/) when that folder exists. The declaration file starts
# with bindings/node/ts/header.d.ts (the hand-written spec §3 object types the classes refer to).
#
#   scripts/build-node.sh                    the shipped addon
#   scripts/build-node.sh --with-test-hooks  also the test-only addon (cargo feature `test-hooks`,
#                                            a hidden panic trigger) into tests/node/.cache/test-hooks/
#   scripts/build-node.sh --musl             only the linux-x64-musl addon (Rust target
#                                            x86_64-unknown-linux-musl, linked dynamically against
#                                            musl with Debian's musl-gcc) into npm/linux-x64-musl/;
#                                            installs the rustup target and needs musl-tools
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
    --no-js --dts index.d.ts --dts-header "$(cat "$ROOT/bindings/node/ts/header.d.ts")" \
    "$@" -- --locked
}

if [[ "${1:-}" == "--musl" ]]; then
  if ! command -v musl-gcc >/dev/null 2>&1; then
    echo "build-node: musl-gcc is missing: apt-get install -y musl-tools (Debian) or your system's musl toolchain" >&2
    exit 1
  fi
  rustup target list --installed | grep -qx x86_64-unknown-linux-musl || rustup target add x86_64-unknown-linux-musl
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  # A Node addon is loaded into a dynamically linked node: it must link musl dynamically
  # (-crt-static), not carry a static C runtime of its own. ring's C code is compiled by musl-gcc.
  # Without crt-static, Rust's musl target takes its unwinder from libgcc_s, which Debian has only
  # for glibc. The rustup musl target ships LLVM's libunwind (position-independent) for its static
  # builds: offered to the linker as libgcc_s.a, it is linked into the addon, whose only dynamic
  # dependency is then musl's libc. (napi sets RUSTFLAGS for musl targets, which overrides the
  # per-target variable, so the flags go in RUSTFLAGS.)
  unwind_dir="$CARGO_TARGET_DIR/musl-unwind"
  mkdir -p "$unwind_dir"
  ln -sf "$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-musl/lib/self-contained/libunwind.a" \
    "$unwind_dir/libgcc_s.a"
  CC_x86_64_unknown_linux_musl=musl-gcc \
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_LINKER=musl-gcc \
    RUSTFLAGS="-C target-feature=-crt-static -L native=$unwind_dir" \
    napi_build "$out" --target x86_64-unknown-linux-musl
  cp "$out/sandbox-native.linux-x64-musl.node" "$ROOT/npm/linux-x64-musl/"
  echo "build-node: built npm/linux-x64-musl/sandbox-native.linux-x64-musl.node"
  exit 0
fi

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
