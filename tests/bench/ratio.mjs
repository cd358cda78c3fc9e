// Node benchmark (issue 3, item 6; issue 12, item 4): the napi addon vs the wasm package vs a JS
// re-implementation of the TypeScript service's per-poll algorithm vs native Rust, measured side
// by side in one run.
//
//   node tests/bench/ratio.mjs [--reps N] [--quick] [--clock wall|cpu] [--cold] [--fresh-memory] [--only TEXT] [--in-process]
//
// Columns: native Rust (crates/accumulator/examples/native_side.rs, built by this script), the
// napi addon, the wasm package, each of them also on its fast path (`napi-fast`, `wasm-fast`:
// `pushCount` instead of `push`, nothing copied out per push; the throughput workloads then check
// the stdout from `finish()`), and for raw polls a JS version of the TypeScript service's poll
// (tests/bench/surfaces.mjs has every JS surface and workload).
//
// Every measurement runs in a process of its own, one per repetition and column: native_side for
// native Rust, tests/bench/js_side.mjs for a JS column. Each warms up in its process and prints
// the median of its timed runs, every column alike: WARM_UPS untimed runs (the JIT's warm-up for
// a JS column), then TIMED_RUNS timed runs, so every column is timed after the same history of
// accumulators grown and dropped in its process, and none in the heap and JIT state that another
// left: measured in one process, napi-fast's raw reads ran 1.3-1.7x slower after the copying `push`
// path had run there (the stdout buffer's growth steps became copies instead of growing in
// place), which says nothing about either path.
// --in-process measures the JS columns in this process instead, as before 2026-12-02's evening.
//
// Every response is handed over in 64 KiB chunks made before the clock starts (response()), as a
// network client has them. Before every timed run the process collects garbage and lets
// finalizers run (settle()), so every surface starts from warm, reused memory as the native side
// does. --fresh-memory leaves glibc's default of returning freed memory to the kernel (see
// MALLOC_REUSE below).
//
// --cold: every column, native Rust included, writes over a 64 MiB buffer (twice the L3 cache of
// the machines BENCHMARKS.md was measured on) right before each timed run, so that every timed
// run starts with the caches holding none of its data. Without it the columns do not start alike:
// native_side times its runs back to back, its source and stdout buffer still in the cache from
// the run before (on these machines a 16 MiB copy in 64 KiB pieces takes 0.66 ms so, 1.03-1.16 ms
// after the same eviction), while a JS column collects garbage between its runs (settle()) after
// copying and comparing the previous run's stdout, which leaves its caches cold.
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
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { JS_KINDS, TIMED_RUNS, WARM_UPS, clock, loadClasses, median, pollsFor, warmThenTime, workloads } from './surfaces.mjs'
import { CHUNK, rawLog, timestampedStream } from './workload.mjs'

// A wasm instance keeps and reuses the memory it grew; glibc instead returns large freed blocks
// to the kernel, so every fresh native accumulator pays page faults for its stdout buffer again
// (here that halves native throughput). For like-with-like figures the script runs itself, the
// napi addon, the native side and every js_side.mjs with glibc told to keep and reuse freed memory.
const MALLOC_REUSE = { MALLOC_MMAP_THRESHOLD_: String(2 ** 30), MALLOC_TRIM_THRESHOLD_: String(2 ** 30) }
if (process.env.MALLOC_MMAP_THRESHOLD_ === undefined && !process.argv.includes('--fresh-memory')) {
  const { status } = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, ...MALLOC_REUSE },
  })
  process.exit(status ?? 1)
}

const MIB = 1024 * 1024

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const IN_PROCESS = args.includes('--in-process')
const repsAt = args.indexOf('--reps')
const REPS = repsAt >= 0 ? Number(args[repsAt + 1]) : quick ? 3 : 9
if (!Number.isInteger(REPS) || REPS < 1) throw new Error('--reps needs a positive integer')
const onlyAt = args.indexOf('--only')
const ONLY = onlyAt >= 0 ? args[onlyAt + 1] : ''
if (onlyAt >= 0 && !ONLY) throw new Error('--only needs the text of a workload name')
/** Whether the workload named `name` runs (--only). */
const selected = (name) => name.includes(ONLY)
const COLD = args.includes('--cold')
/** MiB written over before every timed run with --cold. */
const EVICT_MIB = COLD ? 64 : 0
const clockAt = args.indexOf('--clock')
const CLOCK = clockAt >= 0 ? args[clockAt + 1] : 'wall'
const now = clock(CLOCK)

// Native Rust: crates/accumulator/examples/native_side.rs runs the same workloads (byte-identical
// bodies) and prints its own timing; one process per repetition.
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
execFileSync('cargo', ['build', '--quiet', '--release', '-p', 'tale-sandbox-accumulator', '--example', 'native_side'], {
  cwd: ROOT,
  stdio: 'inherit',
})
const NATIVE = join(process.env.CARGO_TARGET_DIR || join(ROOT, 'target'), 'release', 'examples', 'native_side')
const JS_SIDE = fileURLToPath(new URL('js_side.mjs', import.meta.url))

/** The milliseconds a child process printed (its timed run). */
function printedMs(file, argv) {
  const out = execFileSync(file, argv, { encoding: 'utf8' })
  const ms = Number(out.trim())
  if (!Number.isFinite(ms)) throw new Error(`${file} ${argv.join(' ')} printed ${JSON.stringify(out)}`)
  return ms
}

// The native side warms up and times as many runs as a js_side.mjs process does (--in-process:
// one untimed run, then one timed, as the JS columns there get before each repetition's run).
const NATIVE_RUNS = IN_PROCESS ? [1, 1] : [WARM_UPS, TIMED_RUNS]

/** Milliseconds printed by one run of the native side. */
const native = (...args) => printedMs(NATIVE, ['--clock', CLOCK, '--runs', ...NATIVE_RUNS, '--evict', EVICT_MIB, ...args].map(String))

// The bodies the JS columns read, written once for the js_side.mjs processes.
const workDir = mkdtempSync(join(tmpdir(), 'tale-ratio-'))
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }))
const bodyFiles = new Map()
function bodyFile(name, body) {
  if (!bodyFiles.has(name)) {
    const path = join(workDir, name)
    writeFileSync(path, body)
    bodyFiles.set(name, path)
  }
  return bodyFiles.get(name)
}

// --in-process: every JS column in this process, as its workloads (the same functions js_side.mjs runs).
const here = IN_PROCESS ? workloads(await loadClasses(JS_KINDS), now) : undefined

/**
 * A column's measurement of one workload, `() => Promise<ms>`. `workload` names the workload as
 * both sides take it (`timestamped`, `raw`, `poll`); `file` names its body (`bodyOf()` gives it);
 * `numbers` are its parameters after the body, as native_side and js_side.mjs take them.
 */
function measurement(kind, workload, file, bodyOf, numbers) {
  if (kind === 'native') {
    const nativeNumbers = workload === 'poll' ? numbers : [bodyOf().length, ...numbers]
    return async () => native(workload, ...nativeNumbers)
  }
  if (!IN_PROCESS) {
    return async () =>
      printedMs(process.execPath, [
        ...['--expose-gc', JS_SIDE, '--clock', CLOCK, '--evict', String(EVICT_MIB)],
        ...[kind, workload, bodyFile(file, bodyOf()), ...numbers.map(String)],
      ])
  }
  // In this process: WARM_UPS untimed runs the first time, then one before the timed run of every
  // repetition, as the native side does in its own process; without it the run timed right after
  // a native child (which allocates and fills ~50 MiB) came out up to twice as slow as the same
  // run timed after another of its own kind.
  const run = here.runOf(kind, workload, bodyOf(), numbers)
  let warmUps = WARM_UPS
  return async () => {
    const ms = await warmThenTime(run, { warmUps, timedRuns: 1, evictMiB: EVICT_MIB })
    warmUps = 1
    return ms
  }
}

/** Medians over REPS repetitions of every column's measurement, the order rotated per repetition. */
async function medians(measurements) {
  const kinds = Object.keys(measurements)
  const ms = Object.fromEntries(kinds.map((kind) => [kind, []]))
  for (let r = 0; r < REPS; r++) {
    for (const kind of kinds.map((_, k) => kinds[(k + r) % kinds.length])) ms[kind].push(await measurements[kind]())
  }
  return Object.fromEntries(kinds.map((kind) => [kind, median(ms[kind])]))
}

function fmt(x, digits = 1) {
  return x.toFixed(digits)
}

const memory = process.env.MALLOC_MMAP_THRESHOLD_ === undefined ? 'glibc default (fresh memory)' : 'glibc keeps freed memory'
const where = IN_PROCESS ? 'JS columns in this process' : `every column in a process of its own (${WARM_UPS} untimed runs, median of ${TIMED_RUNS} timed)`
const caches = COLD ? `; caches evicted (${EVICT_MIB} MiB written) before every timed run` : ''
console.log(`node ${process.version}, ${CLOCK} clock, ${REPS} repetitions${quick ? ' (quick)' : ''}; chunks of ${CHUNK} bytes; ${memory}; ${where}${caches}`)

const THROUGHPUT_KINDS = ['native', ...JS_KINDS]
/** One line of throughput figures: MB/s (1 MB = 1e6 B) per implementation and every ratio to native. */
function throughputLine(name, bytes, ms) {
  const mbps = (kind) => bytes / 1e6 / (ms[kind] / 1e3)
  console.log(
    `${name}: native ${fmt(mbps('native'))} MB/s, ` +
      JS_KINDS.map((kind) => `${kind} ${fmt(mbps(kind))} MB/s`).join(', ') +
      '; of native: ' +
      JS_KINDS.map((kind) => `${kind} ${fmt(mbps(kind) / mbps('native'), 2)}`).join(', ') +
      `; wasm/napi ${fmt(mbps('wasm') / mbps('napi'), 2)} (medians of ${REPS})`,
  )
}

// --- Timestamped throughput: 100-byte lines in one response, MB/s of body bytes.
const streams = [
  { name: 'timestamped 16 MiB, cap 32 MiB', file: 'timestamped-16', bytes: 16 * MIB, cap: 32 * MIB },
  { name: 'timestamped 64 MiB, cap 5 MiB', file: 'timestamped-64', bytes: 64 * MIB, cap: 5 * MIB },
]
for (const { name, file, bytes, cap } of streams) {
  if (!selected(name)) continue
  let body
  const bodyOf = () => (body ??= timestampedStream(bytes))
  const ms = await medians(Object.fromEntries(THROUGHPUT_KINDS.map((kind) => [kind, measurement(kind, 'timestamped', file, bodyOf, [cap])])))
  throughputLine(name, bodyOf().length, ms)
}

// --- Raw throughput: a file read once, or growing over 16 polls that each re-serve it; MB/s of new bytes.
let rawFile
const rawFileOf = () => (rawFile ??= rawLog(16 * MIB))
for (const polls of [1, 16]) {
  const name = `${polls === 1 ? 'raw one read of 16 MiB' : `raw ${polls} polls growing to 16 MiB`}, cap 32 MiB`
  if (!selected(name)) continue
  const ms = await medians(Object.fromEntries(THROUGHPUT_KINDS.map((kind) => [kind, measurement(kind, 'raw', 'raw-16', rawFileOf, [polls, 32 * MIB])])))
  throughputLine(name, rawFileOf().length, ms)
}

// --- Raw poll cost at a 5 MiB snapshot (and 1 / 20 MiB unless --quick), vs the TypeScript algorithm.
const SIZES = quick ? [5 * MIB] : [MIB, 5 * MIB, 20 * MIB]
let pollFile
const pollFileOf = () => (pollFile ??= rawLog(Math.max(...SIZES)))
const CAP = 32 * MIB // above every snapshot: every new byte is kept by all three
for (const size of SIZES) {
  for (const fresh of [0, 100, 64 * 1024]) {
    if (!selected(`raw poll ${size / MIB} MiB snapshot, ${fresh} new bytes`)) continue
    const kinds = ['native', ...JS_KINDS, 'typescript']
    const m = await medians(
      Object.fromEntries(kinds.map((kind) => [kind, measurement(kind, 'poll', `raw-${SIZES.at(-1) / MIB}`, pollFileOf, [size, fresh, pollsFor(kind, size), CAP])])),
    )
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
