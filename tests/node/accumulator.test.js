// The napi addon, loaded through the @tale/sandbox-native package loader (npm/sandbox-native).
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { apiCases } from '../shared/api-cases.js'
import { loadVectors, repoRoot } from '../shared/node-helpers.js'
import { VECTOR_STYLES, checkVector } from '../shared/vector-runner.js'

const require = createRequire(import.meta.url)
const { StdoutAccumulator } = require(join(repoRoot, 'npm', 'sandbox-native'))

describe('napi StdoutAccumulator: API and bad input', () => {
  for (const { name, run } of apiCases) test(name, () => run(StdoutAccumulator, 'node'))

  test('accepts a Node Buffer as a chunk', () => {
    const acc = new StdoutAccumulator({ capBytes: 100 })
    acc.beginRead()
    const accepted = Buffer.concat([acc.push(Buffer.from('buffered\n')), acc.endRead()])
    assert.equal(accepted.toString(), 'buffered\n')
    assert.equal(acc.finish().text, 'buffered\n')
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
      'stdoutLength',
      'stdoutSlice',
    ])
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
