// KubernetesBackend from @tale/sandbox-native against the embedded test cluster (the
// `tale-testcluster` binary): the outcome table of spec §1.3 row by row, concurrency, aborts at
// every stage, callback order, a rotated 25 MiB output, a server that cuts every runner log body
// at the same byte, the remote cancel, the orphan sweep, the logger, argument errors, and a Node
// process that exits by itself.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import {
  NS,
  api,
  cleanedUp,
  containerLog,
  listPods,
  podOf,
  raw,
  recordingLogger,
  request,
  serviceConfig,
  setScenario,
  stdoutOf,
  testclusterBin,
  uniqueId,
  until,
} from '../shared/backend-helpers.js'
import { repoRoot } from '../shared/node-helpers.js'

const require = createRequire(import.meta.url)
const packageDir = join(repoRoot, 'npm', 'sandbox-native')
const { KubernetesBackend } = require(packageDir)

testclusterBin()
const { startCluster } = await import('../cluster/cluster.mjs')

const EGRESS_WARNING =
  '[sandbox.k8s] egress isolation requires an operator-applied default-deny NetworkPolicy on tale.sandbox/role in (runtime, session) pods + the egress proxy; verify before running untrusted workloads.'

/** Runs one execution and records what reached JS, and when. */
async function run(backend, cfg, id, opts = {}) {
  const events = []
  let settled = false
  const response = await backend
    .execute(cfg, request(id, opts.request), {
      signal: opts.signal ?? new AbortController().signal,
      startedAtMs: opts.startedAtMs ?? Date.now(),
      onPhase: (event) => events.push({ phase: event.phase, settled }),
      onStdoutDelta: (text) => events.push({ delta: text, settled }),
    })
    .finally(() => {
      settled = true
    })
  const deltas = events.filter((e) => 'delta' in e).map((e) => e.delta).join('')
  return { response, events, deltas }
}

describe('KubernetesBackend on the embedded test cluster', { concurrency: true }, () => {
  let cluster
  let backend
  let log
  const cfg = serviceConfig()

  before(async () => {
    cluster = await startCluster(['--token', 's3cret-api-token'])
    log = recordingLogger()
    backend = new KubernetesBackend(cfg, { kubeconfig: cluster.kubeconfig, logger: log.logger })
  })
  after(async () => {
    await backend?.shutdown()
    await cluster?.stop()
  })

  test('kind, init (with the TypeScript warning), health, warmImage', async () => {
    assert.equal(backend.kind, 'kubernetes')
    assert.equal(await backend.init(), undefined)
    assert.ok(log.lines.some((l) => l.level === 'warn' && l.message === EGRESS_WARNING), JSON.stringify(log.lines))
    assert.deepEqual(await backend.health(), { ok: true, detail: `k8s namespace=${NS}` })
    assert.equal(await backend.warmImage(), undefined)
  })

  test('success: completed, exit 0, stdout byte-exact, callbacks in order and before the promise settles', async () => {
    const id = uniqueId('happy')
    const text = 'héllo wörld\n' + 'line of output\n'.repeat(20_000) + 'no newline at the end'
    await setScenario(cluster, id, {
      runner: { output: [{ write: { text: 'PHASE: installing\n' } }, { write: { text: 'PHASE: running\n' } }, { write: { text } }] },
    })
    const startedAtMs = Date.now() - 1000
    const { response, events, deltas } = await run(backend, cfg, id, { startedAtMs })
    assert.equal(response.status, 'completed', JSON.stringify(response))
    assert.equal(response.exitCode, 0)
    assert.equal(response.errorCode, undefined)
    assert.equal(stdoutOf(response).toString('utf8'), text)
    assert.equal(deltas, text)
    assert.deepEqual(events.filter((e) => e.phase).map((e) => e.phase), ['installing', 'running'])
    assert.ok(events.indexOf(events.find((e) => e.phase === 'running')) < events.findIndex((e) => 'delta' in e))
    assert.ok(events.every((e) => !e.settled), 'a callback arrived after the promise settled')
    assert.ok(response.durationMs >= 1000, `startedAtMs is honoured: durationMs ${response.durationMs}`)
    assert.deepEqual(Object.keys(response), ['status', 'exitCode', 'stdoutBase64', 'stderrBase64', 'durationMs', 'truncated', 'outputFiles', 'uploadStats', 'timing'])
    assert.deepEqual(response.truncated, { stdout: false, stderr: false, files: 0 })
    await cleanedUp(cluster, [id])
  })

  test('success with a harvest hiccup: failed, UPLOAD_FAILED, exit 0', async () => {
    const id = uniqueId('upload')
    await setScenario(cluster, id, {
      runner: { output: [{ write: { text: 'made a file\n' } }] },
      harvest: { resultLine: { json: { exitCode: 0, uploadFailed: true, stageMs: 10, harvestMs: 10, uploadMs: 5 } } },
    })
    const { response } = await run(backend, cfg, id)
    assert.equal(response.status, 'failed', JSON.stringify(response))
    assert.equal(response.exitCode, 0)
    assert.equal(response.errorCode, 'UPLOAD_FAILED')
    assert.equal(response.errorMessage, 'One or more output uploads failed')
    assert.equal(stdoutOf(response).toString(), 'made a file\n')
  })

  test('user code non-zero exit: failed, RUNTIME_ERROR, the real exit code, stderr', async () => {
    const id = uniqueId('exit')
    await setScenario(cluster, id, { runner: { output: [{ write: { text: 'partial\n' } }], userExitCode: 3, stderr: 'Traceback: boom\n' } })
    const { response } = await run(backend, cfg, id)
    assert.equal(response.status, 'failed')
    assert.equal(response.exitCode, 3)
    assert.equal(response.errorCode, 'RUNTIME_ERROR')
    assert.equal(response.errorMessage, 'User code exited with status 3')
    assert.equal(stdoutOf(response).toString(), 'partial\n')
    assert.equal(Buffer.from(response.stderrBase64, 'base64').toString(), 'Traceback: boom\n')
  })

  test('user timeout: failed, TIMEOUT, 124', async () => {
    const id = uniqueId('timeout')
    await setScenario(cluster, id, { runner: { output: [{ write: { text: 'working...\n' } }], hang: true }, harvest: { runnerTimeoutMs: 500 } })
    const { response } = await run(backend, cfg, id)
    assert.equal(response.status, 'failed')
    assert.equal(response.exitCode, 124)
    assert.equal(response.errorCode, 'TIMEOUT')
    assert.equal(stdoutOf(response).toString(), 'working...\n')
  })

  test('harvest result lost: failed, HARVEST_READ_FAILED, the exit code recovered from the started line', async () => {
    const id = uniqueId('lost')
    await setScenario(cluster, id, { runner: { output: [{ write: { text: 'out\n' } }] }, harvest: { resultLine: 'none' } })
    const { response } = await run(backend, cfg, id)
    assert.equal(response.status, 'failed')
    assert.equal(response.errorCode, 'HARVEST_READ_FAILED')
    assert.equal(response.exitCode, 0)
    assert.equal(response.errorMessage, "Couldn't read /user/output (no harvest result line)")
    assert.ok(
      log.lines.some((l) => l.level === 'warn' && l.message.includes(`no result line in harvest logs for ${id}`)),
      JSON.stringify(log.lines.filter((l) => l.level === 'warn')),
    )
  })

  test('runner container killed: failed, OOM, 137', async () => {
    const id = uniqueId('oom')
    await setScenario(cluster, id, {
      runner: { output: [{ write: { text: 'allocating\n' } }], killed: { exitCode: 137, reason: 'OOMKilled' } },
      harvest: { runnerTimeoutMs: 60000 },
    })
    const { response } = await run(backend, cfg, id)
    assert.equal(response.status, 'failed')
    assert.equal(response.exitCode, 137)
    assert.equal(response.errorCode, 'OOM')
    assert.equal(response.errorMessage, 'Runner container OOM-killed (memory limit exceeded)')
    assert.equal(stdoutOf(response).toString(), 'allocating\n')
  })

  test('staging failure: failed, SPAWNER_UNAVAILABLE, null, with the stage log tail', async () => {
    const id = uniqueId('stage')
    await setScenario(cluster, id, { stage: { output: [{ write: { text: 'fetching code\nerror: download of main.py failed (403)\n' } }], exitCode: 1 } })
    const { response } = await run(backend, cfg, id)
    assert.equal(response.status, 'failed')
    assert.equal(response.exitCode, null)
    assert.equal(response.errorCode, 'SPAWNER_UNAVAILABLE')
    assert.equal(response.errorMessage, 'spawner staging failed: pre-stage failed (exit 1): Error: fetching code\nerror: download of main.py failed (403)')
    assert.deepEqual(Object.keys(response), ['status', 'exitCode', 'errorCode', 'errorMessage', 'stdoutBase64', 'stderrBase64', 'durationMs', 'truncated', 'outputFiles'])
    await cleanedUp(cluster, [id])
  })

  test('infra failure: failed, SPAWNER_UNAVAILABLE, null (runner image cannot be pulled)', async () => {
    const id = uniqueId('image')
    await setScenario(cluster, id, { runner: { waiting: { reason: 'ImagePullBackOff' } } })
    const { response } = await run(backend, cfg, id)
    assert.equal(response.status, 'failed')
    assert.equal(response.exitCode, null)
    assert.equal(response.errorCode, 'SPAWNER_UNAVAILABLE')
    assert.equal(response.errorMessage, 'runner cannot start: ImagePullBackOff')
  })

  test('concurrent executions each get their own exact stdout and their own callbacks', async () => {
    const ids = Array.from({ length: 8 }, (_, i) => uniqueId(`conc${i}`))
    await Promise.all(ids.map((id, i) => setScenario(cluster, id, { runner: { output: [{ write: { text: `execution ${i}\n`.repeat(1000 * (i + 1)) } }] } })))
    const results = await Promise.all(ids.map((id) => run(backend, cfg, id)))
    results.forEach(({ response, deltas }, i) => {
      const expected = `execution ${i}\n`.repeat(1000 * (i + 1))
      assert.equal(response.status, 'completed', JSON.stringify(response))
      assert.equal(stdoutOf(response).toString(), expected)
      assert.equal(deltas, expected)
    })
    await cleanedUp(cluster, ids)
  })

  describe('caller cancel: cancelled, CANCELLED, null, at every stage', { concurrency: true }, () => {
    const cancelled = (response) => {
      assert.equal(response.status, 'cancelled', JSON.stringify(response))
      assert.equal(response.exitCode, null)
      assert.equal(response.errorCode, 'CANCELLED')
      assert.equal(response.errorMessage, 'Execution cancelled by client')
    }

    test('a signal already aborted before the call', async () => {
      const id = uniqueId('abort0')
      await setScenario(cluster, id, { scheduleDelayMs: 60000 })
      const controller = new AbortController()
      controller.abort()
      const started = Date.now()
      const { response } = await run(backend, cfg, id, { signal: controller.signal })
      cancelled(response)
      assert.ok(Date.now() - started < 10_000)
      await cleanedUp(cluster, [id])
    })

    test('during startup (the pod is not scheduled yet)', async () => {
      const id = uniqueId('abort1')
      await setScenario(cluster, id, { scheduleDelayMs: 60000 })
      const controller = new AbortController()
      const running = run(backend, cfg, id, { signal: controller.signal })
      await until(() => podOf(cluster, id), 'the pod')
      controller.abort()
      cancelled((await running).response)
      await cleanedUp(cluster, [id])
    })

    test('while running: the stdout so far comes back', async () => {
      const id = uniqueId('abort2')
      await setScenario(cluster, id, { runner: { output: [{ write: { text: 'some output\n' } }, { waitRelease: { name: 'go' } }] } })
      const controller = new AbortController()
      const seen = []
      const running = backend.execute(cfg, request(id), { signal: controller.signal, startedAtMs: Date.now(), onStdoutDelta: (t) => seen.push(t) })
      await until(() => seen.join('') === 'some output\n', 'the first output')
      controller.abort()
      const response = await running
      cancelled(response)
      assert.equal(stdoutOf(response).toString(), 'some output\n')
      await cleanedUp(cluster, [id])
    })

    test('while reading the result (the harvest is uploading)', async () => {
      const id = uniqueId('abort3')
      await setScenario(cluster, id, { runner: { output: [{ write: { text: 'done\n' } }] }, harvest: { output: [{ waitRelease: { name: 'upload' } }] } })
      const controller = new AbortController()
      const running = run(backend, cfg, id, { signal: controller.signal })
      await until(async () => {
        const pod = await podOf(cluster, id)
        return pod && (await containerLog(cluster, pod.metadata.name, 'harvest')).includes('STARTED_')
      }, 'the harvest started line')
      controller.abort()
      cancelled((await running).response)
      await cleanedUp(cluster, [id])
    })
  })

  test('remote cancel from a second backend: true, and the owner reports a lost harvest', async () => {
    const id = uniqueId('remote')
    await setScenario(cluster, id, { runner: { output: [{ write: { text: 'waiting\n' } }, { waitRelease: { name: 'go' } }] } })
    const owner = run(backend, cfg, id)
    await until(async () => (await podOf(cluster, id))?.status?.containerStatuses?.some((c) => c.name === 'runner' && c.state?.running), 'the runner')
    const other = new KubernetesBackend(cfg, { kubeconfig: cluster.kubeconfig, logger: recordingLogger().logger })
    assert.equal(await other.cancel(id), true)
    const { response } = await owner
    assert.equal(response.status, 'failed', JSON.stringify(response))
    assert.equal(response.errorCode, 'HARVEST_READ_FAILED')
    assert.equal(await other.cancel(id), false, 'nothing left to cancel')
    await cleanedUp(cluster, [id])
  })

  test('sweepOrphans: isLive is asked synchronously per listed object; stale non-live objects are reaped', async () => {
    const now = Date.now()
    const stale = String(now - 3_600_000)
    const pod = (name, id) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { 'tale.sandbox': '1' }, annotations: { 'tale.dev/execution-id': id, 'tale.dev/started-at': stale } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'runner', image: 'runtime:latest' }, { name: 'harvest', image: 'spawner:latest' }] },
    })
    const liveId = uniqueId('sweeplive')
    const deadId = uniqueId('sweepdead')
    await setScenario(cluster, liveId, { runner: { output: [{ waitRelease: { name: 'never' } }] } })
    await setScenario(cluster, deadId, { runner: { output: [{ waitRelease: { name: 'never' } }] } })
    await api(cluster, 'POST', `/api/v1/namespaces/${NS}/pods`, pod(`sweep-live-${liveId}`, liveId))
    await api(cluster, 'POST', `/api/v1/namespaces/${NS}/pods`, pod(`sweep-dead-${deadId}`, deadId))
    const asked = []
    let inside = false
    const removed = await backend.sweepOrphans({
      staleBeforeMs: now - 600_000,
      isLive: (executionId) => {
        assert.equal(inside, false, 'isLive is not re-entered')
        inside = true
        asked.push(executionId)
        inside = false
        return executionId === liveId
      },
    })
    assert.ok(asked.includes(liveId) && asked.includes(deadId), JSON.stringify(asked))
    assert.ok(removed >= 1, `removed ${removed}`)
    const names = (await listPods(cluster)).map((p) => p.metadata.name)
    assert.ok(names.includes(`sweep-live-${liveId}`), 'the live pod stays')
    assert.ok(!names.includes(`sweep-dead-${deadId}`), 'the stale pod is gone')
    await api(cluster, 'DELETE', `/api/v1/namespaces/${NS}/pods/sweep-live-${liveId}`)
  })

  test('no log line and no response carries the sandbox token', async () => {
    const token = 'tok-SECRET-0123456789'
    const tokenCfg = serviceConfig({ sandboxToken: token })
    const id = uniqueId('token')
    await setScenario(cluster, id, { runner: { output: [{ write: { text: 'hi\n' } }] }, harvest: { resultLine: 'none' } })
    const mine = recordingLogger()
    const own = new KubernetesBackend(tokenCfg, { kubeconfig: cluster.kubeconfig, logger: mine.logger })
    const { response } = await run(own, tokenCfg, id)
    assert.equal(response.errorCode, 'HARVEST_READ_FAILED')
    assert.ok(mine.lines.length > 0, 'the lost result was warned about')
    for (const line of mine.lines) assert.ok(!line.message.includes(token), line.message)
    assert.ok(!JSON.stringify(response).includes(token))
  })
})

describe('a 25 MiB output while the kubelet rotates the log at 10 MiB', () => {
  test('comes back byte-exact and not truncated', async () => {
    const cluster = await startCluster(['--max-log-size', String(10 * 1024 * 1024), '--rotation-period-ms', '100'])
    try {
      const cfg = serviceConfig({ stdoutMaxBytes: 32 * 1024 * 1024 })
      const backend = new KubernetesBackend(cfg, { kubeconfig: cluster.kubeconfig, logger: recordingLogger().logger })
      const id = uniqueId('big')
      const pattern = 'héllo wörld, a line of twenty-five MiB\n'
      const total = 25 * 1024 * 1024
      await setScenario(cluster, id, { runner: { output: [{ repeat: { pattern, totalBytes: total, chunkBytes: 64 * 1024, bytesPerSecond: 20_000_000 } }] } })
      let deltaBytes = 0
      const response = await backend.execute(cfg, request(id), { signal: new AbortController().signal, startedAtMs: Date.now(), onStdoutDelta: (t) => (deltaBytes += Buffer.byteLength(t)) })
      assert.equal(response.status, 'completed', JSON.stringify({ ...response, stdoutBase64: undefined }))
      const unit = Buffer.from(pattern)
      const expected = Buffer.alloc(total)
      for (let at = 0; at < total; at += unit.length) unit.copy(expected, at)
      const got = stdoutOf(response)
      assert.equal(got.length, total)
      assert.ok(got.equals(expected), 'stdout is byte-exact')
      assert.equal(response.truncated.stdout, false)
      assert.equal(deltaBytes, total)
      const metrics = await api(cluster, 'GET', '/sim/v1/metrics')
      assert.ok(metrics.rotations >= 2, `rotations: ${metrics.rotations}`)
    } finally {
      await cluster.stop()
    }
  })
})

describe('a server that ends every runner log body cleanly after the same number of bytes', () => {
  // The soak's silent short stdout (issue 12): the stream from the head ends inside a line, and
  // every read from the last second ends at the very same byte, re-serving that line and bringing
  // nothing more — which once passed for the log's end. Stdout is then a prefix of the truth,
  // flagged truncated; the cluster's request log shows the reads the flow made.
  test('stdout is flagged truncated, never silently short', async () => {
    const line = (n) => `line ${String(n).padStart(4, '0')} `.padEnd(99, '.') + '\n'
    const lines = Array.from({ length: 100 }, (_, n) => line(n)).join('')
    // The response: 31 bytes of prefix per line; the cut falls 50 bytes into the 12th line.
    const afterBytes = 31 + 11 + 10 * (31 + 100) + 31 + 50
    const faults = { seed: 1, rules: [{ route: 'pods.log', container: 'runner', fault: { cutBody: { afterBytes, abrupt: false } } }] }
    const cluster = await startCluster(['--faults', JSON.stringify(faults)])
    try {
      const cfg = serviceConfig()
      const log = recordingLogger()
      const backend = new KubernetesBackend(cfg, { kubeconfig: cluster.kubeconfig, logger: log.logger })
      const id = uniqueId('cutat')
      await setScenario(cluster, id, { runner: { output: [{ write: { text: 'first line\n' } }, { write: { text: lines } }] }, terminationLingerMs: 5_000 })
      const { response } = await run(backend, cfg, id)
      await backend.shutdown()
      const pod = `tale-sbx-${createHash('sha1').update(id).digest('hex').slice(0, 16)}`
      const truth = (await raw(cluster, 'GET', `/sim/v1/namespaces/${NS}/pods/${pod}/containers/runner/truth`)).body
      assert.equal(truth.toString(), 'first line\n' + lines)
      const out = stdoutOf(response)
      assert.equal(response.status, 'completed', JSON.stringify({ ...response, stdoutBase64: undefined }))
      assert.ok(out.length < truth.length && truth.subarray(0, out.length).equals(out), `stdout is a prefix of the truth: ${out.length} of ${truth.length}`)
      assert.equal(response.truncated.stdout, true, `${out.length} of ${truth.length} bytes, not flagged`)
      assert.ok(log.lines.some((l) => l.message.includes('final runner log reads end before the log does')), JSON.stringify(log.lines))
      const requests = (await api(cluster, 'GET', `/sim/v1/namespaces/${NS}/pods/${pod}/log-requests`)).requests.filter((r) => r.container === 'runner')
      const finalReads = requests.filter((r) => r.query.includes('sinceTime') && !r.query.includes('follow'))
      assert.ok(finalReads.length >= 2, JSON.stringify(requests))
      assert.ok(finalReads.every((r) => r.end === 'cut' && r.bytesSent === afterBytes), JSON.stringify(finalReads))
    } finally {
      await cluster.stop()
    }
  })
})

describe('errors', () => {
  test('init without RBAC rejects with code K8S_INIT_FAILED and the TypeScript message', async () => {
    const cluster = await startCluster([])
    try {
      await api(cluster, 'PUT', '/sim/v1/faults', { seed: 1, rules: [{ route: 'pods.list', fault: { status: { code: 403 } } }] })
      const backend = new KubernetesBackend(serviceConfig(), { kubeconfig: cluster.kubeconfig, logger: recordingLogger().logger })
      await assert.rejects(backend.init(), (error) => {
        assert.ok(error instanceof Error)
        assert.equal(error.code, 'K8S_INIT_FAILED')
        assert.match(error.message, /^k8s backend init: cannot list pods in namespace tale-sandbox \(check ServiceAccount RBAC \+ NODE_EXTRA_CA_CERTS for CA trust under Bun\): /)
        return true
      })
      const health = await backend.health()
      assert.equal(health.ok, false)
      assert.equal(typeof health.error, 'string')
    } finally {
      await cluster.stop()
    }
  })

  test('a kubeconfig that cannot be read throws K8S_CLIENT_CONFIG', () => {
    assert.throws(() => new KubernetesBackend(serviceConfig(), { kubeconfig: '/nonexistent/kubeconfig' }), (error) => {
      assert.equal(error.code, 'K8S_CLIENT_CONFIG')
      assert.match(error.message, /\/nonexistent\/kubeconfig/)
      return true
    })
  })

  test('bad arguments are TypeErrors naming the field', async () => {
    const { k8s, ...noK8s } = serviceConfig()
    assert.ok(k8s)
    assert.throws(() => new KubernetesBackend(noK8s), { name: 'TypeError', message: /cfg\.k8s is required/ })
    assert.throws(() => new KubernetesBackend(serviceConfig({ maxTimeoutMs: '300000' })), { name: 'TypeError', message: /cfg\.maxTimeoutMs must be a positive safe integer/ })
    assert.throws(() => new KubernetesBackend('cfg'), { name: 'TypeError', message: /cfg must be a SpawnerConfig object, got string/ })
    assert.throws(() => new KubernetesBackend(serviceConfig(), { logger: { warn() {} } }), { name: 'TypeError', message: /options\.logger\.debug must be a function/ })
    assert.throws(() => new KubernetesBackend(serviceConfig(), { kubeconfig: 7 }), { name: 'TypeError', message: /options\.kubeconfig must be a string/ })
    const cluster = await startCluster([])
    try {
      const backend = new KubernetesBackend(serviceConfig(), { kubeconfig: cluster.kubeconfig, logger: recordingLogger().logger })
      await assert.rejects(backend.execute(serviceConfig(), { executionId: 'x' }, {}), { name: 'TypeError', message: /req is not an ExecuteRequest: .*organizationId/ })
      await assert.rejects(backend.execute(serviceConfig(), request('abc'), { signal: 'no' }), { name: 'TypeError', message: /opts\.signal must be an AbortSignal/ })
      await assert.rejects(backend.execute(serviceConfig(), request('abc'), { onPhase: 1 }), { name: 'TypeError', message: /opts\.onPhase must be a function/ })
      await assert.rejects(backend.execute({}, request('abc'), {}), { name: 'TypeError', message: /cfg\.k8s is required/ })
      await assert.rejects(backend.sweepOrphans({ isLive: () => false }), { name: 'TypeError', message: /opts\.staleBeforeMs must be a number/ })
      await assert.rejects(backend.sweepOrphans({ staleBeforeMs: 0 }), { name: 'TypeError', message: /opts\.isLive must be a function/ })
      await assert.rejects(backend.cancel(42), { name: 'TypeError', message: /executionId must be a string/ })
    } finally {
      await cluster.stop()
    }
  })
})

describe('the event loop', () => {
  test('a process that ran executions and called shutdown() exits by itself', async () => {
    const cluster = await startCluster([])
    try {
      const script = `
        const { KubernetesBackend } = require(${JSON.stringify(packageDir)})
        const cfg = ${JSON.stringify(serviceConfig())}
        const req = (id) => ({ ...${JSON.stringify(request('placeholder'))}, executionId: id })
        const logger = { debug() {}, info() {}, warn() {}, error() {} }
        ;(async () => {
          const backend = new KubernetesBackend(cfg, { kubeconfig: ${JSON.stringify(cluster.kubeconfig)}, logger })
          await backend.init()
          await backend.health()
          const phases = []
          const rs = await Promise.all(['exit1', 'exit2'].map((id) =>
            backend.execute(cfg, req(id + process.pid), { signal: new AbortController().signal, startedAtMs: Date.now(), onPhase: (p) => phases.push(p), onStdoutDelta: () => {} })))
          const aborted = new AbortController(); aborted.abort()
          await backend.execute(cfg, req('exit3' + process.pid), { signal: aborted.signal, startedAtMs: Date.now() })
          await backend.sweepOrphans({ staleBeforeMs: 0, isLive: () => false })
          await backend.shutdown()
          console.log(JSON.stringify(rs.map((r) => r.status)))
        })().catch((e) => { console.error(e); process.exitCode = 1 })
      `
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      let doneAt
      child.stdout.on('data', (d) => {
        out += d
        doneAt ??= Date.now()
      })
      child.stderr.on('data', (d) => (err += d))
      const code = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`the process did not exit within 30 s after its work; stdout: ${out} stderr: ${err}`))
        }, 30_000)
        child.on('exit', (c) => {
          clearTimeout(timer)
          resolve(c)
        })
      })
      const exitedAfterMs = Date.now() - doneAt
      assert.equal(code, 0, err)
      // The work is done when it prints; nothing native may hold the loop open after that.
      assert.ok(exitedAfterMs < 3000, `exited ${exitedAfterMs} ms after its work was done`)
      assert.equal(out.trim(), '["completed","completed"]')
    } finally {
      await cluster.stop()
    }
  })
})
