// The replay worker: reads the recording file, replays it through the wasm accumulator and posts
// the results back, so that a 100 MiB recording never blocks the page. Loaded as a module worker
// by app.js; the wasm package sits in ./wasm/ (scripts/build-replay-page.sh puts it there).
import init, { StdoutAccumulator } from './wasm/tale_sandbox_wasm.js'
import { parseRecording, replay, sha256Hex } from '../src/index.js'

const ready = init({ module_or_path: new URL('./wasm/tale_sandbox_wasm_bg.wasm', import.meta.url) })

/** Offsets of line starts in `bytes` (the first is 0), for the page's virtualised stdout view. */
function lineStarts(bytes) {
  let count = 1
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) count++
  const starts = new Float64Array(count)
  let n = 1
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) starts[n++] = i + 1
  return starts
}

self.onmessage = async ({ data }) => {
  const started = performance.now()
  try {
    await ready
    self.postMessage({ type: 'progress', stage: 'reading', done: 0, total: 0 })
    const text = data.file ? await data.file.text() : data.text
    self.postMessage({ type: 'progress', stage: 'parsing', done: 0, total: 0, bytes: text.length })
    const recording = parseRecording(text)
    const run = replay(recording, StdoutAccumulator, {
      progressEvery: 32,
      onProgress: (done, total) => self.postMessage({ type: 'progress', stage: 'replaying', done, total }),
    })
    const stdout = run.result.stdout
    const sha256 = await sha256Hex(stdout)
    const starts = lineStarts(stdout)
    const { stdout: _bytes, ...result } = run.result
    const meta = recording.recording ?? null
    self.postMessage(
      {
        type: 'done',
        name: run.name,
        description: recording.description ?? '',
        version: run.version,
        mode: run.mode,
        capBytes: run.capBytes,
        result,
        reads: run.reads,
        differences: run.differences,
        matches: run.matches,
        expect: recording.expect ? { ...recording.expect, stdout: undefined } : null,
        meta: meta && { recorder: meta.recorder, pod: meta.pod ?? null, response: meta.response ?? null, otherReads: meta.otherReads ?? [] },
        sha256,
        fileChars: text.length,
        ms: Math.round(performance.now() - started),
        stdout: stdout.buffer,
        lineStarts: starts.buffer,
      },
      [stdout.buffer, starts.buffer],
    )
  } catch (error) {
    self.postMessage({ type: 'error', message: String(error && error.message ? error.message : error) })
  }
}
