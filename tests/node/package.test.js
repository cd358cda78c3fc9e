// The npm packaging of the addon: the @tale/sandbox-native loader, its error when the addon is
// missing, the platform packages, and the committed TypeScript declarations.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, test } from 'node:test'

import { repoRoot } from '../shared/node-helpers.js'

const require = createRequire(import.meta.url)
const npmDir = join(repoRoot, 'npm')
const mainDir = join(npmDir, 'sandbox-native')
const mainPackage = JSON.parse(readFileSync(join(mainDir, 'package.json'), 'utf8'))
const scratch = mkdtempSync(join(tmpdir(), 'tale-sandbox-loader-'))
after(() => rmSync(scratch, { recursive: true, force: true }))

const localAddon = readdirSync(mainDir).find((f) => /^sandbox-native\..+\.node$/.test(f))
const platform = localAddon && localAddon.slice('sandbox-native.'.length, -'.node'.length)

/** A copy of the main package as published (loader, no addon) under <dir>/node_modules/@tale/. */
function installLoaderOnly(dir) {
  const target = join(dir, 'node_modules', '@tale', 'sandbox-native')
  mkdirSync(target, { recursive: true })
  for (const file of [...mainPackage.files, 'package.json']) copyFileSync(join(mainDir, file), join(target, file))
  return target
}

test('the local build is present and loads through the package entry point', () => {
  assert.ok(localAddon, `no sandbox-native.<platform>.node in ${mainDir}: run bash scripts/build-node.sh`)
  const { StdoutAccumulator } = require(mainDir)
  assert.equal(typeof StdoutAccumulator, 'function')
})

test('without a local build or platform package, loading fails with a clear, actionable error', () => {
  const dir = join(scratch, 'missing')
  const pkg = installLoaderOnly(dir)
  assert.throws(() => require(pkg), (error) => {
    assert.equal(error.code, 'ERR_TALE_SANDBOX_NATIVE_MISSING')
    assert.match(error.message, new RegExp(`no native addon for this platform \\(${platform}\\)`))
    assert.ok(error.message.includes(join(pkg, `sandbox-native.${platform}.node`)), error.message)
    assert.ok(error.message.includes(`@tale/sandbox-native-${platform} is not installed`), error.message)
    assert.ok(error.message.includes('bash scripts/build-node.sh'), error.message)
    return true
  })
})

test('the platform package is used when there is no local build', () => {
  const dir = join(scratch, 'installed')
  const pkg = installLoaderOnly(dir)
  const platformDir = join(dir, 'node_modules', '@tale', `sandbox-native-${platform}`)
  cpSync(join(npmDir, platform), platformDir, { recursive: true })
  copyFileSync(join(mainDir, localAddon), join(platformDir, localAddon))
  const { StdoutAccumulator } = require(pkg)
  const acc = new StdoutAccumulator({ capBytes: 10 })
  acc.beginRead()
  acc.push(new TextEncoder().encode('ok\n'))
  acc.endRead()
  assert.equal(acc.finish().text, 'ok\n')
})

test('a broken platform package is reported as it is, not as a missing one', () => {
  const dir = join(scratch, 'broken')
  const pkg = installLoaderOnly(dir)
  const platformDir = join(dir, 'node_modules', '@tale', `sandbox-native-${platform}`)
  cpSync(join(npmDir, platform), platformDir, { recursive: true })
  writeFileSync(join(platformDir, localAddon), 'not a shared object')
  assert.throws(() => require(pkg), (error) => {
    assert.notEqual(error.code, 'ERR_TALE_SANDBOX_NATIVE_MISSING')
    assert.match(error.message, new RegExp(localAddon.replace(/\./g, '\\.')))
    return true
  })
})

test('every optional dependency is a platform package folder with matching name, version and os/cpu/libc', () => {
  const deps = Object.entries(mainPackage.optionalDependencies)
  assert.ok(deps.length > 0)
  for (const [name, version] of deps) {
    const folder = name.slice('@tale/sandbox-native-'.length)
    const pkg = JSON.parse(readFileSync(join(npmDir, folder, 'package.json'), 'utf8'))
    assert.equal(pkg.name, name)
    assert.equal(pkg.version, version)
    assert.equal(version, mainPackage.version)
    assert.deepEqual(pkg.files, [`sandbox-native.${folder}.node`])
    assert.equal(pkg.main, `sandbox-native.${folder}.node`)
    const [os, cpu, abi] = folder.split('-')
    assert.deepEqual(pkg.os, [os])
    assert.deepEqual(pkg.cpu, [cpu])
    if (abi === 'gnu') assert.deepEqual(pkg.libc, ['glibc'])
    if (abi === 'musl') assert.deepEqual(pkg.libc, ['musl'])
  }
})

test('the package exports exactly what index.d.ts declares, and every class needs new', () => {
  const dts = readFileSync(join(mainDir, mainPackage.types), 'utf8')
  const declared = new Map([...dts.matchAll(/^export declare (class|function|const enum|enum|const) (\w+)/gm)].map((m) => [m[2], m[1]]))
  const exported = require(mainDir)
  assert.ok(declared.size > 0)
  assert.deepEqual(Object.keys(exported).sort(), [...declared.keys()].sort())
  for (const [name, kind] of declared) {
    if (kind !== 'class') continue
    assert.throws(() => exported[name](), { name: 'TypeError', message: `Class constructor ${name} cannot be invoked without 'new'` })
  }
  for (const member of ['beginRead(): Uint8Array', 'push(chunk: Uint8Array): Uint8Array', 'endRead(): Uint8Array', 'abandonRead(): Uint8Array', 'finish(): StdoutOutcome', 'malformed: number']) {
    assert.ok(dts.includes(member), `index.d.ts lacks ${member}`)
  }
})

test('instances made with new share one hidden class, and a subclass stays the new target', () => {
  // The loader wraps each class in a Proxy (to refuse calls without new); with the Proxy as the
  // new target, V8 gave every instance a hidden class of its own (slow, megamorphic call sites).
  // %HaveSameMap needs --allow-natives-syntax, so this runs in a child process.
  const script = `
    const { StdoutAccumulator } = require(${JSON.stringify(mainDir)})
    const a = new StdoutAccumulator({ capBytes: 10 }), b = new StdoutAccumulator({ capBytes: 20, timestamps: true })
    class Mine extends StdoutAccumulator { mine() { return 'mine' } }
    const m = new Mine({ capBytes: 10 })
    m.beginRead()
    console.log(JSON.stringify({
      sameMap: %HaveSameMap(a, b),
      proto: Object.getPrototypeOf(a) === StdoutAccumulator.prototype && a instanceof StdoutAccumulator,
      sub: m instanceof Mine && m instanceof StdoutAccumulator && m.mine() === 'mine',
      subPush: m.pushCount(Buffer.from('hi\\n')),
    }))`
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '-e', script], { encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), { sameMap: true, proto: true, sub: true, subPush: 3 })
})

test('optimised code for accumulators survives a collection with none alive', () => {
  // V8 holds the hidden classes that optimised code depends on only weakly. Without the
  // loader's exemplar, a collection while no accumulator was alive (a service between two
  // executions) threw away the optimised JS side of pushCount, which then ran several times
  // slower until V8 optimised it again. Natives syntax needs its own process.
  const script = `
    const { StdoutAccumulator } = require(${JSON.stringify(mainDir)})
    const pushCount = StdoutAccumulator.prototype.pushCount
    const chunk = new Uint8Array(64 * 1024).fill(0x61)
    function execution() {
      const acc = new StdoutAccumulator({ capBytes: 1 << 20 })
      // Three polls re-serving the same 512 KiB file (raw mode): its bytes count once.
      for (let poll = 0; poll < 3; poll++) {
        acc.beginRead()
        for (let i = 0; i < 8; i++) acc.pushCount(chunk)
        acc.endRead()
      }
      return acc.finish().totalBytes
    }
    const optimised = () => (%GetOptimizationStatus(pushCount) & 16) !== 0;
    %PrepareFunctionForOptimization(pushCount);
    execution();
    execution();
    %OptimizeFunctionOnNextCall(pushCount);
    const total = execution();
    const before = optimised();
    globalThis.gc();
    globalThis.gc();
    console.log(JSON.stringify({ total, before, after: optimised() }))`
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--expose-gc', '-e', script], { encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), { total: 8 * 64 * 1024, before: true, after: true })
})

test('ESM import gives the same exports as require, through the exports map', async () => {
  assert.deepEqual(mainPackage.exports['.'], { types: './index.d.ts', import: './index.mjs', require: './index.js' })
  const esm = await import(pathToFileURL(join(mainDir, 'index.mjs')).href)
  const cjs = require(mainDir)
  assert.deepEqual(Object.keys(esm).filter((k) => k !== 'default').sort(), Object.keys(cjs).sort())
  for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], name)
  assert.equal(esm.default, cjs)
})

test('on a musl system the loader picks the musl platform package (simulated diagnostic report)', () => {
  const dir = join(scratch, 'musl')
  const pkg = installLoaderOnly(dir)
  // Stand-ins for the two platform packages: each says which one was loaded.
  for (const abi of ['gnu', 'musl']) {
    const folder = join(dir, 'node_modules', '@tale', `sandbox-native-linux-x64-${abi}`)
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ name: `@tale/sandbox-native-linux-x64-${abi}`, main: 'addon.js' }))
    writeFileSync(join(folder, 'addon.js'), `module.exports = { loaded: '${abi}' }`)
  }
  // A child process whose platform.js sees the diagnostic report of a musl Node (Alpine's).
  const muslReport = { header: { glibcVersionRuntime: undefined }, sharedObjects: ['/usr/bin/node', '/lib/ld-musl-x86_64.so.1'] }
  const script = `
    const platform = require(${JSON.stringify(join(pkg, 'platform.js'))})
    platform.linuxLibc = () => platform.libcOfReport(${JSON.stringify(muslReport)})
    console.log(require(${JSON.stringify(pkg)}).loaded)
  `
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })
  assert.equal(out.trim(), process.arch === 'x64' && process.platform === 'linux' ? 'musl' : out.trim())
})
