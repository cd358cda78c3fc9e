// The replay page (npm/sandbox-replay/page) in headless Chromium, on a recording made by
// `tale-sandbox exec --record` on the embedded cluster (log rotating at least twice, follow
// streams cut so that several responses overlap): the page must show the stdout (by hash), gaps
// and truncated the native run reported, and keep a screenshot as an artifact
// (tests/browser/artifacts/replay-page.png, ignored by git). Also: drag and drop, the JS library
// in the page itself, and a 100 MiB recording rendered lazily.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { chromium } from 'playwright-core'

import { CHROMIUM_FLAGS, chromiumPath, serveFiles } from '../shared/chromium-helpers.js'
import { loadVectors, repoRoot, wasmPackage, wasmPkgDir } from '../shared/node-helpers.js'

const replayDir = join(repoRoot, 'npm', 'sandbox-replay')
// Longest prefix first: the page's wasm/ folder is the built package.
const ROUTES = [
  ['/page/wasm/', wasmPkgDir],
  ['/page/', join(replayDir, 'page')],
  ['/src/', join(replayDir, 'src')],
]
export const artifactsDir = join(repoRoot, 'tests', 'browser', 'artifacts')

/** The CLI binary, built (or found up to date) by cargo. */
function cliBinary() {
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(repoRoot, 'target')
  execFileSync('cargo', ['build', '--locked', '-p', 'tale-sandbox-cli', '--bin', 'tale-sandbox'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] })
  return join(targetDir, 'debug', 'tale-sandbox')
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')
const work = mkdtempSync(join(tmpdir(), 'tale-replay-page-'))
const recordingFile = join(work, 'run.json')
let native
let server
let context
let page
const pageErrors = []

/**
 * A synthetic recording of `totalBytes` log bytes: follow responses of 4 MiB in 64 KiB chunks,
 * each cut, each reconnect re-serving the last line taken (as a `sinceTime` resume does).
 * Returns the stdout bytes it carries (prefixes stripped, each line once) and the counts.
 */
async function writeLargeRecording(file, totalBytes) {
  const out = createWriteStream(file)
  const write = (text) => new Promise((resolve) => (out.write(text) ? resolve() : out.once('drain', resolve)))
  await write('{"version":2,"name":"large","description":"synthetic 100 MiB recording","capBytes":1048576,"mode":"timestamped","reads":[')
  const PREFIX = 31 // "2024-05-01T10:MM:SS.nnnnnnnnnZ "
  const line = (i) => `2024-05-01T10:${String(Math.floor(i / 600000)).padStart(2, '0')}:${String(Math.floor(i / 10000) % 60).padStart(2, '0')}.${String(i % 10000).padStart(9, '0')}Z line ${i} ${'x'.repeat(40)}\n`
  let written = 0
  let i = 0
  let reads = 0
  let content = 0
  while (written < totalBytes) {
    let response = i > 0 ? line(i - 1) : ''
    while (response.length < 4 * 1024 * 1024 && written + response.length < totalBytes) {
      const next = line(i++)
      content += next.length - PREFIX
      response += next
    }
    const chunks = []
    for (let at = 0; at < response.length; at += 65536) chunks.push(JSON.stringify(response.slice(at, at + 65536)))
    await write(`${reads++ ? ',' : ''}{"kind":"follow","chunks":[${chunks.join(',')}],"end":false,"how":"cut"}`)
    written += response.length
  }
  await write(']}')
  await new Promise((resolve) => out.end(resolve))
  return { lines: i, reads, content }
}

before(async () => {
  wasmPackage() // a clear error when the package is not built
  const cli = cliBinary()
  // 3 MiB at 512 KB/s, the log rotating at 1 MiB, follow streams cut every MiB: each reconnect
  // re-serves the last second (sinceTime), so responses overlap.
  const args = ['exec', '--size', '3MiB', '--rate', '512KB', '--rotate-size', '1MiB', '--cut-stream-every', '1MiB', '--no-progress', '--json', '--record', recordingFile]
  const run = spawnSync(cli, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
  if (run.status !== 0) throw new Error(`tale-sandbox ${args.join(' ')} exited ${run.status}:\n${run.stderr}`)
  const response = JSON.parse(run.stdout)
  // The flow's report, as the CLI prints it on stderr with --json.
  const flow = /rotations seen (\d+), gaps (\d+)/.exec(run.stderr)
  const cluster = /cluster\s+(\d+) rotation\(s\)/.exec(run.stderr)
  assert.ok(flow && cluster, run.stderr)
  // `replay` checks the recording against the run's own accumulator result (exit 1 otherwise).
  const summary = execFileSync(cli, ['replay', '--quiet', recordingFile], { encoding: 'utf8' })
  const recording = JSON.parse(readFileSync(recordingFile, 'utf8'))
  native = { response, recording, summary, gaps: Number(flow[2]), clusterRotations: Number(cluster[1]) }
  server = await serveFiles(ROUTES)
  const profile = join(work, 'profile')
  context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1400, height: 1000 } })
  page = context.pages()[0] ?? (await context.newPage())
  page.on('pageerror', (error) => pageErrors.push(String(error)))
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text())
  })
})

after(async () => {
  await context?.close()
  server?.close()
  rmSync(work, { recursive: true, force: true })
})

const base = () => `http://127.0.0.1:${server.address().port}`

async function waitDone() {
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 180_000 })
  const state = await page.$eval('#status', (el) => [el.dataset.state, el.textContent])
  assert.equal(state[0], 'done', state[1])
}

describe('the replay page in headless Chromium', () => {
  test('a recording of tale-sandbox exec shows the native run\'s stdout, gaps and truncated', async () => {
    const { response, recording } = native
    assert.equal(response.status, 'completed')
    assert.equal(recording.version, 2)
    assert.ok(recording.reads.length >= 3, `only ${recording.reads.length} responses recorded`)
    await page.goto(`${base()}/page/index.html`)
    await page.setInputFiles('#file', recordingFile)
    await waitDone()
    const shown = JSON.parse(await page.$eval('#result', (el) => el.dataset.json))
    const pageSha = await page.$eval('#stdout-info', (el) => el.dataset.sha256)
    // The page's stdout is the accumulator's: the run's response is that stdout with the phase
    // marker lines removed (the contract's assembly; this runner prints no control characters).
    const responseStdout = Buffer.from(response.stdoutBase64, 'base64')
    const accumulated = Buffer.from(recording.expect.stdout, 'utf8')
    const unmarked = Buffer.from(accumulated.toString('utf8').split('\n').filter((l) => l !== 'PHASE: running' && l !== 'PHASE: installing').join('\n'))
    assert.equal(pageSha, sha256(accumulated), 'the page shows the stdout the run accumulated')
    assert.equal(sha256(unmarked), sha256(responseStdout), 'which is the response stdout plus its phase markers')
    assert.equal(shown.stdoutBytes, accumulated.length)
    assert.ok(native.clusterRotations >= 2, `the log rotated only ${native.clusterRotations} time(s)`)
    assert.equal(shown.gaps, native.gaps, 'the gaps the native run reported')
    assert.equal(shown.gaps, recording.expect.gaps)
    assert.equal(shown.truncated, response.truncated.stdout)
    assert.equal(shown.truncated, false)
    assert.equal(await page.$eval('#verdict', (el) => el.dataset.matches), 'true')
    const rows = await page.$$eval('#reads .row', (els) => els.map((el) => el.textContent))
    assert.ok(rows.length >= 3)
    assert.ok(rows.some((row) => row.includes('cut')))
    mkdirSync(artifactsDir, { recursive: true })
    await page.screenshot({ path: join(artifactsDir, 'replay-page.png'), fullPage: true })
    assert.deepEqual(pageErrors, [])
  })

  test('a vector dropped on the page is replayed', async () => {
    await page.goto(`${base()}/page/index.html`)
    const vector = loadVectors().find((v) => v.name === 't1-rotation-on-final-poll')
    await page.evaluate((text) => {
      const transfer = new DataTransfer()
      transfer.items.add(new File([text], 't1.json', { type: 'application/json' }))
      document.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }))
    }, JSON.stringify(vector))
    await waitDone()
    const shown = JSON.parse(await page.$eval('#result', (el) => el.dataset.json))
    assert.deepEqual([shown.gaps, shown.rotations, shown.truncated, shown.stdoutBytes], [1, 1, true, 8])
    const notes = await page.$$eval('#reads .row', (els) => els.map((el) => el.textContent))
    assert.ok(notes[1].includes('rotation +1') && notes[1].includes('gap +1'), notes[1])
    assert.equal(await page.$eval('#verdict', (el) => el.dataset.matches), 'true')
  })

  test('the JS library replays every vector and the recording in the page', async () => {
    await page.goto(`${base()}/page/index.html`)
    const vectors = [...loadVectors(), { ...native.recording, file: 'run.json' }]
    const results = await page.evaluate(async (all) => {
      const lib = await import('/src/index.js')
      const wasm = await import('/page/wasm/tale_sandbox_wasm.js')
      await wasm.default()
      const failures = []
      for (const vector of all) {
        try {
          lib.assertReplayMatches(vector, wasm.StdoutAccumulator)
        } catch (error) {
          failures.push(`${vector.file}: ${error.message}`)
        }
      }
      return { failures, count: all.length }
    }, vectors)
    assert.deepEqual(results.failures, [])
    assert.equal(results.count, vectors.length)
  })

  test('a 100 MiB recording is replayed in the worker and rendered lazily', async () => {
    const file = join(work, 'large.json')
    const { lines, reads, content } = await writeLargeRecording(file, 100 * 1024 * 1024)
    assert.ok(statSync(file).size >= 100 * 1024 * 1024)
    await page.goto(`${base()}/page/index.html`)
    // The main thread's longest stall while the worker replays (printed, not asserted: timing).
    await page.evaluate(() => {
      window.longestStall = 0
      let last = performance.now()
      const tick = () => {
        const now = performance.now()
        window.longestStall = Math.max(window.longestStall, now - last)
        last = now
        if (document.getElementById('status').dataset.state !== 'done') setTimeout(tick, 10)
      }
      tick()
    })
    const started = Date.now()
    await page.setInputFiles('#file', file)
    await waitDone()
    const shown = JSON.parse(await page.$eval('#result', (el) => el.dataset.json))
    assert.equal(shown.totalBytes, content, 'every line once, re-served lines not repeated')
    assert.equal(shown.stdoutBytes, 1024 * 1024, 'the cap keeps the first MiB')
    assert.equal(shown.truncated, true)
    assert.equal(shown.gaps, 0)
    const drawn = await page.$$eval('#stdout .line', (els) => els.length)
    const rows = await page.$$eval('#reads .row', (els) => els.length)
    assert.ok(drawn > 0 && drawn < 200, `${drawn} stdout lines in the DOM`)
    assert.ok(rows > 0 && rows <= reads, `${rows} response rows in the DOM`)
    const stall = await page.evaluate(() => window.longestStall)
    console.log(`replay page: 100 MiB recording (${reads} responses, ${lines} lines) in ${Date.now() - started} ms; longest main-thread stall ${Math.round(stall)} ms`)
  })
})
