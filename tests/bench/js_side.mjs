// One JS surface, measured in a process of its own: the JS twin of
// crates/accumulator/examples/native_side.rs, run by tests/bench/ratio.mjs once per repetition
// and surface, so that every surface (native Rust included) is timed alone in a fresh process
// after warming up there, and none runs in the heap and JIT state another one left.
//
//   node --expose-gc js_side.mjs --clock wall|cpu [--evict MIB] <kind> timestamped <body file> <cap>
//   node --expose-gc js_side.mjs --clock wall|cpu [--evict MIB] <kind> raw <file> <polls> <cap>
//   node --expose-gc js_side.mjs --clock wall|cpu [--evict MIB] <kind> poll <file> <size> <fresh> <polls> <cap>
//
// <kind> is napi, wasm, napi-fast, wasm-fast (or typescript, for poll). Bodies come from files
// that ratio.mjs writes once (making the 64 MiB timestamped stream takes JS over a second).
// Prints the median milliseconds of TIMED_RUNS timed runs (for poll: per poll); exits non-zero
// when a result is not what the workload implies. --evict MIB: before every timed run, write over
// a MIB MiB buffer, as native_side --evict does (ratio.mjs --cold).
import { readFileSync } from 'node:fs'

import { WARM_UPS, clock, loadClasses, warmThenTime, workloads } from './surfaces.mjs'

const args = process.argv.slice(2)
if (args[0] !== '--clock') throw new Error('usage: js_side.mjs --clock wall|cpu [--evict MIB] <kind> <workload> <file> <numbers...>')
const now = clock(args[1])
const evictMiB = args[2] === '--evict' ? Number(args[3]) : 0
if (!Number.isSafeInteger(evictMiB) || evictMiB < 0) throw new Error(`js_side.mjs: bad --evict ${args[3]}`)
const [kind, workload, path, ...rest] = args.slice(args[2] === '--evict' ? 4 : 2)
const numbers = rest.map(Number)
if (numbers.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new Error(`js_side.mjs: bad numbers ${rest.join(' ')}`)

const classes = await loadClasses(kind === 'typescript' ? [] : [kind])
const work = workloads(classes, now)
const body = new Uint8Array(readFileSync(path))

const run = work.runOf(kind, workload, body, numbers)
const trace = process.env.JS_SIDE_TRACE ? (i, ms) => console.error(`warm-up ${i}: ${ms}`) : undefined
console.log(String(await warmThenTime(run, { warmUps: WARM_UPS, evictMiB, trace })))
