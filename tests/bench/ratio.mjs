// Node benchmark (issue 3, item 6): the napi addon vs the wasm package vs a JS re-implementation
// of the TypeScript service's per-poll algorithm, measured side by side in one run.
//
//   node tests/bench/ratio.mjs [--reps N] [--quick] [--clock wall|cpu] [--fresh-memory] [--only TEXT]
//
// Columns: native Rust (crates/accumulator/examples/native_side.rs, built by this script, one
// process per repetition), the napi addon, the wasm package, each of them also on its fast path
// (`napi-fast`, `wasm-fast`: `pushCount` instead of `push`, nothing copied out per push; the
// throughput workloads then check the stdout from `finish()`), and for raw polls a JS version of
// the TypeScript service's poll. --fresh-memory leaves glibc's default of returning freed memory
// to the kernel (see MALLOC_REUSE below).
//
// Every response is handed over in 64 KiB chunks made before the clock starts (response()), as a
// network client has them.
//
// Every timed run of a JS surface follows an untimed run of the same workload (warmedUp()), as
// the native side's timed run follows its warm-up in its own process.
//
// Before every timed measurement the script collects garbage and lets finalizers run (settle()),
// so every surface starts from warm, reused memory as the native side does.
//
// --only TEXT runs only the workloads whose printed name contains TEXT (e.g. `--only polls`).
//
// --clock cpu reads the process's CPU time (process.cpuUsage(), user + system, all threads)
// instead of wall time: on a shared machine it leaves out the time spent waiting for a core.
//
// Needs the built addon (bash scripts/build-node.sh) and wasm package (bash scripts/build-wasm.sh).
// Every workload runs for every implementation in each repetition (order rotated per
// repetition); the figures printed are medians over the repetitions, and every ratio is the ratio
// of medians measured in this same run.
import { execFileSync, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'

import { wasmPackage } from '../shared/node-helpers.js'
import { CHUNK, rawLog, timestampedStream } from './workload.mjs'

// A wasm instance keeps and reuses the memory it grew; glibc instead returns large freed blocks
// to the kernel, so every fresh native accumulator pays page faults for its stdout buffer again
// (here that halves native throughput). For like-with-like figures the script runs itself, the
// napi addon and the native side with glibc told to keep and reuse freed memory.
const MALLOC_REUSE = { MALLOC_MMAP_THRESHOLD_: String(2 ** 30), MALLOC_TRIM_THRESHOLD_: String(2 ** 30) }
if (process.env.MALLOC_MMAP_THRESHOLD_ === undefined && !process.argv.includes('--fresh-memory')) {
  const { status } = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...MALLOC_REUSE },
  })
  process.exit(status ?? 1)
}

const MIB = 1024 * 1024

/**
 * Lets the previous measurement's accumulators go before the next one is timed: a full GC, then
 * a turn of the event loop so that the napi objects' finalizers run and free their native
 * buffers (kept by glibc for reuse, see MALLOC_REUSE). Without it a napi accumulator's memory is
 * freed whenever V8 gets to it, and a measurement pays page faults for fresh memory that the
 * native side (which drops its accumulator at once) and wasm (which reuses its linear memory)
 * do not: most of a raw read's time in napi here. Needs --expose-gc (the re-run passes it).
 */
async function settle() {
  if (typeof globalThis.gc !== 'function') return
  for (let i = 0; i < 2; i++) {
    globalThis.gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
  // V8 finishes a collection on its worker threads (concurrent sweeping, freeing array
  // buffers): give them time to be done, or --clock cpu (which counts every thread of the
  // process) charges that work to the next measurement, a napi raw read up to 1.5x its own cost.
  // Wait busy rather than idle: on these VMs a core left idle for 100 ms ran the next few
  // milliseconds at up to half speed (the native side, a fresh process, is busy from its start
  // to its timed run), and a measurement here lasts only a few milliseconds.
  const until = performance.now() + 100
  while (performance.now() < until);
}
/**
 * Gets ready to time `once(kind)`: runs it once untimed first, as the native side does in its
 * own process before its timed run, then settles. Without that, the run timed right after a
 * native repetition (a child process that allocates and fills ~50 MiB) came out up to twice as
 * slow as the same run timed after another of its own kind (measured in pairs: napi-fast raw
 * reads alternated 8–9 ms and 4 ms with the order of the rotation), although it took no page
 * faults; with the untimed run before it, every repetition is alike.
 */
async function warmedUp(kind, once) {
  if (kind !== 'native') {
    await settle()
    once(kind)
  }
  await settle()
}

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const repsAt = args.indexOf('--reps')
const REPS = repsAt >= 0 ? Number(args[repsAt + 1]) : quick ? 3 : 9
if (!Number.isInteger(REPS) || REPS < 1) throw new Error('--reps needs a positive integer')
const onlyAt = args.indexOf('--only')
const ONLY = onlyAt >= 0 ? args[onlyAt + 1] : ''
if (onlyAt >= 0 && !ONLY) throw new Error('--only needs the text of a workload name')
/** Whether the workload named `name` runs (--only). */
const selected = (name) => name.includes(ONLY)
const clockAt = args.indexOf('--clock')
const CLOCK = clockAt >= 0 ? args[clockAt + 1] : 'wall'
if (CLOCK !== 'wall' && CLOCK !== 'cpu') throw new Error('--clock must be wall or cpu')
/** Milliseconds since an arbitrary origin, from the chosen clock. */
const now =
  CLOCK === 'wall'
    ? () => performance.now()
    : () => {
        const { user, system } = process.cpuUsage()
        return (user + system) / 1e3
      }

const require = createRequire(import.meta.url)
const napi = require('../../npm/sandbox-native/index.js')
const { moduleUrl, bytes } = wasmPackage()
const wasm = await import(moduleUrl)
await wasm.default({ module_or_path: bytes })

/** Each JS surface, with how it pushes: `push` (a copy of the accepted bytes per call) or the fast path. */
const IMPLS = {
  napi: { Class: napi.StdoutAccumulator, fast: false },
  wasm: { Class: wasm.StdoutAccumulator, fast: false },
  'napi-fast': { Class: napi.StdoutAccumulator, fast: true },
  'wasm-fast': { Class: wasm.StdoutAccumulator, fast: true },
}
const create = (kind, options) => Object.assign(new IMPLS[kind].Class(options), { fast: IMPLS[kind].fast })

// Native Rust, for the wasm/native ratio: crates/accumulator/examples/native_side.rs runs the same
// workloads (byte-identical bodies) and prints its own timing; one process per repetition.
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
execFileSync('cargo', ['build', '--quiet', '--release', '-p', 'tale-sandbox-accumulator', '--example', 'native_side'], {
  cwd: ROOT,
  stdio: 'inherit',
})
const NATIVE = join(process.env.CARGO_TARGET_DIR || join(ROOT, 'target'), 'release', 'examples', 'native_side')
/** Milliseconds printed by one run of the native side. */
function native(...args) {
  const out = execFileSync(NATIVE, ['--clock', CLOCK, ...args.map(String)], { encoding: 'utf8' })
  const ms = Number(out.trim())
  if (!Number.isFinite(ms)) throw new Error(`native_side printed ${JSON.stringify(out)}`)
  return ms
}

/** The TypeScript service's poll (spec §6.3): decode, slice at lastLogLen (UTF-16 units), re-encode. */
class TypeScriptPoller {
  constructor(capBytes) {
    this.cap = capBytes
    this.lastLogLen = 0
    this.canonicalChunks = []
    this.canonicalByteCount = 0
    this.logShrunk = false
    this.decoder = new TextDecoder()
  }

  poll({ body }) {
    const logs = this.decoder.decode(body)
    if (logs.length < this.lastLogLen) {
      this.logShrunk = true
      this.lastLogLen = 0
      return 0
    }
    if (logs.length === this.lastLogLen) return 0
    const delta = Buffer.from(logs.slice(this.lastLogLen))
    this.lastLogLen = logs.length
    const room = this.cap - this.canonicalByteCount
    if (room > 0) {
      const kept = delta.subarray(0, Math.min(room, delta.length))
      this.canonicalChunks.push(kept)
      this.canonicalByteCount += kept.length
    }
    return delta.length
  }
}

/**
 * A response as a client receives it: `body` and its 64 KiB chunks, each a `Uint8Array` of its
 * own. The chunks are made before any clock starts, as a network client has them before it
 * hands them on: what is timed is the accumulator's work, not the benchmark slicing the body
 * (the native side's `chunks()` costs nothing; a `subarray` per chunk here was a fifth of a raw
 * poll's time on the fast path).
 */
function response(body) {
  const chunks = []
  for (let at = 0; at < body.length; at += CHUNK) chunks.push(body.subarray(at, at + CHUNK))
  return { body, chunks }
}

/** One complete response through an accumulator: beginRead, its chunks, endRead. */
function read(acc, { chunks }) {
  let accepted = acc.beginRead().length
  if (acc.fast) {
    for (let i = 0; i < chunks.length; i++) accepted += acc.pushCount(chunks[i])
  } else {
    for (let i = 0; i < chunks.length; i++) accepted += acc.push(chunks[i]).length
  }
  return accepted + acc.endRead().length
}

/**
 * Releases an accumulator's memory now. A wasm object's linear memory is invisible to the JS
 * garbage collector, so without `free()` a loop of large accumulators runs the wasm heap out of
 * its 4 GiB; the napi addon's objects are ordinary GC-managed objects.
 */
function release(acc) {
  if (typeof acc.free === 'function') acc.free()
}

/** A poller of raw snapshots: `poll(snapshot)` observes one poll; `release()` when done. */
function poller(kind, capBytes) {
  if (kind === 'typescript') return Object.assign(new TypeScriptPoller(capBytes), { release() {} })
  const acc = create(kind, { capBytes, timestamps: false })
  return { poll: (snapshot) => read(acc, snapshot), release: () => release(acc) }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Milliseconds of one timestamped read of `body` (a fresh accumulator each time; finish() not timed). */
function timestampedOnce(kind, stream, capBytes) {
  const body = stream.body
  const acc = create(kind, { capBytes, timestamps: true })
  const t = now()
  const accepted = read(acc, stream)
  const ms = now() - t
  const out = acc.finish()
  release(acc)
  const want = Math.min(capBytes, (body.length / 100) * 69)
  if (out.gaps !== 0 || out.malformed !== 0 || out.totalBytes !== (body.length / 100) * 69 || accepted !== want || out.stdout.length !== want) {
    throw new Error(`${kind}: unexpected outcome ${JSON.stringify({ ...out, stdout: undefined, text: undefined })}`)
  }
  return ms
}

/**
 * Mean milliseconds per poll of `polls` polls bringing `fresh` new bytes on snapshots of `size`
 * bytes (or up to 1/8 less): polls run in series on a growing file; the state is rebuilt
 * (untimed) whenever the window is used up, and each series between rebuilds is timed.
 */
function pollCost(kind, file, size, fresh, polls, capBytes) {
  const window = Math.floor(size / 8)
  const perReset = fresh === 0 ? polls : Math.max(1, Math.floor(window / fresh))
  const first = fresh === 0 ? size : size - perReset * fresh
  let timed = 0
  for (let done = 0; done < polls; ) {
    const state = poller(kind, capBytes)
    state.poll(response(file.subarray(0, first)))
    const series = Math.min(perReset, polls - done)
    const snapshots = Array.from({ length: series }, (_, i) => response(file.subarray(0, first + (i + 1) * fresh)))
    const t = now()
    for (let i = 0; i < series; i++) state.poll(snapshots[i])
    timed += now() - t
    state.release()
    done += series
  }
  return timed / polls
}

function rotate(list, by) {
  return list.map((_, k) => list[(k + by) % list.length])
}

function fmt(x, digits = 1) {
  return x.toFixed(digits)
}

const memory = process.env.MALLOC_MMAP_THRESHOLD_ === undefined ? 'glibc default (fresh memory)' : 'glibc keeps freed memory'
console.log(`node ${process.version}, ${CLOCK} clock, ${REPS} repetitions${quick ? ' (quick)' : ''}; chunks of ${CHUNK} bytes; ${memory}`)

// --- Timestamped throughput: 100-byte lines in one response, MB/s of body bytes (1 MB = 1e6 B).
const streams = [
  { name: 'timestamped 16 MiB, cap 32 MiB', body: timestampedStream(16 * MIB), cap: 32 * MIB },
  { name: 'timestamped 64 MiB, cap 5 MiB', body: timestampedStream(64 * MIB), cap: 5 * MIB },
]
/** One line of throughput figures: MB/s per implementation and every ratio to native. */
function throughputLine(name, bytes, ms) {
  const mbps = (kind) => bytes / 1e6 / (median(ms[kind]) / 1e3)
  const js = ['napi', 'wasm', 'napi-fast', 'wasm-fast']
  console.log(
    `${name}: native ${fmt(mbps('native'))} MB/s, ` +
      js.map((kind) => `${kind} ${fmt(mbps(kind))} MB/s`).join(', ') +
      '; of native: ' +
      js.map((kind) => `${kind} ${fmt(mbps(kind) / mbps('native'), 2)}`).join(', ') +
      `; wasm/napi ${fmt(mbps('wasm') / mbps('napi'), 2)} (medians of ${REPS})`,
  )
}
const THROUGHPUT_KINDS = ['native', 'napi', 'wasm', 'napi-fast', 'wasm-fast']

for (const { name, body, cap } of streams) {
  if (!selected(name)) continue
  const ms = Object.fromEntries(THROUGHPUT_KINDS.map((kind) => [kind, []]))
  const stream = response(body)
  const once = (kind) => (kind === 'native' ? native('timestamped', body.length, cap) : timestampedOnce(kind, stream, cap))
  for (const kind of Object.keys(IMPLS)) timestampedOnce(kind, stream, cap) // warm-up (the native side warms up in its own process)
  for (let r = 0; r < REPS; r++) {
    for (const kind of rotate(Object.keys(ms), r)) {
      await warmedUp(kind, once)
      ms[kind].push(once(kind))
    }
  }
  throughputLine(name, body.length, ms)
}

// --- Raw throughput: a file read once, or growing over 16 polls that each re-serve it; MB/s of new bytes.
const snapshotCache = new WeakMap()
/** The responses of `polls` polls of `file` growing in equal steps (made once, before any clock starts). */
function snapshotsOf(file, polls) {
  if (!snapshotCache.has(file)) snapshotCache.set(file, new Map())
  const byPolls = snapshotCache.get(file)
  if (!byPolls.has(polls)) {
    byPolls.set(polls, Array.from({ length: polls }, (_, i) => response(file.subarray(0, Math.floor((file.length * (i + 1)) / polls)))))
  }
  return byPolls.get(polls)
}

/** Milliseconds for `polls` polls of `file` growing in equal steps (a fresh accumulator; finish() not timed). */
function rawOnce(kind, file, polls, capBytes) {
  const acc = create(kind, { capBytes, timestamps: false })
  const t = now()
  let accepted = 0
  for (const snapshot of snapshotsOf(file, polls)) accepted += read(acc, snapshot)
  const ms = now() - t
  const out = acc.finish()
  release(acc)
  if (accepted !== file.length || out.totalBytes !== file.length || out.gaps !== 0 || Buffer.compare(out.stdout, file) !== 0) {
    throw new Error(`${kind}: unexpected raw outcome ${JSON.stringify({ accepted, ...out, stdout: undefined, text: undefined })}`)
  }
  return ms
}
const rawFile = rawLog(16 * MIB)
for (const polls of [1, 16]) {
  const name = `${polls === 1 ? 'raw one read of 16 MiB' : `raw ${polls} polls growing to 16 MiB`}, cap 32 MiB`
  if (!selected(name)) continue
  const ms = Object.fromEntries(THROUGHPUT_KINDS.map((kind) => [kind, []]))
  const once = (kind) => (kind === 'native' ? native('raw', rawFile.length, polls, 32 * MIB) : rawOnce(kind, rawFile, polls, 32 * MIB))
  for (const kind of Object.keys(IMPLS)) rawOnce(kind, rawFile, polls, 32 * MIB) // warm-up
  for (let r = 0; r < REPS; r++) {
    for (const kind of rotate(Object.keys(ms), r)) {
      await warmedUp(kind, once)
      ms[kind].push(once(kind))
    }
  }
  throughputLine(name, rawFile.length, ms)
}

// --- Raw poll cost at a 5 MiB snapshot (and 1 / 20 MiB unless --quick), vs the TypeScript algorithm.
const SIZES = quick ? [5 * MIB] : [MIB, 5 * MIB, 20 * MIB]
const file = rawLog(Math.max(...SIZES))
const CAP = 32 * MIB // above every snapshot: every new byte is kept by all three
for (const size of SIZES) {
  for (const fresh of [0, 100, 64 * 1024]) {
    if (!selected(`raw poll ${size / MIB} MiB snapshot, ${fresh} new bytes`)) continue
    // Enough polls per repetition to take a stable median, few enough for big snapshots.
    const polls = (kind) => (kind === 'typescript' ? Math.max(3, Math.round(60 / (size / MIB))) : 200)
    const med = { native: [], napi: [], wasm: [], 'napi-fast': [], 'wasm-fast': [], typescript: [] }
    const cost = (kind) =>
      kind === 'native' ? native('poll', size, fresh, polls(kind), CAP) : pollCost(kind, file, size, fresh, polls(kind), CAP)
    for (const kind of Object.keys(med)) if (kind !== 'native') pollCost(kind, file, size, fresh, 2, CAP) // warm-up
    for (let r = 0; r < REPS; r++) {
      for (const kind of rotate(Object.keys(med), r)) {
        await settle()
        med[kind].push(cost(kind))
      }
    }
    const m = Object.fromEntries(Object.entries(med).map(([k, v]) => [k, median(v)]))
    const us = (x) => `${fmt(x * 1e3)} µs`
    console.log(
      `raw poll ${size / MIB} MiB snapshot, ${fresh} new bytes: native ${us(m.native)}, napi ${us(m.napi)}, wasm ${us(m.wasm)}, ` +
        `napi-fast ${us(m['napi-fast'])}, wasm-fast ${us(m['wasm-fast'])}, ` +
        `typescript ${us(m.typescript)}; typescript/napi ${fmt(m.typescript / m.napi)}x, ` +
        `typescript/wasm ${fmt(m.typescript / m.wasm)}x, wasm/napi speed ${fmt(m.napi / m.wasm, 2)}, ` +
        `wasm/native speed ${fmt(m.native / m.wasm, 2)}, napi-fast/native ${fmt(m.native / m['napi-fast'], 2)}, ` +
        `wasm-fast/native ${fmt(m.native / m['wasm-fast'], 2)}`,
    )
  }
}
