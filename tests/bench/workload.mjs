// Synthetic container output for the Node benchmarks: byte for byte the workloads of
// crates/accumulator/benches/support/workload.rs, so Node and Rust figures measure the same work.
// Deterministic: the same bytes on every run.

/** Body chunk size of every workload. */
export const CHUNK = 64 * 1024
/** Bytes of every timestamped line: a 31-byte kubelet prefix, 68 bytes of content, "\n". */
export const TIMESTAMPED_LINE = 100
const PREFIX_LEN = 31
/** Bytes of every raw (timestamp-less) log line. */
export const RAW_LINE = 80

const encoder = new TextEncoder()
const FILLER = encoder.encode('abcdefghijklmnopqrstuvwxyz0123456789')

/** Writes the content of line `n` (exactly `len` bytes, no newline) at `out[at]`; returns the end. */
function content(n, len, out, at) {
  const extra = n % 8 === 3 ? 'ü ' : n % 8 === 7 ? '€ ' : ''
  const head = `line ${String(n).padStart(9)}: ${extra}request served in ${n % 997} ms, status ok, items=`
  const { written } = encoder.encodeInto(head, out.subarray(at, at + len))
  let end = at + written
  for (let k = n % 36; end < at + len; k = (k + 1) % FILLER.length) out[end++] = FILLER[k]
  return at + len
}

/** `bytes` bytes (whole 100-byte lines) of a kubelet `timestamps=true` stream. */
export function timestampedStream(bytes) {
  const lines = Math.floor(bytes / TIMESTAMPED_LINE)
  const out = new Uint8Array(lines * TIMESTAMPED_LINE)
  let nanos = 123_456_789
  let at = 0
  for (let n = 0; n < lines; n++) {
    if (n % 8 !== 5) nanos += 1 + ((n * 7919) % 20_000)
    const second = 10 * 3600 + 1 + Math.floor(nanos / 1e9)
    const pad = (v, w) => String(v).padStart(w, '0')
    const prefix = `2026-11-26T${pad(Math.floor(second / 3600), 2)}:${pad(Math.floor(second / 60) % 60, 2)}:${pad(second % 60, 2)}.${pad(nanos % 1e9, 9)}Z `
    at += encoder.encodeInto(prefix, out.subarray(at)).written
    at = content(n, TIMESTAMPED_LINE - PREFIX_LEN - 1, out, at)
    out[at++] = 0x0a
  }
  return out
}

/** The first `bytes` bytes of a raw container log of 80-byte lines. */
export function rawLog(bytes) {
  const out = new Uint8Array(Math.ceil(bytes / RAW_LINE) * RAW_LINE)
  let at = 0
  for (let n = 0; at < bytes; n++) {
    at = content(n, RAW_LINE - 1, out, at)
    out[at++] = 0x0a
  }
  return out.subarray(0, bytes)
}
