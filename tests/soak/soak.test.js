// Soak: many executions through the native KubernetesBackend (the Node binding, as the service
// uses it) on the embedded test cluster, with faults on every route (500, 429, connection
// resets, cut and stalled responses) and a small containerLogMaxSize rotating every runner log
// several times. Each run is compared with the cluster's ground truth (everything the runner
// wrote): stdout is byte-exact, or flagged `truncated.stdout` and made of the truth's lines in
// order — never a wrong or doubled byte; every response is well-formed; afterwards no pod and no
// Secret is left. The process must survive it all.
//
// NOT YET IN THE TEST COMMAND: the short run took 200 s and ended in an uncaught EPIPE (being
// investigated, issue 12). Run by hand (TALE_TESTCLUSTER_BIN set, addon built):
//   SOAK_EXECUTIONS=1000 SOAK_CONCURRENCY=24 node --test tests/soak/soak.test.js
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

import { NS, api, raw, request, serviceConfig, setScenario, stdoutOf, testclusterBin, until } from '../shared/backend-helpers.js'
import { repoRoot } from '../shared/node-helpers.js'

const require = createRequire(import.meta.url)
const { KubernetesBackend } = require(join(repoRoot, 'npm', 'sandbox-native'))

testclusterBin()
const { startCluster } = await import('../cluster/cluster.mjs')

const EXECUTIONS = Number(process.env.SOAK_EXECUTIONS ?? 40)
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 10)
const SEED = Number(process.env.SOAK_SEED ?? 7)
const CAP = 256 * 1024
const LINGER_MS = 20_000
const STATUSES = new Set(['completed', 'failed', 'timeout', 'cancelled'])

/** A small seeded generator (mulberry32): the same seed gives the same soak. */
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

/** Faults on every route the backend uses; probabilities low enough that most runs complete. */
const FAULTS = {
  seed: SEED,
  rules: [
    { route: 'pods.log', container: 'runner', probability: 0.08, fault: { cutBody: { afterBytes: 20_000, abrupt: true } } },
    { route: 'pods.log', container: 'runner', probability: 0.04, fault: { cutBody: { afterBytes: 7_000, abrupt: false } } },
    { route: 'pods.log', probability: 0.03, fault: { status: { code: 500 } } },
    { route: 'pods.log', probability: 0.02, fault: { stall: { ms: 1_500 } } },
    { route: 'pods.log', probability: 0.02, fault: 'reset' },
    { route: 'pods.get', probability: 0.05, fault: { status: { code: 503 } } },
    { route: 'pods.watch', probability: 0.05, fault: 'reset' },
    { route: 'pods.watch', probability: 0.03, fault: { tooManyRequests: { retryAfterSeconds: 1 } } },
    { route: 'pods.create', probability: 0.02, fault: { status: { code: 500 } } },
    { route: 'pods.delete', probability: 0.03, fault: { status: { code: 500 } } },
    { route: 'secrets.create', probability: 0.02, fault: { tooManyRequests: { retryAfterSeconds: 1 } } },
    { route: 'secrets.delete', probability: 0.03, fault: 'reset' },
  ],
}

/** Numbered lines, so that a lost or doubled line shows: `<id> <n> <filler>\n`. */
function lineFor(id, n, len) {
  const head = `${id} ${String(n).padStart(6, '0')} `
  const filler = 'héllo wörld · the quick brown fox · '.repeat(Math.ceil(len / 30) + 1)
  let line = head + filler
  while (Buffer.byteLength(line) > len - 1) line = line.slice(0, -1)
  return line + '\n'
}

/** One execution's scenario and what its runner prints. */
function plan(rand, id) {
  const len = rand.pick([40, 120, 1_000, 20_000])
  const lines = rand.pick([0, 5, 200, 2_000, 6_000])
  const text = Array.from({ length: lines }, (_, n) => lineFor(id, n, len)).join('')
  const bytes = Buffer.from(text)
  const steps = []
  for (let at = 0; at < bytes.length; ) {
    const size = Math.min(bytes.length - at, rand.int(1, 96 * 1024))
    steps.push({ write: { base64: bytes.subarray(at, at + size).toString('base64') } })
    if (rand.next() < 0.2) steps.push({ sleep: { ms: rand.int(1, 150) } })
    at += size
  }
  const abortAfterMs = rand.next() < 0.08 ? rand.int(50, 2_000) : undefined
  return {
    text: bytes,
    abortAfterMs,
    scenario: { runner: { output: steps, userExitCode: rand.next() < 0.1 ? 3 : 0 }, terminationLingerMs: LINGER_MS },
  }
}

/** Whether `out` is made of `truth`'s lines, in order, none twice (pieces may be cut short at a gap). */
function inOrderPieces(out, truth, id) {
  const truthLines = new Set(truth.toString('utf8').split('\n'))
  let last = -1
  for (const line of out.toString('utf8').split('\n')) {
    if (line === '') continue
    const m = line.match(new RegExp(`^${id} (\\d{6}) `))
    if (m && truthLines.has(line)) {
      const n = Number(m[1])
      if (n <= last) return `line ${n} after ${last}`
      last = n
    } else if (![...truthLines].some((t) => t.includes(line))) {
      return `a line that is not in the truth: ${JSON.stringify(line.slice(0, 80))}`
    }
  }
  return null
}

/** capText: the first `cap` bytes, a cut character and trailing U+FFFD dropped. */
function capText(bytes, cap) {
  if (bytes.length <= cap) return bytes
  return Buffer.from(bytes.subarray(0, cap).toString('utf8').replace(/\uFFFD+$/u, ''))
}

test(`soak: ${EXECUTIONS} executions, ${CONCURRENCY} at a time, faults on every route, rotations`, { timeout: 60 * 60_000 }, async () => {
  const cluster = await startCluster(['--token', 'soak-api-token', '--max-log-size', String(96 * 1024), '--rotation-period-ms', '10', '--faults', JSON.stringify(FAULTS)])
  const cfg = serviceConfig({ stdoutMaxBytes: CAP })
  const warnings = []
  const logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) }
  const backend = new KubernetesBackend(cfg, { kubeconfig: cluster.kubeconfig, logger })
  const rand = generator(SEED)
  const tally = { exact: 0, truncatedFlagged: 0, cancelled: 0, failed: 0, wrong: [], rotations: 0 }
  let nextIndex = 0
  const began = Date.now()
  try {
    const worker = async () => {
      for (;;) {
        const i = nextIndex++
        if (i >= EXECUTIONS) return
        const id = `soak${SEED}x${i}`
        const { text, abortAfterMs, scenario } = plan(rand, id)
        await setScenario(cluster, id, scenario)
        const controller = new AbortController()
        const timer = abortAfterMs === undefined ? undefined : setTimeout(() => controller.abort(), abortAfterMs)
        const response = await backend.execute(cfg, request(id), { signal: controller.signal, startedAtMs: Date.now() })
        clearTimeout(timer)
        // Well-formed, whatever happened.
        assert.ok(STATUSES.has(response.status), JSON.stringify(response))
        assert.equal(typeof response.durationMs, 'number')
        assert.equal(typeof response.truncated?.stdout, 'boolean')
        const out = stdoutOf(response)
        assert.equal(out.toString('base64'), response.stdoutBase64, 'stdoutBase64 is canonical base64')
        if (response.status === 'cancelled') tally.cancelled += 1
        else if (response.status !== 'completed') tally.failed += 1
        // The truth, while the deleted pod lingers (a run that never created its pod has none).
        const pod = `/sim/v1/namespaces/${NS}/pods/${podName(id)}/containers/runner/truth`
        const { status, body: truth } = await raw(cluster, 'GET', pod)
        if (status !== 200) {
          assert.equal(out.length, 0, `${id}: stdout without a runner: ${JSON.stringify(response)}`)
          continue
        }
        assert.ok(truth.equals(text.subarray(0, truth.length)), `${id}: the cluster's truth is what the scenario printed`)
        const aborted = response.status === 'cancelled'
        if (!response.truncated.stdout && !aborted) {
          if (!out.equals(truth)) tally.wrong.push(`${id}: not truncated, yet differs from the truth (${out.length} vs ${truth.length} bytes)`)
          else tally.exact += 1
        } else if (!response.truncated.stdout && aborted) {
          // Cancelled: what was seen so far, a prefix of the truth.
          if (!truth.subarray(0, out.length).equals(out)) tally.wrong.push(`${id}: cancelled stdout is not a prefix of the truth`)
        } else {
          tally.truncatedFlagged += 1
          if (truth.length > CAP && out.equals(capText(truth, CAP))) continue
          const why = inOrderPieces(out, truth, id)
          if (why) tally.wrong.push(`${id}: truncated stdout with wrong bytes: ${why}`)
        }
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  } finally {
    await backend.shutdown()
  }
  const seconds = (Date.now() - began) / 1000
  const metrics = await until(async () => {
    const m = await api(cluster, 'GET', '/sim/v1/metrics')
    return m.livePods === 0 && m.liveSecrets === 0 ? m : null
  }, 'no pod and no secret left', LINGER_MS + 30_000).catch(async (e) => {
    const m = await api(cluster, 'GET', '/sim/v1/metrics')
    throw new Error(`${e.message}: ${m.livePods} pods, ${m.liveSecrets} secrets`)
  })
  const faults = metrics.faults.reduce((n, f) => n + f.count, 0)
  console.log(
    `soak: ${EXECUTIONS} executions in ${seconds.toFixed(1)} s (${CONCURRENCY} at a time): ${tally.exact} byte-exact, ` +
      `${tally.truncatedFlagged} flagged truncated, ${tally.cancelled} cancelled, ${tally.failed} failed or timed out; ` +
      `${faults} faults injected, ${metrics.rotations} rotations; wrong bytes: ${tally.wrong.length}; ` +
      `pods left ${metrics.livePods}, secrets left ${metrics.liveSecrets}; warnings ${warnings.length}`,
  )
  await cluster.stop()
  assert.deepEqual(tally.wrong, [])
  assert.ok(faults > 0 && metrics.rotations > 0, 'faults and rotations happened')
  assert.ok(tally.exact >= EXECUTIONS / 4, `most runs still complete exactly: ${JSON.stringify(tally)}`)
  assert.ok(!warnings.some((w) => w.includes('soak-api-token') || w.includes(cfg.sandboxToken + '"')), 'no token in a warning')
})

/** The pod name of an execution (spec §4.1): `tale-sbx-` and 16 hex digits of sha1(id). */
function podName(id) {
  return `tale-sbx-${createHash('sha1').update(id).digest('hex').slice(0, 16)}`
}
