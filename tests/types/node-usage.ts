// Type-checked (never run) by tests/node/types.test.js: the committed declarations of
// @tale/sandbox-native must describe the API as users call it, and reject obvious misuse.
import { StdoutAccumulator, type StdoutAccumulatorOptions, type StdoutOutcome } from '../../npm/sandbox-native/index.js'

const options: StdoutAccumulatorOptions = { capBytes: 5 * 1024 * 1024, timestamps: true }
const acc = new StdoutAccumulator(options)
new StdoutAccumulator({ capBytes: 1024 })
const returned: Uint8Array[] = [acc.beginRead(), acc.push(new Uint8Array([104, 105])), acc.endRead(), acc.abandonRead()]
// The fast path: a count per push, stdout copied out only when asked for.
const accepted: number = acc.pushCount(new Uint8Array([10]))
const length: number = acc.stdoutLength
const tail: Uint8Array[] = [acc.stdoutSlice(length - accepted), acc.stdoutSlice(), acc.stdoutSlice(0, 1)]
const out: StdoutOutcome = acc.finish()
const fields: [Uint8Array, string, boolean, number, number, number, number] = [
  out.stdout,
  out.text,
  out.truncated,
  out.totalBytes,
  out.rotations,
  out.gaps,
  out.malformed,
]
// @ts-expect-error capBytes is required
new StdoutAccumulator({ timestamps: true })
// @ts-expect-error a chunk is a Uint8Array, not a string
acc.push('text')
// @ts-expect-error a chunk is a Uint8Array, not a string
acc.pushCount('text')
// @ts-expect-error stdoutLength is read-only
acc.stdoutLength = 3
// @ts-expect-error timestamps is a boolean
new StdoutAccumulator({ capBytes: 10, timestamps: 'yes' })

// What the package's pushCount asks (public too): bytes it may pass over, passing them over, the mode.
const ahead: number = acc.skippableAhead()
const passedOver: boolean = acc.trySkip(ahead)
const timestamped: boolean = acc.timestamps
// @ts-expect-error timestamps is read-only
acc.timestamps = false
// @ts-expect-error a length is a number
acc.trySkip('1')

export { fields, passedOver, returned, tail, timestamped }
