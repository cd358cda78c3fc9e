// @tale/sandbox-replay (npm/sandbox-replay) in Node with the wasm package: every shared vector and
// recording replays to its expect, each response's bytes are accounted for exactly once, bad
// files are refused with a clear error, and a tampered expect is reported.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { loadVectors, repoRoot, wasmPackage } from '../shared/node-helpers.js'

const lib = await import(new URL(`file://${join(repoRoot, 'npm', 'sandbox-replay', 'src', 'index.js')}`).href)
const { moduleUrl, bytes } = wasmPackage()
const wasm = await import(moduleUrl)
await wasm.default({ module_or_path: bytes })
const { StdoutAccumulator } = wasm

const vectors = loadVectors()

describe('@tale/sandbox-replay', () => {
  test('tests/vectors/ holds a recording (format version 2)', () => {
    assert.ok(vectors.some((v) => v.version === 2), 'no recorded-*.json vector')
  })

  for (const vector of vectors) {
    test(`${vector.file} replays to its expect, every byte counted once`, () => {
      const run = lib.assertReplayMatches(vector, StdoutAccumulator)
      assert.equal(run.matches, true)
      assert.equal(run.reads.length, vector.reads.length)
      let stream = 0
      for (const r of run.reads) {
        const wire = vector.reads[r.index].chunks.reduce((n, c) => n + lib.chunkBytes(c).length, 0)
        assert.equal(r.wire, wire, `read ${r.index}: wire`)
        assert.equal(r.accepted + r.duplicate + r.skipped + r.framing, r.wire, `read ${r.index}: ${JSON.stringify(r)}`)
        if (vector.mode === 'raw') assert.equal(r.framing, 0)
        assert.equal(r.streamStart, stream)
        stream = r.streamEnd
      }
      assert.equal(stream, vector.expect.totalBytes)
      assert.equal(run.reads.reduce((n, r) => n + r.gaps, 0), vector.expect.gaps)
    })
  }

  test('a recording shows its re-served overlap as duplicates and its cuts', () => {
    const recording = vectors.find((v) => v.version === 2)
    const run = lib.replay(recording, StdoutAccumulator)
    assert.ok(run.reads.some((r) => r.how === 'cut'), 'the recording has cut responses')
    const resumed = run.reads.filter((r) => r.query?.sinceTime)
    assert.ok(resumed.length > 0)
    assert.ok(resumed.every((r) => r.duplicate > 0), 'every sinceTime resume re-serves the last line group')
  })

  test('bad files are refused with a clear TypeError', () => {
    const base = { name: 'n', description: 'd', capBytes: 4, mode: 'raw', reads: [] }
    assert.throws(() => lib.parseRecording('{'), { name: 'TypeError', message: /invalid JSON/ })
    assert.throws(() => lib.parseRecording({ ...base, version: 3 }), /unsupported format version 3/)
    assert.throws(() => lib.parseRecording({ ...base, mode: 'x' }), /mode must be/)
    assert.throws(() => lib.parseRecording({ ...base, capBytes: 0 }), /capBytes/)
    assert.throws(() => lib.parseRecording({ ...base, reads: [{ chunks: [], kind: 'poll' }] }), /needs "version": 2/)
    assert.throws(() => lib.chunkBytes({ base64: '!!' }), /bad base64/)
    assert.deepEqual(lib.chunkBytes({ base64: '4oI=' }), new Uint8Array([0xe2, 0x82]))
    assert.deepEqual(lib.parseRecording(new TextEncoder().encode(JSON.stringify(base))).reads, [])
  })

  test('a tampered expect is reported, and explicit expectations are checked', () => {
    const vector = structuredClone(vectors.find((v) => v.name === 't1-rotation-on-final-poll'))
    vector.expect.gaps = 0
    vector.expect.stdout = 'AAAAABBX'
    assert.throws(() => lib.assertReplayMatches(vector, StdoutAccumulator), /stdout differs at byte 7.*gaps: got 1, expected 0/)
    const run = lib.assertReplayMatches(vector, StdoutAccumulator, { stdout: 'AAAAABBB', gaps: 1, truncated: true })
    assert.equal(run.result.text, 'AAAAABBB')
    assert.throws(() => lib.assertReplayMatches(vector, StdoutAccumulator, { rotations: 2 }), /rotations: got 1, expected 2/)
  })

  test('sha256Hex agrees with node:crypto', async () => {
    const data = new TextEncoder().encode('stdout bytes')
    assert.equal(await lib.sha256Hex(data), createHash('sha256').update(data).digest('hex'))
  })

  test('the package declares every export', () => {
    const dts = readFileSync(join(repoRoot, 'npm', 'sandbox-replay', 'src', 'index.d.ts'), 'utf8')
    for (const name of Object.keys(lib)) assert.match(dts, new RegExp(`export declare (const|function) ${name}\\b`), name)
  })
})
