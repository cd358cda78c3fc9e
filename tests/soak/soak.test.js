// Soak: many executions through the native KubernetesBackend (the Node binding, as the service
// uses it), many at a time, on the embedded test cluster, with faults on every route the driver
// uses (500, 429, connection resets, cut and stalled responses), a small containerLogMaxSize drawn
// from the seed, writes of random sizes and extra rotations at random moments (SOAK_FORCED_ROTATIONS=0
// leaves them out). Every run is compared with the
// cluster's ground truth (`/sim/v1/.../containers/runner/truth`: everything the runner wrote):
// stdout is byte-exact, or flagged `truncated.stdout` and made of the truth's bytes in order (the
// places where bytes are missing are counted) — never a wrong or doubled byte, and never missing
// bytes without the flag, except where the cluster shows that no read of the log API could have
// served them: a rotated file its follow stream skipped, or the end of a file that was rotated
// before any read got there, which is all that is missing (counted apart: `lostByFollowSkip`,
// `lostUnserved`). Every response is
// well-formed (spec §3.2). Afterwards no pod and no Secret is left but those whose (faulted)
// cleanup delete failed with a warning, which the test then removes as the service's sweep
// would; the cluster's metrics must then show none. The process survives it all (an uncaught
// error fails the test).
//
// Seeded: the same SOAK_SEED gives the same runs (scenarios, rotations, aborts, fault plan); the
// seed is in the test's name and in every failure. The fault injector draws in request order,
// which depends on timing, so which request gets which fault varies between runs of one seed.
//
//   node --test tests/soak/                                   # the short run of the test command
//   SOAK_EXECUTIONS=1000 SOAK_CONCURRENCY=24 SOAK_SEED=12 node --test tests/soak/   # the long run
// (TALE_TESTCLUSTER_BIN or the cargo target dir's debug tale-testcluster, and the built addon.)
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

import { NS, api, raw, request, serviceConfig, setScenario, stdoutOf, testclusterBin, until } from '../shared/backend-helpers.js'
import { repoRoot } from '../shared/node-helpers.js'

const require = createRequire(import.meta.url)
const { KubernetesBackend } = require(join(repoRoot, 'npm', 'sandbox-native'))

testclusterBin()
const { startCluster } = await import('../cluster/cluster.mjs')

const EXECUTIONS = Number(process.env.SOAK_EXECUTIONS ?? 80)
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 16)
const SEED = Number(process.env.SOAK_SEED ?? 1)
const FORCED_ROTATIONS = process.env.SOAK_FORCED_ROTATIONS !== '0'
for (const [name, value] of [['SOAK_EXECUTIONS', EXECUTIONS], ['SOAK_CONCURRENCY', CONCURRENCY], ['SOAK_SEED', SEED]]) {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${process.env[name]}`)
}
/** stdoutMaxBytes: some runs print more than this. */
const CAP = 160 * 1024
/** How long a deleted pod stays visible (terminating), so that its truth can still be read. */
const LINGER_MS = 5_000
/** The cluster's request body limit (crates/testcluster MAX_BODY_BYTES); scenarios stay far below. */
const MAX_BODY_BYTES = 3 * 1024 * 1024
const STATUSES = new Set(['completed', 'failed', 'cancelled'])
/** Spec §3.2: the keys of an ExecuteResponse in order (optional ones may be absent). */
const KEY_ORDER = ['status', 'exitCode', 'errorCode', 'errorMessage', 'stdoutBase64', 'stderrBase64', 'durationMs', 'truncated', 'outputFiles', 'steps', 'uploadStats', 'timing', 'priorStage']
const ERROR_KEYS = ['status', 'exitCode', 'errorCode', 'errorMessage', 'stdoutBase64', 'stderrBase64', 'durationMs', 'truncated', 'outputFiles']

/** A small seeded generator (mulberry32). */
function generator(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), pick: (xs) => xs[Math.floor(next() * xs.length)] }
}

/** The generator of run `i`: independent of the order in which the workers take the runs. */
const runGenerator = (i) => generator(Math.imul(SEED, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b))

const soakRand = generator(Math.imul(SEED, 0x2545f491) ^ 0x5bd1e995)
/** containerLogMaxSize of this soak: small, so that most runs rotate several times. */
const MAX_LOG_SIZE = soakRand.pick([16, 24, 32, 48, 64]) * 1024

/** Faults on every route an execution uses; low enough that most runs still complete. */
const FAULTS = {
  seed: SEED,
  rules: [
    { route: 'pods.log', container: 'runner', probability: 0.08, fault: { cutBody: { afterBytes: soakRand.int(1_000, 40_000), abrupt: true } } },
    { route: 'pods.log', container: 'runner', probability: 0.05, fault: { cutBody: { afterBytes: soakRand.int(500, 20_000), abrupt: false } } },
    { route: 'pods.log', probability: 0.03, fault: { status: { code: 500 } } },
    { route: 'pods.log', probability: 0.02, fault: { tooManyRequests: { retryAfterSeconds: 1 } } },
    { route: 'pods.log', probability: 0.02, fault: { stall: { ms: 400 } } },
    { route: 'pods.log', probability: 0.02, fault: 'reset' },
    { route: 'pods.get', probability: 0.04, fault: { status: { code: 503 } } },
    { route: 'pods.get', probability: 0.02, fault: 'reset' },
    { route: 'pods.watch', probability: 0.04, fault: 'reset' },
    { route: 'pods.watch', probability: 0.03, fault: { tooManyRequests: { retryAfterSeconds: 1 } } },
    { route: 'pods.watch', probability: 0.02, fault: { stall: { ms: 300 } } },
    { route: 'pods.create', probability: 0.02, fault: { status: { code: 500 } } },
    { route: 'pods.create', probability: 0.01, fault: 'reset' },
    { route: 'pods.delete', probability: 0.02, fault: { status: { code: 500 } } },
    { route: 'pods.delete', probability: 0.01, fault: { stall: { ms: 300 } } },
    { route: 'secrets.create', probability: 0.02, fault: { tooManyRequests: { retryAfterSeconds: 1 } } },
    { route: 'secrets.create', probability: 0.01, fault: 'reset' },
    { route: 'secrets.delete', probability: 0.02, fault: 'reset' },
    { route: 'secrets.delete', probability: 0.01, fault: { status: { code: 500 } } },
    // And on every route for sure, whatever the draws: one of the first matching requests.
    ...['pods.create', 'pods.watch', 'pods.log', 'pods.delete', 'secrets.create', 'secrets.delete'].map((route) => ({
      route,
      onRequests: [soakRand.int(2, 12)],
      fault: soakRand.pick([{ status: { code: 500 } }, { tooManyRequests: { retryAfterSeconds: 1 } }, 'reset']),
    })),
  ],
}

/**
 * Line `n` of run `id`, `len` bytes with its newline: `<id> <n> ` and a filler that repeats the line
 * number, so that any piece of a few dozen bytes says which line it comes from.
 */
function lineFor(id, n, len) {
  const head = `${id} ${String(n).padStart(6, '0')} `
  const unit = `<${n}> héllo wörld · `
  const filler = unit.repeat(Math.ceil(len / Buffer.byteLength(unit)) + 1)
  const bytes = Buffer.from(head + filler)
  // Cut at a character boundary, at most len - 1 bytes.
  let end = Math.max(0, len - 1)
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1
  return Buffer.concat([bytes.subarray(0, end), Buffer.from('\n')])
}

/** Run `i`: its scenario, what its runner prints, when it is aborted, when its log is rotated. */
function plan(i) {
  const rand = runGenerator(i)
  const id = `soak${SEED}x${i}`
  const len = rand.pick([40, 200, 3_000, 40_000])
  const target = rand.pick([0, 300, 20_000, 90_000, 150_000, 240_000, 400_000])
  const lines = Math.ceil(target / len)
  // Line 0 is short (see below); the others are `len` bytes.
  const short = (n) => n === 0 || (n === lines - 1 && lines > 1)
  const text = Buffer.concat(Array.from({ length: lines }, (_, n) => lineFor(id, n, short(n) ? Math.min(len, 60) : len)))
  // Written in pieces of random sizes (split anywhere, inside lines and characters), with short
  // pauses, so that rotations and cuts fall at every kind of place while the log is followed.
  // The first bytes are written alone and the runner then waits until the driver has taken them: a
  // rotation before the first byte is read is invisible to any client of the log API (README: "What
  // it assumes"), so no rotation may come before that.
  // (A whole line — the live tail reports whole lines — of at most 60 bytes: far below any
  // containerLogMaxSize, so that nothing rotates before.)
  // The last line is short and written alone: a rotation right after it leaves the runner's last
  // log file empty, and the runner exits at once, often before the follow stream has brought
  // everything (both places where the flow once lost bytes silently).
  const last = lines > 1 ? lineFor(id, lines - 1, Math.min(len, 60)).length : 0
  const first = lines > 1 ? lineFor(id, 0, Math.min(len, 60)).length : 0
  const steps = first ? [{ write: { base64: text.subarray(0, first).toString('base64') } }, { waitRelease: { name: 'first-line-read' } }] : []
  for (let at = first; at < text.length - last; ) {
    const size = Math.min(text.length - last - at, rand.int(1, 24 * 1024))
    steps.push({ write: { base64: text.subarray(at, at + size).toString('base64') } })
    if (rand.next() < 0.3) steps.push({ sleep: { ms: rand.int(1, 40) } })
    at += size
  }
  if (last) steps.push({ write: { base64: text.subarray(text.length - last).toString('base64') } })
  const abortAfterMs = rand.next() < 0.06 ? rand.int(20, 1_500) : undefined
  // Extra rotations at random moments (the runner may have exited by then).
  const rotateAtMs = Array.from({ length: rand.int(0, 3) }, () => rand.int(0, 400)).sort((a, b) => a - b)
  if (!FORCED_ROTATIONS) rotateAtMs.length = 0
  const scenario = {
    scheduleDelayMs: rand.int(0, 50),
    runner: { output: steps, userExitCode: rand.next() < 0.1 ? 3 : 0 },
    terminationLingerMs: LINGER_MS,
  }
  return { id, text, abortAfterMs, rotateAtMs, scenario }
}

/** Problems with the shape of a response (spec §3.2), as strings. */
function shapeProblems(r) {
  const problems = []
  const keys = Object.keys(r)
  const order = r.uploadStats === undefined ? ERROR_KEYS : KEY_ORDER
  const positions = keys.map((k) => order.indexOf(k))
  if (positions.some((p) => p < 0)) problems.push(`unexpected keys: ${keys.filter((k) => !order.includes(k))}`)
  if (positions.some((p, j) => j > 0 && p <= positions[j - 1])) problems.push(`keys out of order: ${keys}`)
  if (!STATUSES.has(r.status)) problems.push(`status ${r.status}`)
  if (!(r.exitCode === null || Number.isInteger(r.exitCode))) problems.push(`exitCode ${r.exitCode}`)
  if ((r.status === 'completed') !== (r.errorCode === undefined)) problems.push(`errorCode ${r.errorCode} with status ${r.status}`)
  if ((r.errorCode === undefined) !== (r.errorMessage === undefined)) problems.push('errorCode without errorMessage or the reverse')
  if (r.errorMessage !== undefined && (typeof r.errorMessage !== 'string' || r.errorMessage === '')) problems.push('empty errorMessage')
  for (const k of ['stdoutBase64', 'stderrBase64']) {
    if (typeof r[k] !== 'string' || Buffer.from(r[k], 'base64').toString('base64') !== r[k]) problems.push(`${k} is not canonical base64`)
  }
  if (!Number.isInteger(r.durationMs) || r.durationMs < 0) problems.push(`durationMs ${r.durationMs}`)
  const t = r.truncated
  if (typeof t?.stdout !== 'boolean' || typeof t?.stderr !== 'boolean' || !Number.isInteger(t?.files)) problems.push(`truncated ${JSON.stringify(t)}`)
  if (!Array.isArray(r.outputFiles)) problems.push('outputFiles is not an array')
  if (r.uploadStats !== undefined) {
    const u = r.uploadStats
    if (!Number.isInteger(u.attempted) || !Number.isInteger(u.succeeded) || !Array.isArray(u.failures)) problems.push(`uploadStats ${JSON.stringify(u)}`)
    const tm = r.timing
    if (!tm || !['stageMs', 'executeMs', 'harvestMs', 'uploadMs'].every((k) => typeof tm[k] === 'number')) problems.push(`timing ${JSON.stringify(tm)}`)
  }
  if (r.status === 'cancelled' && (r.errorCode !== 'CANCELLED' || r.exitCode !== null)) problems.push(`cancelled with ${r.errorCode}/${r.exitCode}`)
  return problems
}

/**
 * Reads `out` as pieces of `truth` in order: each piece continues where the last ended (no gap)
 * or starts further on (a gap). Returns `{ gaps }`, or `{ wrong }` when some bytes are not the
 * truth's next bytes (wrong, doubled or out of order). Pieces are located by their first 48 bytes,
 * which name their line (see lineFor).
 */
function piecesOf(out, truth) {
  let gaps = 0
  let t = 0
  let i = 0
  let atGap = false
  while (i < out.length) {
    let k = 0
    while (i + k < out.length && t + k < truth.length && out[i + k] === truth[t + k]) k += 1
    if (k > 0) {
      gaps += atGap ? 1 : 0
      atGap = false
      i += k
      t += k
      continue
    }
    // stdout is text (spec §3.2): where a gap cut a character, the bytes left of it decode as
    // U+FFFD (the truth, valid UTF-8, has none). Allowed only at a gap.
    if (out[i] === 0xef && out[i + 1] === 0xbf && out[i + 2] === 0xbd) {
      atGap = true
      i += 3
      continue
    }
    const probe = out.subarray(i, Math.min(out.length, i + 48))
    const found = truth.indexOf(probe, t + 1)
    if (found < 0) {
      return { wrong: `byte ${i}: ${JSON.stringify(probe.toString('utf8').slice(0, 60))} is not in the truth after byte ${t}` }
    }
    gaps += 1
    atGap = false
    t = found
  }
  return { gaps: gaps + (atGap || t < truth.length ? 1 : 0) }
}

/** `truth` capped at `cap` bytes as the response renders it: a character cut by the cap is dropped. */
function capped(truth, cap) {
  if (truth.length <= cap) return truth
  let end = cap
  while (end > 0 && (truth[end] & 0xc0) === 0x80) end -= 1
  return truth.subarray(0, end)
}

/**
 * With SOAK_DUMP_DIR set, a run found wrong (or flagged truncated though complete, under
 * `<id>.flagged-complete`) leaves its stdout, truth and response there, and the
 * cluster's account of its log reads: every `pods/log` request of its pod (query, status, faults,
 * bytes sent, how it ended, when) with its containers' rotations and exits (`.log-requests.json`),
 * and the runner log's info (`.info.json`).
 */
async function dump(cluster, name, out, truth, response) {
  const dir = process.env.SOAK_DUMP_DIR
  if (!dir) return
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, `${name}.stdout`), out)
  writeFileSync(join(dir, `${name}.truth`), truth)
  writeFileSync(join(dir, `${name}.response.json`), JSON.stringify(response, null, 1))
  const pod = `/sim/v1/namespaces/${NS}/pods/${podName(name.split('.')[0])}`
  for (const [what, path] of [['log-requests', `${pod}/log-requests`], ['info', `${pod}/containers/runner/info`]]) {
    const { status, body } = await raw(cluster, 'GET', path).catch((e) => ({ status: 0, body: Buffer.from(String(e)) }))
    writeFileSync(join(dir, `${name}.${what}.json`), status === 200 ? JSON.stringify(JSON.parse(body), null, 1) : `${status} ${body}`)
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

test(`soak (seed ${SEED}): ${EXECUTIONS} executions, ${CONCURRENCY} at a time, faults on every route, rotations at ${MAX_LOG_SIZE / 1024} KiB`, { timeout: 60 * 60_000 }, async () => {
  const where = `(SOAK_SEED=${SEED} SOAK_EXECUTIONS=${EXECUTIONS} SOAK_CONCURRENCY=${CONCURRENCY})`
  const cluster = await startCluster(['--token', 'soak-api-token', '--max-log-size', String(MAX_LOG_SIZE), '--rotation-period-ms', '10', '--faults', JSON.stringify(FAULTS)])
  const cfg = serviceConfig({ stdoutMaxBytes: CAP, sandboxToken: 'soak-sandbox-token-5c1e' })
  const warnings = []
  const logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) }
  const backend = new KubernetesBackend(cfg, { kubeconfig: cluster.kubeconfig, logger })
  const tally = { exact: 0, cappedExact: 0, truncatedWithGaps: 0, gaps: 0, cancelled: 0, failed: 0, noPod: 0, forcedRotations: 0, lostByFollowSkip: 0, lostUnserved: 0, flaggedComplete: 0 }
  /** Runs whose stdout misses bytes without `truncated.stdout` (see the end). */
  const unflagged = []
  const wrong = []
  const malformed = []
  const slowest = []
  let nextIndex = 0
  let peakRss = process.memoryUsage().rss
  const began = Date.now()
  try {
    const one = async (i) => {
      const { id, text, abortAfterMs, rotateAtMs, scenario } = plan(i)
      const body = JSON.stringify(scenario)
      assert.ok(body.length < MAX_BODY_BYTES / 2, `${id}: the scenario fits the cluster's body limit`)
      await setScenario(cluster, id, scenario)
      const pod = `/sim/v1/namespaces/${NS}/pods/${podName(id)}/containers/runner`
      const controller = new AbortController()
      const timers = []
      let released = false
      // The first piece of stdout the driver hands over releases the runner; extra rotations
      // follow at random moments (the runner may have exited by then: a 409, not counted).
      const onStdoutDelta = () => {
        if (released) return
        released = true
        raw(cluster, 'POST', `/sim/v1/namespaces/${NS}/pods/${podName(id)}/release/first-line-read`).catch(() => {})
        for (const ms of rotateAtMs) {
          timers.push(setTimeout(() => raw(cluster, 'POST', `${pod}/rotate`).then(({ status }) => status < 300 && (tally.forcedRotations += 1), () => {}), ms))
        }
      }
      if (abortAfterMs !== undefined) timers.push(setTimeout(() => controller.abort(), abortAfterMs))
      const runBegan = Date.now()
      const response = await backend.execute(cfg, request(id), { signal: controller.signal, startedAtMs: Date.now(), onStdoutDelta })
      for (const t of timers) clearTimeout(t)
      slowest.push({ id, ms: Date.now() - runBegan, status: response.status, errorCode: response.errorCode, released })
      slowest.sort((a, b) => b.ms - a.ms).splice(3)
      peakRss = Math.max(peakRss, process.memoryUsage().rss)
      const problems = shapeProblems(response)
      if (problems.length) malformed.push(`${id}: ${problems.join('; ')}: ${JSON.stringify(response).slice(0, 400)}`)
      const out = stdoutOf(response)
      if (response.status === 'cancelled') tally.cancelled += 1
      else if (response.status !== 'completed') tally.failed += 1
      if (out.length > CAP) wrong.push(`${id}: ${out.length} bytes of stdout, more than stdoutMaxBytes ${CAP}`)
      // The truth, while the deleted pod lingers (a run that never created its pod has none).
      const { status, body: truth } = await raw(cluster, 'GET', `${pod}/truth`)
      if (status !== 200) {
        tally.noPod += 1
        if (out.length !== 0) wrong.push(`${id}: ${out.length} bytes of stdout without a runner (truth: ${status})`)
        return
      }
      if (!truth.equals(text.subarray(0, truth.length))) wrong.push(`${id}: the cluster's truth is not what the scenario printed`)
      if (!response.truncated.stdout) {
        if (response.status === 'completed') {
          // Complete and not truncated: byte-exact.
          if (out.equals(truth)) tally.exact += 1
          else {
            const pieces = piecesOf(out, truth)
            const message = `${id}: not truncated, yet ${out.length} bytes differ from the truth's ${truth.length} (${JSON.stringify(pieces)})`
            // Missing bytes only: wrong, unless the cluster says no read could serve them: the
            // end of a file rotated before any read got there (a stream that a server ended
            // cleanly at a line end looks like the kubelet's end, README: "Ends a server may make
            // look normal"), or a file its follow stream skipped (decided at the end, from the
            // metrics).
            if (pieces.wrong) wrong.push(message)
            else {
              const info = await raw(cluster, 'GET', `${pod}/info`)
              const unservedBytes = info.status === 200 ? JSON.parse(info.body).unservedBytes : 0
              const missingTail = truth.subarray(0, out.length).equals(out) ? truth.length - out.length : -1
              unflagged.push({ id, message: `${message}; unserved bytes ${unservedBytes}`, unservedTail: missingTail > 0 && missingTail === unservedBytes })
            }
            await dump(cluster, id, out, truth, response)
          }
        } else if (!truth.subarray(0, out.length).equals(out)) {
          // Cancelled or failed before the end: what was seen so far, a prefix of the truth.
          wrong.push(`${id}: ${response.status} and not truncated, yet stdout is not a prefix of the truth`)
          await dump(cluster, id, out, truth, response)
        }
        return
      }
      if (out.equals(capped(truth, CAP))) {
        // Flagged, yet complete: a loss the flow could not rule out (README: "Ends a server may
        // make look normal") that did not happen; counted apart from the runs over the cap.
        if (truth.length <= CAP) {
          tally.flaggedComplete += 1
          // Not wrong, but a flag the flow could perhaps have spared: kept for a look.
          await dump(cluster, `${id}.flagged-complete`, out, truth, response)
        } else tally.cappedExact += 1
        return
      }
      const pieces = piecesOf(out, truth)
      if (pieces.wrong) {
        wrong.push(`${id}: truncated, with wrong bytes: ${pieces.wrong}`)
        await dump(cluster, id, out, truth, response)
      }
      else {
        tally.truncatedWithGaps += 1
        tally.gaps += pieces.gaps
      }
    }
    const worker = async () => {
      for (;;) {
        const i = nextIndex++
        if (i >= EXECUTIONS) return
        await one(i)
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  } finally {
    await backend.shutdown()
  }
  const seconds = (Date.now() - began) / 1000
  try {
    // Leftovers. A cleanup delete is not retried (spec §1.2 step 16, as in the TypeScript): one
    // that a fault made fail leaves its object behind and is warned about, and the service's
    // periodic sweep removes it once it is stale (minutes later). So once the deleted pods
    // stopped lingering, exactly the objects whose delete failed with a warning may remain — no
    // other — and the test then deletes them as the sweep would.
    await sleep(LINGER_MS + 200)
    const failedDeletes = (kind) => new Set(warnings.flatMap((w) => w.match(new RegExp(`delete ${kind} (\\S+) failed`))?.slice(1) ?? []))
    const podDeletesFailed = failedDeletes('pod')
    const secretDeletesFailed = failedDeletes('secret')
    await api(cluster, 'DELETE', '/sim/v1/faults')
    const leftPods = (await api(cluster, 'GET', `/api/v1/namespaces/${NS}/pods`)).items.map((p) => p.metadata.name)
    const leftSecrets = (await api(cluster, 'GET', `/api/v1/namespaces/${NS}/secrets`)).items.map((s) => s.metadata.name)
    const unexplained = [...leftPods.filter((n) => !podDeletesFailed.has(n)), ...leftSecrets.filter((n) => !secretDeletesFailed.has(n))]
    for (const name of leftPods) await api(cluster, 'DELETE', `/api/v1/namespaces/${NS}/pods/${name}`)
    for (const name of leftSecrets) await api(cluster, 'DELETE', `/api/v1/namespaces/${NS}/secrets/${name}`)
    const metrics = await until(async () => {
      const m = await api(cluster, 'GET', '/sim/v1/metrics')
      return m.livePods === 0 && m.liveSecrets === 0 ? m : null
    }, 'no pod and no secret left', LINGER_MS + 10_000).catch(async (e) => {
      const m = await api(cluster, 'GET', '/sim/v1/metrics')
      throw new Error(`${e.message} ${where}: ${m.livePods} pods, ${m.liveSecrets} secrets`)
    })
    const faults = {}
    for (const f of metrics.faults) faults[`${f.route} ${f.kind}`] = (faults[`${f.route} ${f.kind}`] ?? 0) + f.count
    const injected = Object.values(faults).reduce((a, b) => a + b, 0)
    // A follow stream that two rotations overtake between two reads drains its own old file,
    // then reopens 0.log: the file in between is never served to anyone (the kubelet does the
    // same; no client of the log API can see it). The cluster counts such skips per container.
    // A run that misses bytes silently is wrong unless its runner's stream skipped a file.
    const skippedPods = new Set((metrics.followSkips ?? []).filter((k) => k.container === 'runner').map((k) => k.pod))
    for (const { id, message, unservedTail } of unflagged) {
      if (skippedPods.has(podName(id))) tally.lostByFollowSkip += 1
      else if (unservedTail) tally.lostUnserved += 1
      else wrong.push(message)
    }
    const summary = {
      seed: SEED,
      executions: EXECUTIONS,
      concurrency: CONCURRENCY,
      maxLogSize: MAX_LOG_SIZE,
      seconds: Number(seconds.toFixed(1)),
      ...tally,
      wrong: wrong.length,
      malformed: malformed.length,
      rotations: metrics.rotations,
      faultsInjected: injected,
      leftByFailedDeletes: { pods: leftPods.length, secrets: leftSecrets.length, podDeletesFailed: podDeletesFailed.size, secretDeletesFailed: secretDeletesFailed.size },
      left: { pods: metrics.livePods, secrets: metrics.liveSecrets },
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      slowest,
      warnings: warnings.length,
    }
    console.log(`soak summary ${JSON.stringify(summary)}`)
    console.log(`soak faults per route ${JSON.stringify(faults)}`)
    assert.deepEqual(wrong, [], `wrong bytes ${where}`)
    assert.deepEqual(malformed, [], `malformed responses ${where}`)
    assert.deepEqual(unexplained, [], `every object left behind is one whose delete failed with a warning ${where}`)
    for (const route of ['pods.create', 'pods.watch', 'pods.log', 'pods.delete', 'secrets.create', 'secrets.delete']) {
      assert.ok(Object.keys(faults).some((k) => k.startsWith(`${route} `)), `a fault on ${route} ${where}`)
    }
    assert.ok(injected > 0 && metrics.rotations > EXECUTIONS / 4, `faults (${injected}) and rotations (${metrics.rotations}) happened ${where}`)
    assert.ok(tally.exact + tally.cappedExact + tally.flaggedComplete >= EXECUTIONS / 2, `most runs complete exactly ${where}: ${JSON.stringify(tally)}`)
    assert.ok(!warnings.some((w) => w.includes('soak-api-token') || w.includes(cfg.sandboxToken)), `no token in a warning ${where}`)
  } finally {
    await cluster.stop()
  }
})

/** The pod name of an execution (spec §4.1): `tale-sbx-` and 16 hex digits of sha1(id). */
function podName(id) {
  return `tale-sbx-${createHash('sha1').update(id).digest('hex').slice(0, 16)}`
}
