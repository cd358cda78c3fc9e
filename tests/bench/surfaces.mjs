// What tests/bench/ratio.mjs measures, and how, for every JS surface: the napi addon and the wasm
// package (each through `push`, which copies what it accepts, and through the fast path,
// `pushCount`), and a JS version of the TypeScript service's poll. Used by ratio.mjs itself
// (--in-process) and by js_side.mjs, which measures one surface in a process of its own.
import { createRequire } from 'node:module'
import { performance } from 'node:perf_hooks'

import { wasmPackage } from '../shared/node-helpers.js'
import { CHUNK } from './workload.mjs'

/** Every JS surface that `create` makes, with how it pushes. */
export const JS_KINDS = ['napi', 'wasm', 'napi-fast', 'wasm-fast']

/**
 * Loads the accumulator classes `kinds` need (`napi`, `wasm`; a `-fast` kind needs its base),
 * and nothing else: a process measuring napi never instantiates the wasm module.
 */
export async function loadClasses(kinds) {
  const classes = {}
  const wants = (base) => kinds.some((kind) => kind === base || kind === `${base}-fast`)
  if (wants('napi')) {
    classes.napi = createRequire(import.meta.url)('../../npm/sandbox-native/index.js').StdoutAccumulator
  }
  if (wants('wasm')) {
    const { moduleUrl, bytes } = wasmPackage()
    const wasm = await import(moduleUrl)
    await wasm.default({ module_or_path: bytes })
    classes.wasm = wasm.StdoutAccumulator
  }
  return classes
}

/**
 * Untimed runs of the workload before the timed ones, in a process that measures one surface
 * (js_side.mjs). The native side needs one, for its memory; a JS surface also needs its JIT, and
 * a wasm instance kept getting faster for a dozen 16-poll runs (36.6 ms for the first, 3.8 ms for
 * the thirteenth) as V8 moved its hot functions to the optimising compiler.
 */
export const WARM_UPS = Number(process.env.WARM_UPS || 12)
/** Timed runs in such a process, whose median it prints. */
export const TIMED_RUNS = Number(process.env.TIMED_RUNS || 5)

/** A clock in milliseconds: `wall` (performance.now()) or `cpu` (the process's user + system time, all threads). */
export function clock(kind) {
  if (kind === 'wall') return () => performance.now()
  if (kind === 'cpu') {
    return () => {
      const { user, system } = process.cpuUsage()
      return (user + system) / 1e3
    }
  }
  throw new Error('--clock must be wall or cpu')
}

/**
 * Lets the previous measurement's accumulators go before the next one is timed: a full GC, then
 * a turn of the event loop so that the napi objects' finalizers run and free their native
 * buffers (kept by glibc for reuse, see MALLOC_REUSE in ratio.mjs). Without it a napi
 * accumulator's memory is freed whenever V8 gets to it, and a measurement pays page faults for
 * fresh memory that the native side (which drops its accumulator at once) and wasm (which reuses
 * its linear memory) do not. Needs --expose-gc (ratio.mjs passes it to every Node it starts).
 */
export async function settle({ evictMiB = 0 } = {}) {
  if (typeof globalThis.gc !== 'function') return evict(evictMiB)
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
  evict(evictMiB)
}

let evictBuffer = new Uint8Array(0)
/**
 * Writes one byte in every 64 of a `mib` MiB buffer (kept for the next call), so that what runs
 * next starts with the CPU caches holding none of its data: what native_side `--evict` does
 * before each of its timed runs (ratio.mjs `--cold`).
 */
function evict(mib) {
  if (mib <= 0) return
  if (evictBuffer.length !== mib * 1024 * 1024) evictBuffer = new Uint8Array(mib * 1024 * 1024)
  for (let i = 0; i < evictBuffer.length; i += 64) evictBuffer[i]++
}

/**
 * A response as a client receives it: `body` and its 64 KiB chunks, each a `Uint8Array` of its
 * own. The chunks are made before any clock starts, as a network client has them before it
 * hands them on: what is timed is the accumulator's work, not the benchmark slicing the body
 * (the native side's `chunks()` costs nothing; a `subarray` per chunk here was a fifth of a raw
 * poll's time on the fast path).
 */
export function response(body) {
  const chunks = []
  for (let at = 0; at < body.length; at += CHUNK) chunks.push(body.subarray(at, at + CHUNK))
  return { body, chunks }
}

/** The TypeScript service's poll (spec §6.3): decode, slice at lastLogLen (UTF-16 units), re-encode. */
export class TypeScriptPoller {
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
 * The workloads, each timed with `now` on the surfaces of `classes` (from `loadClasses`). Every
 * function checks what it got against what the workload implies and throws otherwise.
 */
export function workloads(classes, now) {
  const create = (kind, options) => {
    const fast = kind.endsWith('-fast')
    const Class = classes[fast ? kind.slice(0, -'-fast'.length) : kind]
    if (Class === undefined) throw new Error(`${kind}: not loaded`)
    return Object.assign(new Class(options), { fast })
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

  /** Milliseconds of one timestamped read of `stream` (a fresh accumulator each time; finish() not timed). */
  function timestamped(kind, stream, capBytes) {
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
  function raw(kind, file, polls, capBytes) {
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

  /**
   * Mean milliseconds per poll of `polls` polls bringing `fresh` new bytes on snapshots of `size`
   * bytes (or up to 1/8 less) of `file`: polls run in series on a growing file; the state is
   * rebuilt (untimed) whenever the window is used up, and each series between rebuilds is timed.
   */
  function poll(kind, file, size, fresh, polls, capBytes) {
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
      let accepted = 0
      for (let i = 0; i < series; i++) accepted += state.poll(snapshots[i])
      timed += now() - t
      state.release()
      // The TypeScript algorithm counts UTF-16 units re-encoded, which a cut inside a character changes.
      if (kind !== 'typescript' && accepted !== series * fresh) throw new Error(`${kind}: ${accepted} bytes accepted in a poll series, expected ${series * fresh}`)
      done += series
    }
    return timed / polls
  }

  /**
   * One run of `workload` (`timestamped`, `raw` or `poll`, as native_side and js_side.mjs name
   * them) on `body`, its parameters after the body in `numbers`, as a function that returns the
   * milliseconds it timed.
   */
  function runOf(kind, workload, body, numbers) {
    if (workload === 'timestamped') {
      const [cap] = numbers
      const stream = response(body)
      return () => timestamped(kind, stream, cap)
    }
    if (workload === 'raw') {
      const [polls, cap] = numbers
      return () => raw(kind, body, polls, cap)
    }
    if (workload === 'poll') {
      const [size, fresh, polls, cap] = numbers
      return () => poll(kind, body, size, fresh, polls, cap)
    }
    throw new Error(`unknown workload ${workload}`)
  }

  return { timestamped, raw, poll, runOf }
}

/** The median of `xs` (numbers). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/**
 * Runs `run` (from `runOf`) `warmUps` times untimed, collecting garbage between runs, then
 * `timedRuns` times, each after `settle({ evictMiB })`, and returns the median of the timed
 * milliseconds. `trace(i, ms)`, if given, sees each untimed run.
 */
export async function warmThenTime(run, { warmUps, timedRuns = TIMED_RUNS, evictMiB = 0, trace }) {
  // The eviction buffer exists before the warm-ups, so that the timed runs' memory is laid out as
  // the warm-ups' was, not beyond a 64 MiB block allocated in between (as native_side does).
  evict(evictMiB)
  for (let i = 0; i < warmUps; i++) {
    globalThis.gc?.()
    const ms = run()
    trace?.(i + 1, ms)
  }
  // Several timed runs, each after settling, and their median: a run lasts a few milliseconds.
  const timed = []
  for (let i = 0; i < timedRuns; i++) {
    await settle({ evictMiB })
    timed.push(run())
  }
  return median(timed)
}

/** How many polls one poll-cost measurement of `kind` makes on snapshots of `size` bytes. */
export function pollsFor(kind, size) {
  // Enough polls for a stable figure, few enough for the TypeScript algorithm on big snapshots.
  return kind === 'typescript' ? Math.max(3, Math.round(60 / (size / (1024 * 1024)))) : 200
}
