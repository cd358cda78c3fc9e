// Runs the shared accumulator vectors (tests/vectors/*.json, format in tests/vectors/README.md)
// against any StdoutAccumulator implementation: the napi addon, the wasm package in Node, and the
// wasm package in Chromium all use this one module, so the surfaces are checked the same way.
// No Node-only imports: the browser page loads this file as it is.

const encoder = new TextEncoder()

function base64Bytes(text) {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return null
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** Bytes of a vector chunk: a string is its UTF-8, `{hex}` and `{base64}` (version 2) are arbitrary bytes. */
export function chunkBytes(chunk) {
  if (typeof chunk === 'string') return encoder.encode(chunk)
  if (chunk && typeof chunk.base64 === 'string') {
    const bytes = base64Bytes(chunk.base64)
    if (bytes) return bytes
  }
  if (chunk && typeof chunk.hex === 'string' && /^([0-9a-fA-F]{2})*$/.test(chunk.hex)) {
    const bytes = new Uint8Array(chunk.hex.length / 2)
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(chunk.hex.slice(2 * i, 2 * i + 2), 16)
    return bytes
  }
  throw new Error(`bad chunk in vector: ${JSON.stringify(chunk)} (expected a string, {"hex": "..."} or {"base64": "..."})`)
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** Short, readable rendering of bytes for failure messages. */
function show(bytes) {
  const shown = bytes.length > 64 ? bytes.subarray(0, 64) : bytes
  const text = new TextDecoder('utf-8', { fatal: false }).decode(shown)
  return `${bytes.length} bytes ${JSON.stringify(text)} (hex ${hex(shown)}${bytes.length > 64 ? '…' : ''})`
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i
  return n
}

function isPlainUint8Array(value) {
  return value instanceof Uint8Array && Object.getPrototypeOf(value) === Uint8Array.prototype
}

const COUNTERS = ['truncated', 'totalBytes', 'rotations', 'gaps', 'malformed']

/**
 * Drives one vector through `new StdoutAccumulator(...)` and returns the list of problems found
 * (empty when the implementation produced exactly what the vector expects).
 *
 * Every byte array returned by `beginRead()`, `push()`, `endRead()` and `abandonRead()` is
 * collected: together they must be `expect.stdout` (each byte delivered once, in order).
 *
 * `explicitAbandon`: call `abandonRead()` for every read with `"end": false` before the next
 * `beginRead()` / `finish()`, instead of relying on them to abandon it. Both must give the same
 * result.
 *
 * `fastPath`: feed every chunk with `pushCount()` instead of `push()`, and collect its bytes with
 * `stdoutSlice(lengthBefore)`; the result must be the same, and `stdoutLength` must follow.
 */
export function checkVector(StdoutAccumulator, vector, { explicitAbandon = false, fastPath = false } = {}) {
  const problems = []
  const expect = vector.expect
  if (vector.version !== undefined && vector.version !== 1 && vector.version !== 2) {
    return [`unsupported vector format version ${JSON.stringify(vector.version)}`]
  }
  if (vector.mode !== 'raw' && vector.mode !== 'timestamped') {
    return [`vector mode must be "raw" or "timestamped", got ${JSON.stringify(vector.mode)}`]
  }
  for (const field of ['stdout', ...COUNTERS]) {
    if (!expect || !(field in expect)) return [`vector lacks expect.${field}`]
  }

  const acc = new StdoutAccumulator({ capBytes: vector.capBytes, timestamps: vector.mode === 'timestamped' })
  const delivered = []
  const take = (what, value) => {
    if (!isPlainUint8Array(value)) {
      problems.push(`${what} returned ${Object.prototype.toString.call(value)}, not a plain Uint8Array`)
      return
    }
    // Copy: a later call must not be able to change what an earlier one returned.
    delivered.push(value.slice())
  }
  vector.reads.forEach((read, r) => {
    take(`reads[${r}] beginRead()`, acc.beginRead())
    read.chunks.forEach((chunk, c) => {
      if (!fastPath) {
        take(`reads[${r}].chunks[${c}] push()`, acc.push(chunkBytes(chunk)))
        return
      }
      // The fast path: a count, and the new bytes only when asked for (as a live tail would).
      const before = acc.stdoutLength
      const count = acc.pushCount(chunkBytes(chunk))
      if (typeof count !== 'number' || acc.stdoutLength !== before + count) {
        problems.push(`reads[${r}].chunks[${c}] pushCount() returned ${count}, stdoutLength went ${before} -> ${acc.stdoutLength}`)
      }
      take(`reads[${r}].chunks[${c}] stdoutSlice(${before})`, acc.stdoutSlice(before))
    })
    if (read.end === false) {
      if (explicitAbandon) take(`reads[${r}] abandonRead()`, acc.abandonRead())
    } else {
      take(`reads[${r}] endRead()`, acc.endRead())
    }
  })

  const first = acc.finish()
  const second = acc.finish()
  const expectedStdout = chunkBytes(expect.stdout)

  if (!isPlainUint8Array(first.stdout)) {
    problems.push(`finish().stdout is ${Object.prototype.toString.call(first.stdout)}, not a Uint8Array`)
  } else if (!sameBytes(first.stdout, expectedStdout)) {
    const at = firstDifference(first.stdout, expectedStdout)
    problems.push(
      `stdout differs at byte ${at}: got ${show(first.stdout)}, expected ${show(expectedStdout)}`,
    )
  }
  if ('text' in expect && first.text !== expect.text) {
    problems.push(`text: got ${JSON.stringify(first.text)}, expected ${JSON.stringify(expect.text)}`)
  }
  for (const field of COUNTERS) {
    if (first[field] !== expect[field]) {
      problems.push(`${field}: got ${JSON.stringify(first[field])}, expected ${JSON.stringify(expect[field])}`)
    }
  }
  const streamed = concat(delivered)
  if (!sameBytes(streamed, expectedStdout)) {
    problems.push(
      `bytes returned by beginRead()/push()/endRead()/abandonRead() differ from expect.stdout at byte ${firstDifference(streamed, expectedStdout)}: ` +
        `got ${show(streamed)}, expected ${show(expectedStdout)}`,
    )
  }
  const secondStdout = second.stdout instanceof Uint8Array ? second.stdout : new Uint8Array(0)
  const sameSnapshot =
    sameBytes(secondStdout, first.stdout instanceof Uint8Array ? first.stdout : new Uint8Array(0)) &&
    second.text === first.text &&
    COUNTERS.every((field) => second[field] === first[field])
  if (!sameSnapshot) problems.push('a second finish() returned a different result than the first')
  if (fastPath && (acc.stdoutLength !== first.stdout.length || !sameBytes(acc.stdoutSlice(), first.stdout))) {
    problems.push(`stdoutLength ${acc.stdoutLength} / stdoutSlice() differ from finish().stdout (${first.stdout.length} bytes)`)
  }
  return problems
}

/** The ways every vector is run: each abandon style, through `push` and through the fast path. */
export const VECTOR_STYLES = [false, true].flatMap((explicitAbandon) =>
  [false, true].map((fastPath) => ({
    explicitAbandon,
    fastPath,
    style: `${explicitAbandon ? 'explicit abandonRead()' : 'implicit abandon'}${fastPath ? ', pushCount()' : ''}`,
  })),
)

/**
 * Runs every vector in both abandon styles, through `push` and through the fast path; returns `{ passed, failed, failures }` where a failure
 * is `{ name, style, problems }`. Used where one call must report everything (the browser page).
 */
export function runVectors(StdoutAccumulator, vectors) {
  const failures = []
  let passed = 0
  for (const vector of vectors) {
    for (const { explicitAbandon, fastPath, style } of VECTOR_STYLES) {
      let problems
      try {
        problems = checkVector(StdoutAccumulator, vector, { explicitAbandon, fastPath })
      } catch (error) {
        problems = [`threw ${error && error.stack ? error.stack : String(error)}`]
      }
      if (problems.length === 0) passed++
      else failures.push({ name: vector.name, style, problems })
    }
  }
  return { passed, failed: failures.length, failures }
}
