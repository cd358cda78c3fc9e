// Behaviour and bad-input cases of the JS `StdoutAccumulator` API, shared by the napi addon tests,
// the wasm-in-Node tests and the wasm-in-Chromium page, so all surfaces answer bad input the same
// way. Each case is `{ name, run(StdoutAccumulator, surface) }` and throws on failure; `surface`
// is 'node' (napi addon) or 'wasm'. No Node-only imports: the browser page loads this file too.

const enc = (text) => new TextEncoder().encode(text)
const dec = (bytes) => new TextDecoder().decode(bytes)

function fail(message) {
  throw new Error(message)
}

function check(condition, message) {
  if (!condition) fail(message)
}

function equalBytes(actual, expected, what) {
  actual = Uint8Array.from(actual)
  expected = Uint8Array.from(expected)
  const same = actual.length === expected.length && actual.every((b, i) => b === expected[i])
  check(same, `${what}: got [${actual}] (${JSON.stringify(dec(actual))}), expected [${expected}]`)
}

/** Calls `fn`, requires it to throw an instance of exactly `ErrorClass` whose message matches. */
function throws(fn, ErrorClass, pattern, what) {
  let thrown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  check(thrown !== undefined, `${what}: did not throw`)
  check(
    thrown instanceof Error && thrown.constructor === ErrorClass,
    `${what}: threw ${thrown && thrown.constructor && thrown.constructor.name} (${thrown && thrown.message}), expected ${ErrorClass.name}`,
  )
  check(pattern.test(thrown.message), `${what}: message ${JSON.stringify(thrown.message)} does not match ${pattern}`)
  return thrown
}

function snapshot(acc) {
  const r = acc.finish()
  return { ...r, stdout: Array.from(r.stdout) }
}

function sameSnapshot(a, b, what) {
  check(JSON.stringify(a) === JSON.stringify(b), `${what}: ${JSON.stringify(a)} !== ${JSON.stringify(b)}`)
}

const OPTIONS_SHAPE = /^new StdoutAccumulator\(options\): options must be an object like \{ capBytes: number, timestamps\?: boolean \}, got /
const CAP = /^new StdoutAccumulator\(options\): capBytes must be a positive safe integer, got /
const TIMESTAMPS = /^new StdoutAccumulator\(options\): timestamps must be a boolean when present, got /
const CHUNK = /^StdoutAccumulator\.push\(chunk\): chunk must be a Uint8Array, got /
const PUSH_OUTSIDE = /^StdoutAccumulator\.push\(\) called outside a read: call beginRead\(\) first$/
const END_OUTSIDE = /^StdoutAccumulator\.endRead\(\) called outside a read: call beginRead\(\) first$/
const TRY_SKIP_OUTSIDE = /^StdoutAccumulator\.trySkip\(\) called outside a read: call beginRead\(\) first$/
const SKIP_LENGTH = /^StdoutAccumulator\.trySkip\(length\): length must be a non-negative safe integer, got /
/** Marks a StdoutAccumulator prototype whose pushCount has the JS side installed (skip-layer.js). */
const SKIP_LAYER = Symbol.for('tale.sandbox.skipLayer')
/** The bindings' internal one-crossing push, which the JS side takes and deletes from the prototype. */
const SETTLE_PUSH_COUNT = '__settlePushCount'
const REFUSED = /^internal error in StdoutAccumulator: \d+ bytes counted as skippable were refused by trySkip; this accumulator's counts are no longer exact$/

/** A deterministic random generator (mulberry32), so a failure can be replayed. */
function generator(seed) {
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { random, int: (n) => Math.floor(random() * n) }
}

/**
 * `length` bytes of a log file written with `pattern`, from file offset `from`: lines of text
 * whose bytes depend on the offset (pattern 0 repeats one line, so files look alike wherever
 * raw mode samples them).
 */
function fileBytes(pattern, from, length) {
  const bytes = new Uint8Array(length)
  const line = enc('same line\n')
  for (let k = 0; k < length; k++) {
    const i = from + k
    if (pattern === 0) bytes[k] = line[i % line.length]
    else bytes[k] = i % 61 === 60 ? 10 : 32 + ((Math.imul(i, 31) + Math.floor(i / 977) + pattern * 7) % 90)
  }
  return bytes
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** `byteCounts()` where the surface has it (wasm), else `finish()` without its stdout. */
function counts(acc) {
  if (typeof acc.byteCounts === 'function') return acc.byteCounts()
  const { stdout, ...rest } = acc.finish()
  return { ...rest, stdoutLength: stdout.length }
}

export const apiCases = [
  {
    name: 'StdoutAccumulator is a class: calling it without new is a TypeError, instances are instanceof it',
    run(StdoutAccumulator) {
      throws(() => StdoutAccumulator({ capBytes: 10 }), TypeError, /cannot be invoked without 'new'/, 'StdoutAccumulator() without new')
      throws(() => StdoutAccumulator.call({}, { capBytes: 10 }), TypeError, /cannot be invoked without 'new'/, 'StdoutAccumulator.call()')
      const acc = new StdoutAccumulator({ capBytes: 10 })
      check(acc instanceof StdoutAccumulator, 'an instance is not instanceof StdoutAccumulator')
      check(StdoutAccumulator.name === 'StdoutAccumulator', `class name ${StdoutAccumulator.name}`)
    },
  },
  {
    name: 'constructor rejects a missing or non-object options argument with a TypeError',
    run(StdoutAccumulator) {
      const bad = [
        [[], 'undefined'],
        [[undefined], 'undefined'],
        [[null], 'null'],
        [[5 * 1024 * 1024], 'number'],
        [['{"capBytes":5}'], 'string'],
        [[true], 'boolean'],
        [[[5]], 'an array'],
        [[() => 5], 'function'],
      ]
      for (const [args, got] of bad) {
        const e = throws(() => new StdoutAccumulator(...args), TypeError, OPTIONS_SHAPE, `new StdoutAccumulator(${args.map(String)})`)
        check(e.message.endsWith(`got ${got}`), `message ${JSON.stringify(e.message)} should end with "got ${got}"`)
      }
    },
  },
  {
    name: 'constructor rejects a capBytes that is not a positive safe integer with a TypeError',
    run(StdoutAccumulator) {
      const bad = [
        [{}, 'undefined'],
        [{ timestamps: true }, 'undefined'],
        [{ capBytes: 0 }, 'number 0'],
        [{ capBytes: -1 }, 'number -1'],
        [{ capBytes: 1.5 }, 'number 1.5'],
        [{ capBytes: NaN }, 'number NaN'],
        [{ capBytes: Infinity }, 'number Infinity'],
        [{ capBytes: 2 ** 53 }, 'number 9007199254740992'],
        [{ capBytes: '1024' }, 'string'],
        [{ capBytes: null }, 'null'],
        [{ capBytes: true }, 'boolean true'],
        [{ capBytes: 10n }, 'bigint'],
      ]
      for (const [options, got] of bad) {
        const what = `capBytes ${String(options.capBytes)}`
        const e = throws(() => new StdoutAccumulator(options), TypeError, CAP, what)
        check(e.message.endsWith(`got ${got}`), `${what}: message ${JSON.stringify(e.message)} should end with "got ${got}"`)
      }
    },
  },
  {
    name: 'constructor requires timestamps to be a boolean when present and rejects unknown options',
    run(StdoutAccumulator) {
      for (const [value, got] of [['yes', 'string'], [1, 'number 1'], [null, 'null'], [{}, 'object']]) {
        const e = throws(() => new StdoutAccumulator({ capBytes: 10, timestamps: value }), TypeError, TIMESTAMPS, `timestamps ${JSON.stringify(value)}`)
        check(e.message.endsWith(`got ${got}`), `message ${JSON.stringify(e.message)} should end with "got ${got}"`)
      }
      throws(
        () => new StdoutAccumulator({ capBytes: 10, timestamp: true }),
        TypeError,
        /^new StdoutAccumulator\(options\): unknown option 'timestamp' \(known options: capBytes, timestamps\)$/,
        'a misspelt option',
      )
      // Accepted shapes.
      new StdoutAccumulator({ capBytes: 1 })
      new StdoutAccumulator({ capBytes: 10, timestamps: undefined })
      new StdoutAccumulator({ capBytes: 2 ** 32 - 1, timestamps: false })
    },
  },
  {
    name: 'a cap larger than the platform can address: accepted natively, RangeError in 32-bit wasm',
    run(StdoutAccumulator, surface) {
      if (surface === 'wasm') {
        throws(() => new StdoutAccumulator({ capBytes: 2 ** 32 }), RangeError, /capBytes 4294967296 exceeds what this platform can address/, 'capBytes 2**32 in wasm')
      } else {
        // Also proves the cap is a limit, not an allocation: 8 PiB cannot be reserved.
        const acc = new StdoutAccumulator({ capBytes: Number.MAX_SAFE_INTEGER })
        acc.beginRead()
        acc.push(enc('hello\n'))
        acc.endRead()
        equalBytes(acc.finish().stdout, enc('hello\n'), 'stdout with the maximum cap')
      }
    },
  },
  {
    name: 'timestamps: true strips kubelet timestamp prefixes; absent or false keeps bytes as they are',
    run(StdoutAccumulator) {
      const line = enc('2024-05-01T10:00:00.123456789Z hello\n')
      const results = [{ capBytes: 100 }, { capBytes: 100, timestamps: false }, { capBytes: 100, timestamps: true }].map((options) => {
        const acc = new StdoutAccumulator(options)
        acc.beginRead()
        acc.push(line)
        acc.endRead()
        return acc.finish()
      })
      equalBytes(results[0].stdout, line, 'raw mode (timestamps absent)')
      equalBytes(results[1].stdout, line, 'raw mode (timestamps: false)')
      equalBytes(results[2].stdout, enc('hello\n'), 'timestamped mode')
    },
  },
  {
    name: 'push rejects anything but a Uint8Array with a TypeError and leaves the read open',
    run(StdoutAccumulator) {
      const acc = new StdoutAccumulator({ capBytes: 100 })
      acc.beginRead()
      const bad = [
        [undefined, 'undefined'],
        [null, 'null'],
        ['text', 'string'],
        [42, 'number'],
        [[104, 105], 'an array'],
        [new ArrayBuffer(4), 'an ArrayBuffer'],
        [new Int8Array(4), 'another kind of typed array'],
        [new Uint8ClampedArray(4), 'another kind of typed array'],
        [new Uint16Array(4), 'another kind of typed array'],
        [new DataView(new ArrayBuffer(4)), 'object'],
        [{ length: 2, 0: 104, 1: 105 }, 'object'],
      ]
      for (const [chunk, got] of bad) {
        const e = throws(() => acc.push(chunk), TypeError, CHUNK, `push(${Object.prototype.toString.call(chunk)})`)
        check(e.message.endsWith(`got ${got}`), `message ${JSON.stringify(e.message)} should end with "got ${got}"`)
      }
      throws(() => acc.push(), TypeError, CHUNK, 'push() without an argument')
      const accepted = [acc.push(enc('hi\n')), acc.endRead()]
      equalBytes(accepted.flatMap((a) => Array.from(a)), enc('hi\n'), 'bytes accepted after the bad pushes')
      equalBytes(acc.finish().stdout, enc('hi\n'), 'stdout after the bad pushes')
    },
  },
  {
    name: 'push and endRead outside a read throw an Error and leave the accumulator unchanged',
    run(StdoutAccumulator) {
      const acc = new StdoutAccumulator({ capBytes: 100 })
      throws(() => acc.push(enc('x')), Error, PUSH_OUTSIDE, 'push before any beginRead')
      throws(() => acc.endRead(), Error, END_OUTSIDE, 'endRead before any beginRead')
      acc.beginRead()
      acc.push(enc('abc\n'))
      acc.endRead()
      const before = snapshot(acc)
      throws(() => acc.push(enc('zzz\n')), Error, PUSH_OUTSIDE, 'push after endRead')
      throws(() => acc.endRead(), Error, END_OUTSIDE, 'a second endRead')
      acc.beginRead()
      acc.abandonRead()
      throws(() => acc.push(enc('zzz\n')), Error, PUSH_OUTSIDE, 'push after abandonRead')
      sameSnapshot(snapshot(acc), before, 'state after the rejected calls')
      // Still usable: the next response is taken normally.
      acc.beginRead()
      acc.push(enc('abc\nd'))
      acc.push(enc('ef\n'))
      acc.endRead()
      equalBytes(acc.finish().stdout, enc('abc\ndef\n'), 'stdout after recovering')
    },
  },
  {
    name: 'push reads exactly the bytes of a Uint8Array view and keeps no reference to them',
    run(StdoutAccumulator) {
      const backing = enc('XXXhello\nYYY')
      const view = new Uint8Array(backing.buffer, 3, 6) // "hello\n"
      const acc = new StdoutAccumulator({ capBytes: 100 })
      acc.beginRead()
      const accepted = [acc.push(view), acc.endRead()]
      equalBytes(Uint8Array.from(accepted.flatMap((a) => Array.from(a))), enc('hello\n'), 'accepted bytes of the view')
      backing.fill(0x21) // the caller reuses its buffer
      equalBytes(acc.finish().stdout, enc('hello\n'), 'stdout after the caller overwrote its buffer')
      const result = acc.finish()
      check(result.text === 'hello\n', `text: ${JSON.stringify(result.text)}`)
    },
  },
  {
    name: 'returned arrays are fresh plain Uint8Arrays owned by the caller',
    run(StdoutAccumulator) {
      const acc = new StdoutAccumulator({ capBytes: 100 })
      acc.beginRead()
      const pushed = acc.push(enc('one\n'))
      const ended = acc.endRead()
      const begun = acc.beginRead()
      const abandoned = acc.abandonRead()
      const idle = acc.abandonRead() // no read open: nothing to abandon
      check(begun.length === 0 && abandoned.length === 0 && idle.length === 0, 'beginRead()/abandonRead() returned bytes with nothing held')
      for (const [what, value] of [['push()', pushed], ['endRead()', ended], ['beginRead()', begun], ['abandonRead()', abandoned], ['abandonRead() without a read', idle], ['finish().stdout', acc.finish().stdout]]) {
        check(Object.getPrototypeOf(value) === Uint8Array.prototype, `${what} is not a plain Uint8Array`)
      }
      const stdout = acc.finish().stdout
      stdout.fill(0)
      pushed.fill(0)
      equalBytes(acc.finish().stdout, enc('one\n'), 'stdout after the caller overwrote returned arrays')
    },
  },
  {
    name: 'finish() is a snapshot: repeatable, and reads may continue after it',
    run(StdoutAccumulator) {
      const acc = new StdoutAccumulator({ capBytes: 100 })
      const empty = acc.finish()
      check(empty.stdout.length === 0 && empty.text === '' && empty.totalBytes === 0, `fresh finish(): ${JSON.stringify(snapshot(acc))}`)
      check(empty.truncated === false && empty.gaps === 0 && empty.rotations === 0 && empty.malformed === 0, 'fresh counters')
      acc.beginRead()
      acc.push(enc('first\n'))
      acc.endRead()
      const a = snapshot(acc)
      sameSnapshot(snapshot(acc), a, 'finish() twice')
      acc.beginRead()
      acc.push(enc('first\nsecond\n'))
      acc.endRead()
      const b = acc.finish()
      equalBytes(b.stdout, enc('first\nsecond\n'), 'stdout after reading on past finish()')
      check(b.text === 'first\nsecond\n' && b.totalBytes === 13 && b.truncated === false, `after: ${JSON.stringify(snapshot(acc))}`)
      const keys = Object.keys(b).sort().join(',')
      check(keys === 'gaps,malformed,rotations,stdout,text,totalBytes,truncated', `finish() keys: ${keys}`)
    },
  },
  {
    name: 'chunks of any size, up to whole multi-MiB snapshots, give the same result as small ones',
    run(StdoutAccumulator) {
      // Deterministic bytes that differ by position, so every re-served window really is checked.
      const fileOf = (length, seed) => Uint8Array.from({ length }, (_, i) => (i * 31 + Math.floor(i / 977) + seed) & 0xff)
      const first = fileOf(3 * 1024 * 1024 + 123, 7)
      const rotated = fileOf(300 * 1024, 99)
      const polls = [first.subarray(0, 2 * 1024 * 1024), first, first, rotated] // grow, repeat, rotate
      const run = (chunkSize) => {
        const acc = new StdoutAccumulator({ capBytes: 8 * 1024 * 1024 })
        const accepted = []
        for (const body of polls) {
          accepted.push(acc.beginRead())
          for (let at = 0; at < body.length; at += chunkSize) accepted.push(acc.push(body.subarray(at, at + chunkSize)))
          accepted.push(acc.endRead())
        }
        return { acc, accepted: accepted.reduce((n, a) => n + a.length, 0) }
      }
      const expected = new Uint8Array(first.length + rotated.length)
      expected.set(first)
      expected.set(rotated, first.length)
      for (const chunkSize of [first.length, 1024 * 1024 + 1, 65536, 4093]) {
        const { acc, accepted } = run(chunkSize)
        const r = acc.finish()
        equalBytes(r.stdout, expected, `stdout with chunks of ${chunkSize} bytes`)
        check(accepted === expected.length, `chunks of ${chunkSize}: ${accepted} bytes returned, expected ${expected.length}`)
        check(r.rotations === 1 && r.gaps === 1 && r.truncated === true && r.totalBytes === expected.length, `chunks of ${chunkSize}: ${JSON.stringify({ ...r, stdout: r.stdout.length, text: r.text.length })}`)
      }
      // Timestamped: one chunk of many lines, past the cap.
      const lines = Array.from({ length: 5000 }, (_, i) => `2026-11-26T10:00:00.${String(i).padStart(9, '0')}Z line ${i}\n`).join('')
      const ts = new StdoutAccumulator({ capBytes: 40000, timestamps: true })
      ts.beginRead()
      ts.push(enc(lines))
      ts.endRead()
      const t = ts.finish()
      const text = Array.from({ length: 5000 }, (_, i) => `line ${i}\n`).join('')
      check(t.text === text.slice(0, 40000) && t.totalBytes === enc(text).length && t.gaps === 0, `timestamped one-chunk: ${t.totalBytes} bytes, gaps ${t.gaps}`)
    },
  },
  {
    name: 'pushCount throws what push throws (a TypeError for a non-Uint8Array, an Error outside a read) and changes nothing',
    run(StdoutAccumulator) {
      const acc = new StdoutAccumulator({ capBytes: 100 })
      throws(() => acc.pushCount(enc('x')), Error, PUSH_OUTSIDE, 'pushCount outside a read')
      acc.beginRead()
      check(acc.pushCount(enc('ab')) === 2, 'pushCount returns the number of bytes accepted')
      for (const bad of ['text', [1, 2], new ArrayBuffer(2), new Uint16Array(2), undefined]) {
        throws(() => acc.pushCount(bad), TypeError, CHUNK, `pushCount(${Object.prototype.toString.call(bad)})`)
      }
      check(acc.pushCount(enc('c')) === 1, 'the read stays open after a bad chunk')
      acc.endRead()
      throws(() => acc.pushCount(enc('x')), Error, PUSH_OUTSIDE, 'pushCount after endRead')
      equalBytes(acc.finish().stdout, enc('abc'), 'stdout')
    },
  },
  {
    name: 'skippableAhead, trySkip and timestamps: validated, 0 and false outside a read and in timestamped mode',
    run(StdoutAccumulator) {
      const raw = new StdoutAccumulator({ capBytes: 1 << 20 })
      const ts = new StdoutAccumulator({ capBytes: 1 << 20, timestamps: true })
      check(raw.timestamps === false && ts.timestamps === true, 'timestamps reflects the option')
      check(new StdoutAccumulator({ capBytes: 5, timestamps: false }).timestamps === false, 'timestamps: false')
      for (const acc of [raw, ts]) {
        check(acc.skippableAhead() === 0, 'skippableAhead() outside a read is 0')
        throws(() => acc.trySkip(0), Error, TRY_SKIP_OUTSIDE, 'trySkip outside a read')
        acc.beginRead()
        for (const bad of ['1', undefined, null, true, 1n, {}]) {
          throws(() => acc.trySkip(bad), TypeError, SKIP_LENGTH, `trySkip(${typeof bad})`)
        }
        for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) throws(() => acc.trySkip(bad), RangeError, SKIP_LENGTH, `trySkip(${bad})`)
      }
      // Timestamped mode reads every byte.
      ts.pushCount(enc('2026-11-26T10:00:00.000000001Z a\n'))
      check(ts.skippableAhead() === 0 && ts.trySkip(1) === false && ts.trySkip(0) === false, 'timestamped mode skips nothing')
      ts.endRead()
      check(ts.finish().text === 'a\n', 'timestamped stdout')
      // Raw mode: the first read holds what it is served (it may be a new file); a re-read of a
      // file past its first 64 KiB re-serves bytes that are only counted.
      const file = fileBytes(1, 0, 300_000)
      check(raw.trySkip(0) === false && raw.skippableAhead() === 0, 'the start of a read is held')
      raw.pushCount(file)
      raw.endRead()
      raw.beginRead()
      raw.pushCount(file.subarray(0, 65_600))
      const ahead = raw.skippableAhead()
      check(ahead === 131_072 - 65_600, `skippableAhead after the hold and the sample at 64 KiB: ${ahead}`)
      check(raw.trySkip(ahead + 1) === false, 'trySkip refuses past skippableAhead and changes nothing')
      check(raw.trySkip(1000) === true && raw.trySkip(ahead - 1000) === true, 'trySkip in pieces within skippableAhead')
      check(raw.skippableAhead() === 0, 'at the sample at 128 KiB')
      raw.pushCount(file.subarray(131_072))
      raw.endRead()
      const out = raw.finish()
      check(out.totalBytes === 300_000 && out.gaps === 0, `raw outcome: ${out.totalBytes} bytes, ${out.gaps} gaps`)
      equalBytes(raw.stdoutSlice(0, 16), file.subarray(0, 16), 'raw stdout')
      if (typeof raw.byteCounts === 'function') {
        const c = raw.byteCounts()
        check(c.wire === 600_000 && c.duplicate === 300_000 && c.skipped === 0, `byteCounts: ${JSON.stringify(c)}`)
      }
    },
  },
  {
    name: 'the JS side of pushCount: raw polls that grow, rotate and get cut give what push gives, read by read',
    run(StdoutAccumulator) {
      const proto = StdoutAccumulator.prototype
      check(Object.getOwnPropertySymbols(proto).includes(SKIP_LAYER), 'the package installs the JS side of pushCount on the prototype')
      // The internal method it pushes with is gone from the class (not part of the API).
      check(!Object.prototype.hasOwnProperty.call(proto, SETTLE_PUSH_COUNT), `${SETTLE_PUSH_COUNT} is an own property of the prototype`)
      check(!(SETTLE_PUSH_COUNT in new StdoutAccumulator({ capBytes: 1 })), `an accumulator has ${SETTLE_PUSH_COUNT}`)
      const { random, int } = generator(0x51c1)
      const SIZES = [1, 7, 100, 4096, 65_536, 65_536, 65_536, 70_000]
      let sawAhead = 0
      for (let round = 0; round < 16; round++) {
        const capBytes = [1000, 300_000, 4 << 20][round % 3]
        const slow = new StdoutAccumulator({ capBytes })
        const fast = new StdoutAccumulator({ capBytes })
        let file = new Uint8Array(0)
        let pattern = 1 + int(3)
        for (let step = 0; step < 14; step++) {
          const action = int(8)
          if (action <= 2) {
            // Growth: a little or a lot.
            const add = [10, 5000, 70_000, 300_000][int(4)]
            file = concat(file, fileBytes(pattern, file.length, add))
          } else if (action === 3) {
            // A rotation: the new file is shorter or longer than the old one, and may look the
            // same over its first bytes (the head, some samples), or everywhere (pattern 0).
            const keep = int(2) === 0 ? 0 : Math.min(file.length, [4096, 100_000, 200_000][int(3)])
            pattern = int(4)
            const length = [100, 50_000, file.length + 100_000][int(3)]
            file = concat(file.subarray(0, Math.min(keep, length)), fileBytes(pattern, Math.min(keep, length), Math.max(0, length - keep)))
          } else {
            // A poll of the whole file, or cut short (abandoned, or left open for the next
            // beginRead to abandon).
            const cut = int(4) === 0 ? int(file.length + 1) : file.length
            slow.beginRead()
            fast.beginRead()
            for (let at = 0; at < cut; ) {
              const size = Math.min(cut - at, int(6) === 0 ? 1 + int(70_000) : SIZES[int(SIZES.length)])
              const chunk = file.subarray(at, at + size)
              slow.push(chunk)
              const how = int(20)
              if (how === 0) fast.push(chunk) // the copying push in between settles what was counted
              else {
                fast.pushCount(chunk)
                if (how === 1) {
                  // A read-only call in between settles too, and answers as after a push.
                  check(fast.stdoutLength === slow.stdoutLength, `round ${round} step ${step}: stdoutLength mid-read`)
                } else if (how === 2) {
                  const ahead = fast.skippableAhead()
                  check(ahead === slow.skippableAhead(), `round ${round} step ${step}: skippableAhead mid-read`)
                  sawAhead = Math.max(sawAhead, Math.min(ahead, 1 << 30))
                }
              }
              at += size
            }
            if (cut === file.length) {
              slow.endRead()
              fast.endRead()
            } else if (int(2) === 0) {
              slow.abandonRead()
              fast.abandonRead()
            }
          }
          sameSnapshot(snapshot(fast), snapshot(slow), `round ${round} step ${step}: finish()`)
          sameSnapshot(counts(fast), counts(slow), `round ${round} step ${step}: byte counts`)
        }
        // pushCount outside a read (or with a bad chunk) still throws what push throws.
        fast.abandonRead()
        throws(() => fast.pushCount(enc('x')), Error, PUSH_OUTSIDE, `round ${round}: pushCount outside a read`)
        fast.beginRead()
        throws(() => fast.pushCount('x'), TypeError, CHUNK, `round ${round}: pushCount of a string`)
        for (const acc of [slow, fast]) if (typeof acc.free === 'function') acc.free()
      }
      check(sawAhead > 0, 'no poll was ever mid-way through skippable bytes: the test lost its point')
    },
  },
  {
    name: 'the JS side of pushCount: counted chunks are settled before every other call, and a Proxy is never taken for a chunk',
    run(StdoutAccumulator, surface) {
      const file = fileBytes(2, 0, 1 << 20)
      const make = (counted = true) => {
        const acc = new StdoutAccumulator({ capBytes: 2 << 20 })
        acc.beginRead()
        acc.pushCount(file)
        acc.endRead()
        acc.beginRead()
        // The first 256 KiB of the re-read: the hold, the samples at 64 and 128 KiB, and then
        // 64 KiB that nothing checks (up to the sample at 256 KiB).
        for (let at = 0; at < 196_608; at += 65_536) acc.pushCount(file.subarray(at, at + 65_536))
        if (counted) check(acc.pushCount(file.subarray(196_608, 262_144)) === 0, 'a re-served chunk accepts nothing')
        return acc
      }
      const reference = new StdoutAccumulator({ capBytes: 2 << 20 })
      reference.beginRead()
      reference.push(file)
      reference.endRead()
      reference.beginRead()
      reference.push(file.subarray(0, 262_144))
      const after = [
        ['skippableAhead', (acc) => acc.skippableAhead()],
        ['trySkip', (acc) => acc.trySkip(0)],
        ['stdoutLength', (acc) => acc.stdoutLength],
        ['stdoutSlice', (acc) => acc.stdoutSlice(-3).length],
        ['finish', (acc) => acc.finish().totalBytes],
        ['push', (acc) => acc.push(file.subarray(262_144, 262_145)).length],
        // A chunk the accumulator refuses: the counted bytes are settled (once) before it throws.
        ['pushCount of a string', (acc) => throws(() => acc.pushCount('x'), TypeError, CHUNK, 'pushCount(a string)')],
        ['pushCount of an Int8Array', (acc) => throws(() => acc.pushCount(new Int8Array(70_000)), TypeError, CHUNK, 'pushCount(an Int8Array)')],
      ]
      for (const [name, call] of after) {
        const acc = make()
        call(acc)
        if (name.startsWith('pushCount of') && typeof acc.byteCounts === 'function') {
          const wire = acc.byteCounts().wire
          check(wire === file.length + 262_144, `after ${name}: wire ${wire}, expected the counted bytes settled once`)
        }
        // Re-served bytes of the rest of the file, then 5 new ones: the counts only add up if the
        // 64 KiB counted on the JS side were settled before the call.
        const at = name === 'push' ? 262_145 : 262_144
        for (let i = at; i < file.length; i += 65_536) acc.pushCount(file.subarray(i, Math.min(file.length, i + 65_536)))
        check(acc.pushCount(enc('12345')) === 5, `after ${name}: the new bytes are accepted`)
        acc.endRead()
        const out = acc.finish()
        check(out.totalBytes === file.length + 5 && out.gaps === 0 && out.rotations === 0, `after ${name}: ${JSON.stringify({ ...out, stdout: out.stdout.length })}`)
        if (typeof acc.byteCounts === 'function') {
          const c = acc.byteCounts()
          check(c.wire === 2 * file.length + 5 && c.duplicate === file.length, `after ${name}: byteCounts ${JSON.stringify(c)}`)
        }
        const dispose = acc.free ?? acc.abandonRead
        dispose.call(acc)
      }
      // endRead right after counted chunks: a complete response shorter than the file is a
      // new file, decided on all the bytes fed (the counted ones included).
      const short = make()
      short.endRead()
      check(short.finish().rotations === 1, 'endRead settles first: the short response is a new file')
      if (typeof short.byteCounts === 'function') {
        const c = short.byteCounts()
        check(c.wire === file.length + 262_144, `endRead settles first: wire ${c.wire}`)
      }
      // A Proxy of a Uint8Array is not one, for the JS side (which could count it: the read may
      // pass over the next 64 KiB) as for the accumulator. (The wasm binding takes it for one
      // by `instanceof` and fails reading its length, with a TypeError of the engine's, after
      // which that accumulator is unusable: a matter of the binding, not of the JS side.)
      const acc = make(false)
      const proxy = new Proxy(file.subarray(196_608, 196_609), {})
      throws(() => acc.pushCount(proxy), TypeError, surface === 'wasm' ? /./ : CHUNK, 'pushCount(a Proxy of a Uint8Array)')
      if (surface === 'wasm') return
      check(acc.pushCount(file.subarray(196_608, 196_609)) === 0, 'the read continues')
      acc.endRead()
      check(acc.finish().rotations === 1, 'a response cut at 192 KiB + 1 byte and ended is a new file')
    },
  },
  {
    name: 'stdoutLength follows stdout; stdoutSlice copies a range of it, read like Uint8Array.prototype.slice',
    run(StdoutAccumulator) {
      const acc = new StdoutAccumulator({ capBytes: 8 })
      check(acc.stdoutLength === 0, `stdoutLength of a new accumulator: ${acc.stdoutLength}`)
      equalBytes(acc.stdoutSlice(), [], 'stdoutSlice() of a new accumulator')
      acc.beginRead()
      check(acc.pushCount(enc('0123456789')) === 8, 'pushCount stops at the cap')
      check(acc.stdoutLength === 8, `stdoutLength at the cap: ${acc.stdoutLength}`)
      const cases = [
        [[], '01234567'],
        [[3], '34567'],
        [[2, 5], '234'],
        [[-3], '567'],
        [[-100, -6], '01'],
        [[6, 2], ''],
        [[1.9, 4.2], '123'],
        [[NaN, Infinity], '01234567'],
        [[undefined, 3], '012'],
        [[100], ''],
      ]
      for (const [args, want] of cases) {
        const got = acc.stdoutSlice(...args)
        check(got instanceof Uint8Array && Object.getPrototypeOf(got) === Uint8Array.prototype, 'a plain Uint8Array')
        equalBytes(got, enc(want), `stdoutSlice(${args.map(String).join(', ')})`)
        equalBytes(got, enc('01234567').slice(...args), `stdoutSlice(${args.map(String).join(', ')}) as Uint8Array.slice`)
      }
      const copy = acc.stdoutSlice()
      copy[0] = 0x7a
      equalBytes(acc.stdoutSlice(0, 1), enc('0'), 'a slice is a copy')
      acc.endRead()
      const out = acc.finish()
      check(out.truncated && out.totalBytes === 10, 'past the cap')
      check(acc.stdoutLength === out.stdout.length, 'stdoutLength is finish().stdout.length')
    },
  },
  {
    name: 'the fast path (pushCount, stdoutSlice) gives the same stdout, truncated, gaps and counts as push, on random responses in both modes',
    run(StdoutAccumulator) {
      // A small deterministic generator (mulberry32), so a failure can be replayed.
      let seed = 0x5eed
      const random = () => {
        seed = (seed + 0x6d2b79f5) | 0
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296
      }
      const int = (n) => Math.floor(random() * n)
      for (let round = 0; round < 60; round++) {
        const timestamps = round % 2 === 1
        const capBytes = [1, 17, 300, 5000, 70000][int(5)]
        const slow = new StdoutAccumulator({ capBytes, timestamps })
        const fast = new StdoutAccumulator({ capBytes, timestamps })
        const viaPush = []
        const viaCount = []
        let file = new Uint8Array(0)
        let clock = 0
        const append = () => {
          let text = ''
          for (let i = int(40); i >= 0; i--) {
            const line = 'x'.repeat(int(120)) + (int(3) === 0 ? '\u00e9' : '')
            if (timestamps) {
              clock += int(4) === 0 ? 0 : 1 + int(900000000)
              const nanos = String(clock % 1000000000).padStart(9, '0')
              const seconds = Math.floor(clock / 1000000000)
              const mmss = [Math.floor(seconds / 60), seconds % 60].map((n) => String(n).padStart(2, '0')).join(':')
              text += `2026-11-26T10:${mmss}.${nanos}Z ${line}\n`
            } else {
              text += `${line}\n`
            }
          }
          const bytes = enc(text)
          const grown = new Uint8Array(file.length + bytes.length)
          grown.set(file)
          grown.set(bytes, file.length)
          file = grown
        }
        for (let step = 0; step < 12; step++) {
          const action = int(6)
          if (action <= 2) append()
          else if (action === 3 && !timestamps) file = new Uint8Array(0) // a rotation
          else {
            // A read of the file from its start, or (timestamped) from any line; cut or not.
            let start = 0
            if (timestamps && int(2) === 0) {
              const starts = [0]
              file.forEach((b, i) => b === 10 && i + 1 < file.length && starts.push(i + 1))
              start = starts[int(starts.length)]
            }
            const end = int(3) === 0 ? start + int(file.length - start + 1) : file.length
            viaPush.push(slow.beginRead())
            viaCount.push(fast.beginRead())
            for (let at = start; at < end; ) {
              const size = Math.min(end - at, [1, 7, 64, 4096, 65536, 1 << 20][int(6)])
              const chunk = file.subarray(at, at + size)
              viaPush.push(slow.push(chunk))
              const before = fast.stdoutLength
              const n = fast.pushCount(chunk)
              check(fast.stdoutLength === before + n, `round ${round}: stdoutLength does not follow pushCount`)
              viaCount.push(fast.stdoutSlice(before))
              at += size
            }
            const cut = end < file.length && int(2) === 0
            viaPush.push(cut ? slow.abandonRead() : slow.endRead())
            viaCount.push(cut ? fast.abandonRead() : fast.endRead())
          }
          check(slow.stdoutLength === fast.stdoutLength, `round ${round} step ${step}: stdoutLength ${slow.stdoutLength} vs ${fast.stdoutLength}`)
        }
        const a = snapshot(slow)
        const b = snapshot(fast)
        sameSnapshot(a, b, `round ${round} (${timestamps ? 'timestamped' : 'raw'}, cap ${capBytes})`)
        const joined = (parts) => parts.flatMap((p) => Array.from(p))
        equalBytes(joined(viaPush), a.stdout, `round ${round}: push deltas`)
        equalBytes(joined(viaCount), b.stdout, `round ${round}: pushCount + stdoutSlice deltas`)
        equalBytes(fast.stdoutSlice(), b.stdout, `round ${round}: stdoutSlice()`)
        for (const acc of [slow, fast]) if (typeof acc.free === 'function') acc.free()
      }
    },
  },
]

/**
 * The bindings' internal `__settlePushCount(chunk, pending)` on `Bare`, a StdoutAccumulator class
 * without the JS side of pushCount (which would have deleted it): `trySkip(pending)`, then
 * `pushCount(chunk)`, then the accepted count or minus `skippableAhead()`, in one call. Checked
 * against an accumulator that makes the three calls, over raw polls that re-serve a file and then
 * rotate it, and for its errors.
 */
export function internalSettlePushCount(Bare, surface) {
  const settlePushCount = Bare.prototype[SETTLE_PUSH_COUNT]
  check(typeof settlePushCount === 'function', `${SETTLE_PUSH_COUNT} is on the prototype of a class without the JS side`)
  check(!Object.keys(Bare.prototype).includes(SETTLE_PUSH_COUNT), `${SETTLE_PUSH_COUNT} is enumerable`)
  const MIB = 1 << 20
  const file = fileBytes(3, 0, 2 * MIB)
  const rotated = concat(file.subarray(0, 300_000), fileBytes(1, 300_000, MIB))
  const one = new Bare({ capBytes: 4 * MIB })
  const three = new Bare({ capBytes: 4 * MIB })
  let sawBudget = 0
  let sawSettled = 0
  for (const [poll, body] of [file.subarray(0, MIB), file, file, rotated].entries()) {
    one.beginRead()
    three.beginRead()
    let pending = 0
    let budget = 0
    for (let at = 0; at < body.length; at += 65_536) {
      const chunk = body.subarray(at, at + 65_536)
      // What the JS side does: count what fits in the budget, hand over the rest.
      if (chunk.length <= budget) {
        budget -= chunk.length
        pending += chunk.length
        continue
      }
      if (pending > 0) check(three.trySkip(pending) === true, `poll ${poll} at ${at}: trySkip(${pending})`)
      const accepted = three.pushCount(chunk)
      const ahead = accepted === 0 ? three.skippableAhead() : 0
      const result = settlePushCount.call(one, chunk, pending)
      sawSettled = Math.max(sawSettled, pending)
      check(Object.is(result, accepted > 0 ? accepted : ahead > 0 ? -ahead : 0), `poll ${poll} at ${at}: ${result}, expected ${accepted} accepted and ${ahead} ahead`)
      budget = result > 0 ? 0 : -result
      sawBudget = Math.max(sawBudget, budget)
      pending = 0
    }
    if (pending > 0) check(three.trySkip(pending) && one.trySkip(pending), `poll ${poll}: the last counted bytes`)
    equalBytes(one.endRead(), three.endRead(), `poll ${poll}: endRead()`)
    sameSnapshot(snapshot(one), snapshot(three), `poll ${poll}: finish()`)
    sameSnapshot(counts(one), counts(three), `poll ${poll}: byte counts`)
  }
  check(sawBudget > 0 && sawSettled > 0, `the polls never skipped (budget ${sawBudget}, settled ${sawSettled}): the test lost its point`)
  check(one.finish().rotations === 1, 'the last poll is a new file')
  // Timestamped mode: nothing is ever skippable, so accepting nothing answers 0 (not -0).
  const ts = new Bare({ capBytes: 100, timestamps: true })
  ts.beginRead()
  check(Object.is(settlePushCount.call(ts, enc('2026-11-26T10:00:00.0'), 0), 0), 'timestamped: a partial prefix accepts nothing')
  check(settlePushCount.call(ts, enc('00000001Z a\n'), 0) === 2, 'timestamped: the line is accepted')
  // Errors: a refused settle (nothing pushed), a bad pending count, a bad chunk (after settling),
  // outside a read.
  const acc = new Bare({ capBytes: 4 * MIB })
  acc.beginRead()
  check(settlePushCount.call(acc, file, 0) === file.length, 'the first response is accepted')
  acc.endRead()
  acc.beginRead()
  check(Object.is(settlePushCount.call(acc, file.subarray(0, 65_536), 0), 0), 'the hold accepts nothing and skips nothing yet')
  const wire = () => (typeof acc.byteCounts === 'function' ? acc.byteCounts().wire : 0)
  const before = wire()
  throws(() => settlePushCount.call(acc, file.subarray(65_536, 65_537), 1), Error, REFUSED, 'pending bytes at the sample at 64 KiB')
  check(wire() === before && acc.skippableAhead() === 0, 'a refused settle pushes nothing')
  for (const bad of [-1, 1.5, NaN, 2 ** 53]) throws(() => settlePushCount.call(acc, file.subarray(65_536, 65_537), bad), RangeError, SKIP_LENGTH, `pending ${bad}`)
  if (surface === 'node') throws(() => settlePushCount.call(acc, file.subarray(65_536, 65_537), '1'), TypeError, SKIP_LENGTH, 'pending as a string')
  check(wire() === before, 'a bad pending count pushes nothing')
  const ahead = settlePushCount.call(acc, file.subarray(65_536, 131_072), 0)
  check(Object.is(ahead, 0), `the sample at 64 KiB, then the one at 128 KiB: ${ahead}`)
  const next = settlePushCount.call(acc, file.subarray(131_072, 196_608), 0)
  check(next === -65_536, `past the sample at 128 KiB, the bytes up to the one at 256 KiB are skippable: ${next}`)
  throws(() => settlePushCount.call(acc, 'x', 65_536), TypeError, CHUNK, 'a string after counted bytes')
  // Settled once: the read is at the sample at 256 KiB (and the wire shows those bytes, once).
  check(acc.skippableAhead() === 0, `the counted bytes are settled before the chunk is refused: ${acc.skippableAhead()} still skippable`)
  if (typeof acc.byteCounts === 'function') check(wire() === before + 3 * 65_536, `settled once: wire ${wire() - before}`)
  acc.endRead()
  throws(() => settlePushCount.call(acc, enc('x'), 0), Error, PUSH_OUTSIDE, 'outside a read')
  if (surface === 'node') {
    for (const receiver of [{}, Object.create(Bare.prototype), undefined]) {
      throws(() => settlePushCount.call(receiver, enc('x'), 0), TypeError, /^pushCount: the receiver is not a StdoutAccumulator$/, 'a wrong receiver')
    }
  }
  for (const a of [one, three, ts, acc]) if (typeof a.free === 'function') a.free()
}

/**
 * What the JS side of pushCount is for, seen from the native side (`nativeCallsOfRawPolls`, same
 * arguments): of the chunks of its 8 polls, only those the accumulator looks at cross into native
 * code, and each crosses once.
 */
export function checkRawPollCrossings(Bare, installSkipLayer) {
  const { chunks, calls } = nativeCallsOfRawPolls(Bare, installSkipLayer)
  // 8 polls of 2 MiB and more, 64 KiB chunks: natively, per poll, the first 3 chunks (the hold,
  // the samples at 64 and 128 KiB), the chunks with the samples at 256 KiB, 512 KiB, 1 MiB and
  // 2 MiB, the last 4 KiB consumed and the new bytes; the rest is counted on the JS side.
  const expected = 8 * 32 + [0, 2, 4, 5, 7, 8, 10, 11].reduce((sum, extra) => sum + extra, 0)
  check(chunks === expected, `${chunks} chunks fed, expected ${expected}`)
  // One crossing per chunk handed over: the internal __settlePushCount settles what was
  // counted, pushes and says what may be skipped next (the copying `push` of the twin
  // accumulator is not counted). The polls grow, so each one ends with a chunk handed over,
  // which settles what was counted before it: endRead has nothing left to settle.
  const crossings = calls[SETTLE_PUSH_COUNT]
  check(crossings > 8 && crossings * 3 < chunks, `native ${SETTLE_PUSH_COUNT} calls: ${crossings} for ${chunks} chunks`)
  const others = { pushCount: calls.pushCount, trySkip: calls.trySkip, skippableAhead: calls.skippableAhead }
  check(Object.values(others).every((n) => n === 0), `other native calls: ${JSON.stringify(others)}`)
  // The mode is not asked: the native side answers for it.
  check(calls.timestamps === 0, `the mode was read ${calls.timestamps} times`)
}

/**
 * Raw polls of a growing 2 MiB file through `Bare`, a StdoutAccumulator class without the JS side
 * of pushCount (a second instance of the addon or of the wasm glue), once `installSkipLayer`
 * has put it on `Bare.prototype` over counting wrappers of the native methods. Returns how many
 * chunks were fed and how many times each native method was called, after checking that the
 * result is what `push` gives. What the layer is for, seen from the native side: without it,
 * every chunk is one native pushCount.
 */
function nativeCallsOfRawPolls(Bare, installSkipLayer) {
  const calls = { pushCount: 0, trySkip: 0, skippableAhead: 0, timestamps: 0, [SETTLE_PUSH_COUNT]: 0 }
  for (const name of ['pushCount', 'trySkip', 'skippableAhead', SETTLE_PUSH_COUNT]) {
    const native = Bare.prototype[name]
    Object.defineProperty(Bare.prototype, name, {
      ...Object.getOwnPropertyDescriptor(Bare.prototype, name),
      value: function (...args) {
        calls[name]++
        return native.apply(this, args)
      },
    })
  }
  const timestamps = Object.getOwnPropertyDescriptor(Bare.prototype, 'timestamps')
  Object.defineProperty(Bare.prototype, 'timestamps', {
    ...timestamps,
    get() {
      calls.timestamps++
      return timestamps.get.call(this)
    },
  })
  installSkipLayer(Bare)
  check(Object.getOwnPropertySymbols(Bare.prototype).includes(SKIP_LAYER), 'installed')
  check(!Object.prototype.hasOwnProperty.call(Bare.prototype, SETTLE_PUSH_COUNT), `${SETTLE_PUSH_COUNT} deleted`)
  const MIB = 1 << 20
  const file = fileBytes(3, 0, 3 * MIB)
  const counted = new Bare({ capBytes: 4 * MIB })
  const pushed = new Bare({ capBytes: 4 * MIB })
  let chunks = 0
  for (let poll = 0; poll < 8; poll++) {
    const body = file.subarray(0, 2 * MIB + poll * 100_000)
    counted.beginRead()
    pushed.beginRead()
    for (let at = 0; at < body.length; at += 65_536) {
      const chunk = body.subarray(at, at + 65_536)
      counted.pushCount(chunk)
      pushed.push(chunk)
      chunks++
    }
    counted.endRead()
    pushed.endRead()
    sameSnapshot(snapshot(counted), snapshot(pushed), `poll ${poll}: finish()`)
    sameSnapshot(counts(counted), counts(pushed), `poll ${poll}: byte counts`)
  }
  return { chunks, calls }
}
