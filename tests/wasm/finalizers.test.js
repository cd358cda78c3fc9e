// The wasm package needs no free(): an accumulator's memory in the module is released when the
// garbage collector takes its JS object (wasm-bindgen's FinalizationRegistry). 100 000
// accumulators created and dropped without free() must leave the module's linear memory flat,
// while the same number kept alive would grow it by hundreds of MiB (checked on a smaller count,
// so the measurement is shown to see a leak). The bundler build is checked to be the same module.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

import { wasmPackage, wasmPkgDir } from '../shared/node-helpers.js'

setFlagsFromString('--expose-gc')
const gc = globalThis.gc ?? runInNewContext('gc')

const { moduleUrl, bytes } = wasmPackage()
const wasm = await import(moduleUrl)
const exports = await wasm.default({ module_or_path: bytes })
const { StdoutAccumulator } = wasm
const MiB = 1024 * 1024
const memoryBytes = () => exports.memory.buffer.byteLength

// Each accumulator takes a line, so its stdout buffer (4 KiB at least) is allocated.
const body = new TextEncoder().encode('2024-05-01T10:20:30.000000001Z a line of output\n')

function use(acc) {
  acc.beginRead()
  acc.push(body)
  acc.endRead()
  return acc.finish().totalBytes
}

/** Lets the finalizers run: a full GC, then turns of the event loop for the cleanup callbacks. */
async function collect() {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('wasm package without free()', () => {
  test('100 000 accumulators dropped without free() keep the module memory flat', async () => {
    let seen = 0
    const batch = async (n) => {
      for (let i = 0; i < n; i++) seen += use(new StdoutAccumulator({ capBytes: MiB, timestamps: true }))
      await collect()
    }
    // Warm up: the allocator's own structures settle.
    for (let b = 0; b < 2; b++) await batch(5000)
    const warm = memoryBytes()
    for (let b = 0; b < 18; b++) await batch(5000)
    const after = memoryBytes()
    assert.equal(seen, 100_000 * 17)
    // Without finalizers the 90 000 later accumulators alone would hold >= 350 MiB.
    assert.ok(after - warm <= 4 * MiB, `module memory grew from ${warm} to ${after} bytes over 90 000 dropped accumulators`)
    console.log(`wasm memory: ${(warm / MiB).toFixed(1)} MiB after 10 000 accumulators, ${(after / MiB).toFixed(1)} MiB after 100 000`)
  })

  test('the measurement sees accumulators that are kept alive (so the bound above can fail)', async () => {
    const before = memoryBytes()
    const kept = []
    for (let i = 0; i < 20_000; i++) {
      const acc = new StdoutAccumulator({ capBytes: MiB, timestamps: true })
      use(acc)
      kept.push(acc)
    }
    await collect()
    // 20 000 live accumulators hold >= 80 MiB; less than the first test's slack could absorb.
    assert.ok(memoryBytes() - before >= 40 * MiB, `20 000 live accumulators grew the memory only by ${memoryBytes() - before} bytes`)
    for (const acc of kept) acc.free() // explicit free() still works, and a double free is refused
    assert.throws(() => kept[0].beginRead())
  })

  const noDispose = typeof Symbol.dispose !== 'symbol' && 'this Node has no Symbol.dispose'
  test('Symbol.dispose frees an accumulator where the runtime defines it', { skip: noDispose }, () => {
    const acc = new StdoutAccumulator({ capBytes: 64 })
    assert.equal(typeof acc[Symbol.dispose], 'function')
    acc[Symbol.dispose]()
    assert.throws(() => acc.beginRead())
  })

  test('the bundler build is the same module, typed', () => {
    const dir = join(wasmPkgDir, 'bundler')
    const glue = readFileSync(join(dir, 'tale_sandbox_wasm_bg.js'), 'utf8')
    assert.match(glue, /FinalizationRegistry/)
    assert.match(readFileSync(join(dir, 'tale_sandbox_wasm.js'), 'utf8'), /import \* as wasm from ["']\.\/tale_sandbox_wasm_bg\.wasm["']/)
    assert.deepEqual(readFileSync(join(dir, 'tale_sandbox_wasm_bg.wasm')), readFileSync(join(wasmPkgDir, 'tale_sandbox_wasm_bg.wasm')))
    const dts = readFileSync(join(dir, 'tale_sandbox_wasm.d.ts'), 'utf8')
    for (const member of ['export class StdoutAccumulator', 'byteCounts(): ByteCounts', 'export interface ByteCounts']) {
      assert.ok(dts.includes(member), `bundler .d.ts lacks ${member}`)
    }
    const pkg = JSON.parse(readFileSync(join(wasmPkgDir, 'package.json'), 'utf8'))
    for (const file of pkg.files) readFileSync(join(wasmPkgDir, file))
    // The entry installs the JS side of pushCount over the glue, as the package root's does.
    assert.equal(pkg.exports['./bundler'].default, './bundler/index.js')
    assert.equal(pkg.exports['./bundler'].types, './bundler/index.d.ts')
    const entry = readFileSync(join(dir, 'index.js'), 'utf8')
    assert.match(entry, /from '\.\/tale_sandbox_wasm\.js'/)
    assert.match(entry, /installSkipLayer\(StdoutAccumulator\)/)
    assert.ok(pkg.sideEffects.includes('./bundler/index.js'), 'a bundler must keep the entry that installs the layer')
  })
})
