// The wasm package (bindings/wasm/pkg, ESM built with `wasm-bindgen --target web`) in Node,
// initialised with the bytes of its .wasm file as a Node user would.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { apiCases } from '../shared/api-cases.js'
import { loadVectors, wasmPackage, wasmPkgDir } from '../shared/node-helpers.js'
import { VECTOR_STYLES, checkVector } from '../shared/vector-runner.js'

const { moduleUrl, bytes } = wasmPackage()
const wasm = await import(moduleUrl)
await wasm.default({ module_or_path: bytes })
const { StdoutAccumulator } = wasm

describe('wasm StdoutAccumulator: API and bad input', () => {
  for (const { name, run } of apiCases) test(name, () => run(StdoutAccumulator, 'wasm'))
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

describe('wasm package', () => {
  test('package.json points at the built files and the declarations cover the API', () => {
    const pkg = JSON.parse(readFileSync(join(wasmPkgDir, 'package.json'), 'utf8'))
    assert.equal(pkg.type, 'module')
    for (const file of pkg.files) readFileSync(join(wasmPkgDir, file)) // throws when missing
    const dts = readFileSync(join(wasmPkgDir, pkg.types), 'utf8')
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
      'export default function __wbg_init',
    ]) {
      assert.ok(dts.includes(member), `${pkg.types} lacks ${member}`)
    }
  })
})
