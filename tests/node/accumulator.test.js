// The napi addon, loaded through the @tale/sandbox-native package loader (npm/sandbox-native).
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { apiCases, checkRawPollCrossings, internalSettlePushCount } from '../shared/api-cases.js'
import { loadVectors, repoRoot } from '../shared/node-helpers.js'
import { VECTOR_STYLES, checkVector } from '../shared/vector-runner.js'

const require = createRequire(import.meta.url)
const { StdoutAccumulator } = require(join(repoRoot, 'npm', 'sandbox-native'))

describe('napi StdoutAccumulator: API and bad input', () => {
  for (const { name, run } of apiCases) test(name, () => run(StdoutAccumulator, 'node'))

  test('pushCount of raw polls: the package hands over only the chunks the accumulator looks at, one crossing each', () => {
    // A second instance of the addon, loaded without the package loader: its class has no JS side.
    const dir = join(repoRoot, 'npm', 'sandbox-native')
    const file = readdirSync(dir).find((name) => /^sandbox-native\..*\.node$/.test(name))
    const bare = { exports: {} }
    process.dlopen(bare, join(dir, file))
    const Bare = bare.exports.StdoutAccumulator
    assert.notEqual(Bare, StdoutAccumulator)
    assert.notEqual(Bare.prototype.pushCount, StdoutAccumulator.prototype.pushCount)
    const { installSkipLayer } = require(join(dir, 'skip-layer.js'))
    internalSettlePushCount(Bare, 'node')
    checkRawPollCrossings(Bare, installSkipLayer)
  })

  test('accepts a Node Buffer as a chunk', () => {
    const acc = new StdoutAccumulator({ capBytes: 100 })
    acc.beginRead()
    const accepted = Buffer.concat([acc.push(Buffer.from('buffered\n')), acc.endRead()])
    assert.equal(accepted.toString(), 'buffered\n')
    assert.equal(acc.finish().text, 'buffered\n')
  })

  test('pushCount (a plain Node-API callback on the prototype) refuses any receiver but a StdoutAccumulator', () => {
    const { pushCount, push } = StdoutAccumulator.prototype
    // Same property attributes as the methods napi-rs defines.
    const attributes = (name) => {
      const { writable, enumerable, configurable } = Object.getOwnPropertyDescriptor(StdoutAccumulator.prototype, name)
      return { writable, enumerable, configurable }
    }
    assert.deepEqual(attributes('pushCount'), attributes('push'))
    assert.equal(pushCount.name, 'pushCount')
    const lookalike = Object.create(StdoutAccumulator.prototype)
    const retagged = Object.setPrototypeOf({ capBytes: 1 }, StdoutAccumulator.prototype)
    for (const receiver of [{}, lookalike, retagged, undefined, null, 42, 'text', push]) {
      assert.throws(() => pushCount.call(receiver, new Uint8Array(1)), {
        name: 'TypeError',
        message: 'pushCount: the receiver is not a StdoutAccumulator',
      })
    }
    // A real accumulator through the detached function works.
    const acc = new StdoutAccumulator({ capBytes: 10 })
    acc.beginRead()
    assert.equal(pushCount.call(acc, Buffer.from('ok')), 2)
    assert.throws(() => acc.pushCount(), { name: 'TypeError', message: /^StdoutAccumulator\.push\(chunk\): chunk must be a Uint8Array, got undefined/ })
    assert.throws(() => acc.pushCount(new DataView(new ArrayBuffer(2))), TypeError)
    assert.equal(acc.stdoutLength, 2)
    // skippableAhead and trySkip are plain callbacks too, under the package's JS side.
    const { skippableAhead, trySkip } = StdoutAccumulator.prototype
    assert.deepEqual([attributes('skippableAhead'), attributes('trySkip')], [attributes('push'), attributes('push')])
    assert.deepEqual([skippableAhead.name, trySkip.name], ['skippableAhead', 'trySkip'])
    for (const receiver of [{}, lookalike, retagged, undefined, null, 42, 'text', push]) {
      assert.throws(() => skippableAhead.call(receiver), { name: 'TypeError', message: 'skippableAhead: the receiver is not a StdoutAccumulator' })
      assert.throws(() => trySkip.call(receiver, 1), { name: 'TypeError', message: 'trySkip: the receiver is not a StdoutAccumulator' })
    }
    assert.equal(Object.getOwnPropertySymbols(lookalike).length, 0, 'the JS side left nothing on a wrong receiver')
    assert.equal(skippableAhead.call(acc), 0)
    assert.equal(trySkip.call(acc, 0), false)
  })

  test('pushCount reads Buffers and views at an offset exactly as push does', () => {
    const backing = Buffer.from('xxxxhello world\nsecond line\nyyyy')
    const chunks = [backing.subarray(4, 10), new Uint8Array(backing.buffer, backing.byteOffset + 10, 6), Buffer.alloc(0), backing.subarray(16, 28)]
    for (const timestamps of [false, true]) {
      const slow = new StdoutAccumulator({ capBytes: 20, timestamps })
      const fast = new StdoutAccumulator({ capBytes: 20, timestamps })
      slow.beginRead()
      fast.beginRead()
      for (const chunk of chunks) {
        const before = fast.stdoutLength
        const n = fast.pushCount(chunk)
        assert.deepEqual(fast.stdoutSlice(before), slow.push(chunk))
        assert.equal(fast.stdoutLength, before + n)
      }
      assert.deepEqual(fast.endRead(), slow.endRead())
      const [a, b] = [slow.finish(), fast.finish()]
      assert.deepEqual({ ...b, stdout: [...b.stdout] }, { ...a, stdout: [...a.stdout] })
    }
  })

  test('the shipped addon has no panic trigger', () => {
    const acc = new StdoutAccumulator({ capBytes: 100 })
    assert.equal(acc.__armPanicForTest, undefined)
    assert.deepEqual(Object.getOwnPropertyNames(StdoutAccumulator.prototype).sort(), [
      'abandonRead',
      'beginRead',
      'constructor',
      'endRead',
      'finish',
      'push',
      'pushCount',
      'skippableAhead',
      'stdoutLength',
      'stdoutSlice',
      'timestamps',
      'trySkip',
    ])
    // Nor is the internal one-crossing push declared (the JS side deleted it from the class).
    assert.ok(!readFileSync(join(repoRoot, 'npm', 'sandbox-native', 'index.d.ts'), 'utf8').includes('__settlePushCount'))
  })
})

describe('napi StdoutAccumulator: shared vectors', () => {
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
