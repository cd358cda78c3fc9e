// @tale/sandbox-replay: replays a recording of a sandbox run's log reads — a file written by
// `tale-sandbox exec --record` (format version 2 of tests/vectors/) or any shared vector
// (version 1) — through a StdoutAccumulator (the wasm package's, or the Node addon's), and says
// what each response brought. No Node-only imports: browsers, workers and Node load it as is.

const encoder = new TextEncoder()

/** The format versions this library reads. */
export const FORMAT_VERSIONS = Object.freeze([1, 2])

const READ_FIELDS_V2 = ['kind', 'query', 'how', 'error', 'atMs', 'endMs', 'chunkMs']

function fail(message) {
  throw new TypeError(`not a recording: ${message}`)
}

/**
 * Parses and checks a recording (a JSON string, bytes of one, or the parsed object). Throws a
 * `TypeError` naming the first problem; returns the recording object.
 */
export function parseRecording(input) {
  let recording = input
  if (input instanceof Uint8Array) recording = new TextDecoder().decode(input)
  if (typeof recording === 'string') {
    try {
      recording = JSON.parse(recording)
    } catch (error) {
      fail(`invalid JSON (${error.message})`)
    }
  }
  if (recording === null || typeof recording !== 'object' || Array.isArray(recording)) fail('expected a JSON object')
  const version = recording.version ?? 1
  if (!FORMAT_VERSIONS.includes(version)) fail(`unsupported format version ${JSON.stringify(version)} (known: 1, 2)`)
  if (recording.mode !== 'raw' && recording.mode !== 'timestamped') fail(`mode must be "raw" or "timestamped", got ${JSON.stringify(recording.mode)}`)
  if (!Number.isSafeInteger(recording.capBytes) || recording.capBytes < 1) fail(`capBytes must be a positive integer, got ${JSON.stringify(recording.capBytes)}`)
  if (!Array.isArray(recording.reads)) fail('reads must be an array')
  recording.reads.forEach((read, r) => {
    if (read === null || typeof read !== 'object' || !Array.isArray(read.chunks)) fail(`reads[${r}].chunks must be an array`)
    if (version === 1) {
      const extra = READ_FIELDS_V2.find((field) => field in read)
      if (extra) fail(`reads[${r}].${extra} needs "version": 2`)
    }
  })
  if (version === 1 && 'recording' in recording) fail('"recording" needs "version": 2')
  const expect = recording.expect
  if (expect !== undefined) {
    for (const field of ['stdout', 'truncated', 'totalBytes', 'rotations', 'gaps', 'malformed']) {
      if (!(field in expect)) fail(`expect lacks ${field}`)
    }
  }
  return recording
}

function base64Bytes(text) {
  if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text)
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

function hexBytes(hex) {
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError(`bad hex chunk ${JSON.stringify(hex.slice(0, 40))}`)
  const bytes = new Uint8Array(hex.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return bytes
}

/** The bytes of a chunk: a string is its UTF-8, `{hex}` and `{base64}` are arbitrary bytes. */
export function chunkBytes(chunk) {
  if (typeof chunk === 'string') return encoder.encode(chunk)
  if (chunk && typeof chunk.base64 === 'string') {
    try {
      return base64Bytes(chunk.base64)
    } catch {
      throw new TypeError(`bad base64 chunk ${JSON.stringify(chunk.base64.slice(0, 40))}`)
    }
  }
  if (chunk && typeof chunk.hex === 'string') return hexBytes(chunk.hex)
  throw new TypeError(`bad chunk ${JSON.stringify(chunk)?.slice(0, 80)} (expected a string, {"hex"} or {"base64"})`)
}

function counts(acc) {
  if (typeof acc.byteCounts === 'function') return acc.byteCounts()
  return null
}

function describeEnd(read) {
  if (typeof read.how === 'string') return read.how
  return read.end === false ? 'cut' : 'end'
}

/**
 * Replays `recording` through `new StdoutAccumulator(...)`: every read as `beginRead()`, its
 * chunks pushed, then `endRead()` (or `abandonRead()` for `"end": false`). Returns the final
 * result and, per read, where its accepted bytes sit in the stream and how its bytes were
 * classified (from `byteCounts()` when the accumulator has it: the wasm package does).
 *
 * `onProgress(done, total)` is called every `progressEvery` reads (default 64).
 */
export function replay(recording, StdoutAccumulator, { onProgress, progressEvery = 64 } = {}) {
  const rec = parseRecording(recording)
  const acc = new StdoutAccumulator({ capBytes: rec.capBytes, timestamps: rec.mode === 'timestamped' })
  try {
    const reads = []
    let before = counts(acc)
    let stream = 0
    rec.reads.forEach((read, index) => {
      let viaReturns = 0
      viaReturns += acc.beginRead().length
      for (const chunk of read.chunks) viaReturns += acc.push(chunkBytes(chunk)).length
      viaReturns += (read.end === false ? acc.abandonRead() : acc.endRead()).length
      const after = counts(acc)
      const report = {
        index,
        kind: read.kind ?? null,
        how: describeEnd(read),
        query: read.query ?? null,
        error: read.error ?? null,
        atMs: read.atMs ?? null,
        endMs: read.endMs ?? null,
        chunks: read.chunks.length,
      }
      if (after && before) {
        for (const field of ['wire', 'accepted', 'kept', 'duplicate', 'skipped', 'framing']) {
          report[field] = after[field] - before[field]
        }
        report.rotations = after.rotations - before.rotations
        report.gaps = after.gaps - before.gaps
        report.malformed = after.malformed - before.malformed
      } else {
        report.kept = viaReturns
      }
      report.streamStart = stream
      stream += report.accepted ?? report.kept
      report.streamEnd = stream
      reads.push(report)
      before = after
      if (onProgress && (index + 1) % progressEvery === 0) onProgress(index + 1, rec.reads.length)
    })
    const out = acc.finish()
    const result = {
      stdout: out.stdout,
      text: out.text,
      truncated: out.truncated,
      totalBytes: out.totalBytes,
      rotations: out.rotations,
      gaps: out.gaps,
      malformed: out.malformed,
    }
    const differences = rec.expect ? compareWithExpect(result, rec.expect) : null
    if (onProgress) onProgress(rec.reads.length, rec.reads.length)
    return { name: rec.name ?? null, version: rec.version ?? 1, mode: rec.mode, capBytes: rec.capBytes, result, reads, differences, matches: differences ? differences.length === 0 : null }
  } finally {
    // Free at once where the class allows it (wasm); finalizers would do it later anyway.
    if (typeof acc.free === 'function') acc.free()
  }
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Differences between a replay's result and a recording's `expect`, as readable strings. */
export function compareWithExpect(result, expect) {
  const differences = []
  const want = chunkBytes(expect.stdout)
  if (!sameBytes(result.stdout, want)) {
    let at = 0
    while (at < Math.min(result.stdout.length, want.length) && result.stdout[at] === want[at]) at++
    differences.push(`stdout differs at byte ${at} (got ${result.stdout.length} bytes, expected ${want.length})`)
  }
  if ('text' in expect && expect.text !== result.text) differences.push('text differs')
  for (const field of ['truncated', 'totalBytes', 'rotations', 'gaps', 'malformed']) {
    if (result[field] !== expect[field]) differences.push(`${field}: got ${JSON.stringify(result[field])}, expected ${JSON.stringify(expect[field])}`)
  }
  return differences
}

/**
 * Replays `recording` and throws an `Error` listing every difference from its `expect` (or from
 * `expected`, when given: any subset of `{stdout, truncated, totalBytes, rotations, gaps,
 * malformed}`). Returns the replay on success. For test runners (Playwright, Vitest).
 */
export function assertReplayMatches(recording, StdoutAccumulator, expected) {
  const rec = parseRecording(recording)
  const run = replay(rec, StdoutAccumulator)
  let differences
  if (expected) {
    differences = []
    for (const [field, value] of Object.entries(expected)) {
      if (field === 'stdout') {
        const want = value instanceof Uint8Array ? value : chunkBytes(value)
        if (!sameBytes(run.result.stdout, want)) differences.push(`stdout differs (got ${run.result.stdout.length} bytes, expected ${want.length})`)
      } else if (run.result[field] !== value) {
        differences.push(`${field}: got ${JSON.stringify(run.result[field])}, expected ${JSON.stringify(value)}`)
      }
    }
  } else if (run.differences) {
    differences = run.differences
  } else {
    throw new Error('the recording has no expect: pass the expected values')
  }
  if (differences.length > 0) {
    throw new Error(`replay of ${rec.name ?? 'the recording'} differs: ${differences.join('; ')}`)
  }
  return run
}

/** SHA-256 of bytes as lowercase hex (Web Crypto: browsers, workers, Node ≥ 20). */
export async function sha256Hex(bytes) {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes)
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}
