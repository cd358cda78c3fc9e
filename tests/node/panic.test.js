// Proves that a Rust panic inside the addon becomes a thrown Error, poisons only that accumulator,
// and never takes the Node process down. Uses the test-only build (cargo feature `test-hooks`,
// built by `scripts/build-node.sh --with-test-hooks`), whose hidden __armPanicForTest() makes the
// next call on that object panic inside the binding's panic containment.
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

import { repoRoot } from '../shared/node-helpers.js'

const hooksDir = join(repoRoot, 'tests', 'node', '.cache', 'test-hooks')
const addonFile = existsSync(hooksDir) ? readdirSync(hooksDir).find((f) => f.endsWith('.node')) : undefined
if (!addonFile) {
  throw new Error(`no test-hooks addon in ${hooksDir}: run bash scripts/build-node.sh --with-test-hooks`)
}
const { StdoutAccumulator } = createRequire(import.meta.url)(join(hooksDir, addonFile))
const enc = (text) => new TextEncoder().encode(text)

const POISONED = /^accumulator is unusable after an internal error: push panicked: panic injected by the test hook$/

test('a panic in push becomes a thrown Error and poisons that accumulator', () => {
  const acc = new StdoutAccumulator({ capBytes: 100 })
  acc.beginRead()
  acc.push(enc('before\n'))
  acc.__armPanicForTest()
  assert.throws(() => acc.push(enc('boom\n')), (error) => {
    assert.equal(error.constructor, Error)
    assert.match(error.message, /^internal error in StdoutAccumulator: push panicked: panic injected by the test hook; this accumulator is now unusable$/)
    return true
  })
  // Every later call fails clearly instead of returning bytes from a possibly half-updated state.
  assert.throws(() => acc.push(enc('after\n')), { message: POISONED })
  assert.throws(() => acc.endRead(), { message: POISONED })
  assert.throws(() => acc.beginRead(), { message: POISONED })
  assert.throws(() => acc.abandonRead(), { message: POISONED })
  assert.throws(() => acc.finish(), { message: POISONED })
})

test('a panic in pushCount (its plain Node-API callback) is contained the same way', () => {
  const acc = new StdoutAccumulator({ capBytes: 100 })
  acc.beginRead()
  assert.equal(acc.pushCount(enc('before\n')), 7)
  acc.__armPanicForTest()
  assert.throws(() => acc.pushCount(enc('boom\n')), (error) => {
    assert.equal(error.constructor, Error)
    assert.match(error.message, /^internal error in StdoutAccumulator: pushCount panicked: panic injected by the test hook; this accumulator is now unusable$/)
    return true
  })
  assert.throws(() => acc.pushCount(enc('after\n')), { message: /^accumulator is unusable after an internal error: pushCount panicked/ })
  assert.throws(() => acc.finish(), { message: /^accumulator is unusable after an internal error: pushCount panicked/ })
})

test('a panic in finish is contained the same way', () => {
  const acc = new StdoutAccumulator({ capBytes: 100 })
  acc.__armPanicForTest()
  assert.throws(() => acc.finish(), { message: /^internal error in StdoutAccumulator: finish panicked: panic injected by the test hook/ })
  assert.throws(() => acc.finish(), { message: /^accumulator is unusable after an internal error: finish panicked/ })
})

test('a panic in skippableAhead or trySkip (plain Node-API callbacks too) is contained the same way', () => {
  for (const [name, call] of [
    ['skippableAhead', (acc) => acc.skippableAhead()],
    ['trySkip', (acc) => acc.trySkip(0)],
  ]) {
    const acc = new StdoutAccumulator({ capBytes: 100 })
    acc.beginRead()
    acc.__armPanicForTest()
    assert.throws(() => call(acc), (error) => {
      assert.equal(error.constructor, Error)
      assert.match(error.message, new RegExp(`^internal error in StdoutAccumulator: ${name} panicked: panic injected by the test hook; this accumulator is now unusable$`))
      return true
    })
    assert.throws(() => call(acc), { message: new RegExp(`^accumulator is unusable after an internal error: ${name} panicked`) })
    assert.throws(() => acc.pushCount(enc('after\n')), { message: new RegExp(`^accumulator is unusable after an internal error: ${name} panicked`) })
  }
})

test('other accumulators and the process are unaffected by a contained panic', () => {
  const broken = new StdoutAccumulator({ capBytes: 100 })
  const healthy = new StdoutAccumulator({ capBytes: 100 })
  healthy.beginRead()
  broken.__armPanicForTest()
  assert.throws(() => broken.beginRead(), { message: /panicked/ })
  healthy.push(enc('still fine\n'))
  healthy.endRead()
  assert.equal(healthy.finish().text, 'still fine\n')
  // Reaching this line at all means the process survived the panics above.
  assert.equal(typeof process.pid, 'number')
})
