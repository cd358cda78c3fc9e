// The wasm package (bindings/wasm/pkg, ESM built with `wasm-bindgen --target web`) in Node,
// initialised with the bytes of its .wasm file as a Node user would.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { apiCases, checkRawPollCrossings, internalSettlePushCount } from '../shared/api-cases.js'
import { loadVectors, wasmPackage, wasmPkgDir } from '../shared/node-helpers.js'
import { VECTOR_STYLES, checkVector } from '../shared/vector-runner.js'

const { moduleUrl, bytes } = wasmPackage()
const wasm = await import(moduleUrl)
await wasm.default({ module_or_path: bytes })
const { StdoutAccumulator } = wasm

describe('wasm StdoutAccumulator: API and bad input', () => {
  for (const { name, run } of apiCases) test(name, () => run(StdoutAccumulator, 'wasm'))

  test('pushCount of raw polls: the package hands over only the chunks the accumulator looks at, one crossing each', async () => {
    // A second instance of the glue (another module URL), imported without the package's entry:
    // its class has no JS side.
    const bare = await import(`${new URL('tale_sandbox_wasm.js', moduleUrl).href}?bare`)
    bare.initSync({ module: bytes })
    const Bare = bare.StdoutAccumulator
    assert.notEqual(Bare, StdoutAccumulator)
    assert.notEqual(Bare.prototype.pushCount, StdoutAccumulator.prototype.pushCount)
    const { installSkipLayer } = await import(new URL('skip-layer.js', moduleUrl).href)
    internalSettlePushCount(Bare, 'wasm')
    checkRawPollCrossings(Bare, installSkipLayer)
  })
})

describe('wasm StdoutAccumulator: shared vectors', () => {
  const vectors = loadVectors()
  test('tests/vectors/ holds vectors', () => assert.ok(vectors.length > 0, 'no *.json vector in tests/vectors/'))
  for (const vector of vectors) {
    for (const { explicitAbandon, fastPath, style } of VECTOR_STYLES) {
      test(`${vector.file} (${style})`, () => {
        assert.deepEqual(checkVector(StdoutAccumulator, vector, { explicitAbandon, fastPath }), [])
      })
    }
  }
})

describe('wasm StdoutAccumulator: chunks looked at in small pieces', () => {
  // Deep in a raw response the binding offers a chunk it must look at in 4 KiB pieces, so that
  // only the piece with the checked window is copied into wasm memory. Where a new file is
  // found, what is kept of it and how the bytes are counted must not depend on that: 64 KiB
  // chunks (small pieces past the first 128 KiB) must give what one chunk per response (64 KiB
  // pieces throughout) gives, after every poll, in every scenario below.
  const MIB = 1024 * 1024
  /** `length` deterministic bytes of "file" `seed` (lines of printable text). */
  const file = (seed, length) => {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) out[i] = i % 80 === 79 ? 10 : 33 + ((i * 31 + seed * 7 + (i >> 12)) % 90)
    return out
  }
  /** `base` with the bytes in [from, to) replaced by those of another file. */
  const differing = (base, from, to) => {
    const out = base.slice()
    out.set(file(9, to - from), from)
    return out
  }
  const a = file(1, 3 * MIB)
  const scenarios = {
    'growing file': [a.subarray(0, MIB), a.subarray(0, MIB + 5000), a.subarray(0, 2 * MIB), a],
    'rotation found in the last 4 KiB consumed': [a.subarray(0, MIB), differing(a, MIB - 1000, 2 * MIB).subarray(0, 2 * MIB), differing(a, MIB - 1000, 2 * MIB).subarray(0, 2 * MIB)],
    'rotation found at the 1 MiB sample': [a.subarray(0, 2 * MIB), differing(a, MIB + 10, MIB + 20000).subarray(0, 2 * MIB + 7), differing(a, MIB + 10, MIB + 20000)],
    'rotation found in the last 4 KiB of a 100 kB file': [a.subarray(0, 100000), differing(a, 98000, 300000).subarray(0, 300000), differing(a, 98000, 300000).subarray(0, 300000)],
    'rotation to a shorter file': [a.subarray(0, 2 * MIB), a.subarray(0, 300000), a.subarray(0, 400000)],
    'rotation found deep, stdout full': [a.subarray(0, MIB), differing(a, 700000, 800000).subarray(0, 2 * MIB)],
  }
  const counts = (acc) => ({ ...acc.byteCounts() })
  const outcome = (acc) => {
    const { stdout, ...rest } = acc.finish()
    return { ...rest, text: undefined, stdout: Buffer.from(stdout).toString('base64') }
  }
  for (const [name, polls] of Object.entries(scenarios)) {
    test(name, () => {
      for (const capBytes of [4 * MIB, MIB + 100000]) {
        const pieces = new StdoutAccumulator({ capBytes })
        const whole = new StdoutAccumulator({ capBytes })
        polls.forEach((snapshot, poll) => {
          pieces.beginRead()
          whole.beginRead()
          let accepted = 0
          for (let at = 0; at < snapshot.length; at += 65536) accepted += pieces.pushCount(snapshot.subarray(at, at + 65536))
          accepted += pieces.endRead().length
          const acceptedWhole = whole.pushCount(snapshot) + whole.endRead().length
          const where = `cap ${capBytes}, poll ${poll}`
          assert.equal(accepted, acceptedWhole, `${where}: bytes accepted`)
          assert.deepEqual(counts(pieces), counts(whole), `${where}: byteCounts()`)
          assert.deepEqual(outcome(pieces), outcome(whole), `${where}: finish()`)
        })
        pieces.free()
        whole.free()
      }
    })
  }
  test('the scenarios do reach the cases they are named after', () => {
    const acc = new StdoutAccumulator({ capBytes: 4 * MIB })
    for (const snapshot of scenarios['rotation found in the last 4 KiB consumed'].slice(0, 2)) {
      acc.beginRead()
      for (let at = 0; at < snapshot.length; at += 65536) acc.pushCount(snapshot.subarray(at, at + 65536))
      acc.endRead()
    }
    // The new file is found deep in the response: its start is kept, the rest waits for the next poll.
    const { rotations, gaps, truncated } = acc.finish()
    assert.deepEqual({ rotations, truncated }, { rotations: 1, truncated: true })
    assert.ok(gaps >= 1)
    acc.free()
  })
})

describe('wasm package', () => {
  test('package.json points at the built files and the declarations cover the API', () => {
    const pkg = JSON.parse(readFileSync(join(wasmPkgDir, 'package.json'), 'utf8'))
    assert.equal(pkg.type, 'module')
    for (const file of pkg.files) readFileSync(join(wasmPkgDir, file)) // throws when missing
    assert.equal(pkg.types, 'index.d.ts')
    assert.equal(pkg.exports['.'].default, './index.js')
    // The entry re-exports the glue (with the JS side of pushCount installed) and its types.
    const entry = readFileSync(join(wasmPkgDir, 'index.js'), 'utf8')
    assert.match(entry, /installSkipLayer\(StdoutAccumulator\)/)
    assert.match(entry, /export \* from '\.\/tale_sandbox_wasm\.js'/)
    assert.match(readFileSync(join(wasmPkgDir, pkg.types), 'utf8'), /export \* from '\.\/tale_sandbox_wasm\.js'/)
    const dts = readFileSync(join(wasmPkgDir, 'tale_sandbox_wasm.d.ts'), 'utf8')
    for (const member of [
      'export class StdoutAccumulator',
      'constructor(options: StdoutAccumulatorOptions)',
      'beginRead(): Uint8Array',
      'push(chunk: Uint8Array): Uint8Array',
      'endRead(): Uint8Array',
      'abandonRead(): Uint8Array',
      'finish(): StdoutOutcome',
      'pushCount(chunk: Uint8Array): number',
      'readonly stdoutLength: number',
      'stdoutSlice(start?: number | null, end?: number | null): Uint8Array',
      'export interface StdoutOutcome',
      'malformed: number',
      'skippableAhead(): number',
      'trySkip(length: number): boolean',
      'readonly timestamps: boolean',
      'export default function __wbg_init',
    ]) {
      assert.ok(dts.includes(member), `${pkg.types} lacks ${member}`)
    }
    // The internal one-crossing push is not declared on the class (the JS side deletes it from
    // the prototype); only the module's raw export list (InitOutput) names its wasm export.
    const classDeclaration = dts.slice(dts.indexOf('export class StdoutAccumulator'), dts.indexOf('\n}\n', dts.indexOf('export class StdoutAccumulator')))
    assert.match(classDeclaration, /pushCount\(chunk: Uint8Array\): number/)
    assert.ok(!classDeclaration.includes('__settlePushCount'), 'the class declaration names __settlePushCount')
  })
})
