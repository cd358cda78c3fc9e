// Type-checked (never run) by tests/wasm/types.test.js: @tale/sandbox-replay's declarations with
// the wasm package (byteCounts, the bundler build) as a browser test would use them.
import init, { StdoutAccumulator, type ByteCounts } from '../../bindings/wasm/pkg/index.js'
import { StdoutAccumulator as BundledAccumulator } from '../../bindings/wasm/pkg/bundler/index.js'
import {
  assertReplayMatches,
  parseRecording,
  replay,
  sha256Hex,
  type ReadReport,
  type Recording,
  type Replay,
} from '../../npm/sandbox-replay/src/index.js'

await init()
const counts: ByteCounts = new StdoutAccumulator({ capBytes: 16 }).byteCounts()
const framing: number = counts.framing + counts.gaps
const recording: Recording = parseRecording('{}')
const run: Replay = replay(recording, StdoutAccumulator, { onProgress: (done, total) => done / total })
const first: ReadReport | undefined = run.reads[0]
const matched: boolean | null = assertReplayMatches(recording, BundledAccumulator, { gaps: 0, stdout: 'x' }).matches
const hash: Promise<string> = sha256Hex(run.result.stdout)
{
  using disposable = new StdoutAccumulator({ capBytes: 4 })
  disposable.beginRead()
}
// @ts-expect-error an expectation is a field of the result
assertReplayMatches(recording, StdoutAccumulator, { stdoutBytes: 3 })

export { first, framing, hash, matched }
