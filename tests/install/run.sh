#!/usr/bin/env bash
# The install test of @tale/sandbox-native: builds the linux-x64-gnu and linux-x64-musl addons,
# checks what can be checked of the musl one without a musl Node (its dynamic dependencies are
# musl's libc only, no glibc symbol versions), packs the packages with `npm pack`, installs the
# tarballs into a fresh temporary project outside the tree (offline: nothing comes from a
# registry), and there requires and imports the package and runs one execution against the
# `tale-testcluster` binary. Usage: bash tests/install/run.sh (from anywhere).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

echo "install: building the addons (gnu: scripts/build-node.sh; musl: scripts/build-node.sh --musl)"
[[ -f "$root/npm/linux-x64-gnu/sandbox-native.linux-x64-gnu.node" ]] || bash "$root/scripts/build-node.sh"
musl_began=$SECONDS
bash "$root/scripts/build-node.sh" --musl
echo "install: the musl build took $((SECONDS - musl_began)) s"

musl="$root/npm/linux-x64-musl/sandbox-native.linux-x64-musl.node"
echo "install: checking $musl"
needed="$(readelf -d "$musl" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u | tr '\n' ' ')"
echo "install: musl addon NEEDED: $needed"
for lib in $needed; do
  case "$lib" in
    libc.so | libc.musl-x86_64.so.1 | ld-musl-x86_64.so.1) ;;
    *) echo "install: the musl addon needs $lib, which is not musl's libc" >&2; exit 1 ;;
  esac
done
if readelf -V "$musl" | grep -q 'GLIBC_'; then
  echo "install: the musl addon references glibc symbol versions:" >&2
  readelf -V "$musl" | grep 'GLIBC_' | head >&2
  exit 1
fi
# The addon's unwinder is linked in (scripts/build-node.sh explains why); a program linked the same
# way must catch a panic under musl's dynamic loader, as napi-rs does for every call into Rust.
if [[ -x /lib/ld-musl-x86_64.so.1 ]]; then
  unwind_bin="$(mktemp /tmp/tale-unwind-XXXXXX)"
  rustc --edition 2021 --target x86_64-unknown-linux-musl -C target-feature=-crt-static \
    -C linker=musl-gcc -L "native=$CARGO_TARGET_DIR/musl-unwind" -O "$here/unwind.rs" -o "$unwind_bin"
  readelf -l "$unwind_bin" | grep -q 'interpreter: /lib/ld-musl-x86_64.so.1'
  "$unwind_bin"
  rm -f "$unwind_bin"
else
  echo "install: /lib/ld-musl-x86_64.so.1 is missing (apt-get install musl), cannot run the unwind check" >&2
  exit 1
fi
if readelf -d "$root/npm/linux-x64-gnu/sandbox-native.linux-x64-gnu.node" | grep -q 'musl'; then
  echo "install: the gnu addon references musl" >&2
  exit 1
fi

echo "install: building tale-testcluster"
(cd "$root" && cargo build --quiet --locked -p tale-sandbox-testcluster --bin tale-testcluster)
cluster_bin="$CARGO_TARGET_DIR/debug/tale-testcluster"

work="$(mktemp -d /tmp/tale-install-XXXXXX)"
cluster_pid=""
cleanup() {
  [[ -n "$cluster_pid" ]] && kill "$cluster_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "install: npm pack into $work/tarballs"
mkdir -p "$work/tarballs" "$work/project"
for pkg in sandbox-native linux-x64-gnu linux-x64-musl; do
  (cd "$root/npm/$pkg" && npm pack --silent --pack-destination "$work/tarballs" >/dev/null)
done
ls -l "$work/tarballs"
tar -tzf "$work/tarballs/tale-sandbox-native-linux-x64-musl-0.1.0.tgz" | grep -qx 'package/sandbox-native.linux-x64-musl.node'
if tar -tzf "$work/tarballs/tale-sandbox-native-0.1.0.tgz" | grep -q '\.node$'; then
  echo "install: the main package must not carry an addon" >&2
  exit 1
fi

cd "$work/project"
printf '{ "name": "install-test", "private": true, "type": "module" }\n' >package.json
# The musl package is for musl systems only (npm refuses it here by its libc field); the main
# package's optional dependency on it is skipped, offline, like any unavailable optional package.
npm install --offline --no-audit --no-fund --loglevel=error \
  "$work/tarballs/tale-sandbox-native-0.1.0.tgz" "$work/tarballs/tale-sandbox-native-linux-x64-gnu-0.1.0.tgz"
cp "$here/smoke.mjs" .
node -e "const m = require('@tale/sandbox-native'); if (typeof m.KubernetesBackend !== 'function') process.exit(1)"

"$cluster_bin" --port 0 --kubeconfig "$work/kubeconfig" --ca-file "$work/ca.crt" >"$work/cluster.out" 2>&1 &
cluster_pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$work/cluster.out" && break
  sleep 0.1
done
url="$(sed -n 's/^listening on //p' "$work/cluster.out")"
[[ -n "$url" ]] || { echo "install: the test cluster did not start" >&2; cat "$work/cluster.out" >&2; exit 1; }
node smoke.mjs "$work/kubeconfig" "$url" "$work/ca.crt"
echo "install: PASSED"
