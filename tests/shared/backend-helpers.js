// Helpers of the KubernetesBackend tests: the test cluster binary, the service's config fixture
// (spec §7.1), requests, raw API reads and the control endpoints of the cluster.
import { existsSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { join } from 'node:path'

import { repoRoot } from './node-helpers.js'

/** The `tale-testcluster` binary: TALE_TESTCLUSTER_BIN, else the cargo target dir's debug build. */
export function testclusterBin() {
  const bin = process.env.TALE_TESTCLUSTER_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(repoRoot, 'target'), 'debug', 'tale-testcluster')
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: build it with cargo build --locked -p tale-sandbox-testcluster --bin tale-testcluster (or set TALE_TESTCLUSTER_BIN)`)
  }
  process.env.TALE_TESTCLUSTER_BIN = bin
  return bin
}

export const NS = 'tale-sandbox'

/** The `SpawnerConfig` object of the TypeScript tests (spec §7.1), with extra fields the service has. */
export function serviceConfig(overrides = {}) {
  return {
    port: 8080,
    defaultTimeoutMs: 30000,
    maxTimeoutMs: 300000,
    stdoutMaxBytes: 5242880,
    stderrMaxBytes: 5242880,
    outputFileMaxBytes: 52428800,
    outputTotalMaxBytes: 104857600,
    sandboxToken: 'test',
    runtimeImage: 'tale-sandbox-runtime:test',
    egressProxy: 'http://sandbox-egress:3128',
    cacheVolumePrefix: { pip: 'tale-sandbox-pip-cache', npm: 'tale-sandbox-npm-cache' },
    k8s: { namespace: NS, runtimeClassName: null, spawnerImage: 'tale-sandbox:test', cacheMode: 'none', workspaceSizeLimit: '4Gi' },
    runtimeTier: 'runc',
    dockerInContainer: false,
    ...overrides,
  }
}

let next = 0
/** An execution id unique in this process (the id alphabet: lower-case letters and digits). */
export function uniqueId(prefix) {
  next += 1
  return `${prefix}${process.pid}x${next}`.toLowerCase().replace(/[^a-z0-9]/g, '')
}

/** The request of spec §7.1 for `executionId`. */
export function request(executionId, extra = {}) {
  return {
    executionId,
    organizationId: 'org_456',
    language: 'python',
    files: [],
    entryPath: 'main.py',
    outputUploadSlots: [],
    outputUrlEndpoint: 'http://platform/ep1',
    reportUploadedEndpoint: 'http://platform/ep2',
    ...extra,
  }
}

/** A logger that records every line: `{ logger, lines: [{ level, message }] }`. */
export function recordingLogger() {
  const lines = []
  const logger = {}
  for (const level of ['debug', 'info', 'warn', 'error']) logger[level] = (message) => lines.push({ level, message })
  return { logger, lines }
}

/** Decodes `stdoutBase64`. */
export const stdoutOf = (response) => Buffer.from(response.stdoutBase64, 'base64')

/**
 * One raw request to the cluster; resolves `{ status, body }` (body a Buffer). A server may answer
 * before it has read the whole body (the test cluster answers 413 to a body over its limit, then
 * closes): the request is then destroyed with its socket, so that the rest of the body's write
 * failing (EPIPE) cannot surface later as an uncaught error on a socket nobody listens to.
 */
export function raw(cluster, method, path, body) {
  const url = new URL(path, cluster.url)
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  const headers = {}
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = Buffer.byteLength(payload)
  }
  if (cluster.token) headers.authorization = `Bearer ${cluster.token}`
  const transport = url.protocol === 'https:' ? https : http
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method, headers, ca: cluster.ca }, (res) => {
      const chunks = []
      res.on('data', (d) => chunks.push(d))
      res.on('error', reject)
      res.on('end', () => {
        if (!req.writableFinished) req.destroy()
        resolve({ status: res.statusCode, body: Buffer.concat(chunks) })
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/** A JSON call that must succeed. */
export async function api(cluster, method, path, body) {
  const { status, body: text } = await raw(cluster, method, path, body)
  if (status < 200 || status > 299) throw new Error(`${method} ${path} -> ${status}: ${text}`)
  return text.length ? JSON.parse(text) : null
}

/** Sets the scenario of an execution. */
export const setScenario = (cluster, id, scenario) => api(cluster, 'PUT', `/sim/v1/scenarios/${id}`, scenario)

/** The pods of the namespace. */
export const listPods = async (cluster) => (await api(cluster, 'GET', `/api/v1/namespaces/${NS}/pods`)).items

/** The secrets of the namespace. */
export const listSecrets = async (cluster) => (await api(cluster, 'GET', `/api/v1/namespaces/${NS}/secrets`)).items

/** The pod of an execution, or undefined. */
export async function podOf(cluster, id) {
  return (await listPods(cluster)).find((p) => p.metadata?.annotations?.['tale.dev/execution-id'] === id)
}

/** Polls `read` every 20 ms until it returns a truthy value (at most `ms`). */
export async function until(read, what, ms = 20_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A container's log as text (raw API). */
export async function containerLog(cluster, pod, container) {
  const { status, body } = await raw(cluster, 'GET', `/api/v1/namespaces/${NS}/pods/${pod}/log?container=${container}`)
  return status === 200 ? body.toString('utf8') : ''
}

/** Waits until the cluster holds no pod and no secret in the namespace. */
export async function cleanedUp(cluster, ids) {
  const mine = (o) => ids.includes(o.metadata?.annotations?.['tale.dev/execution-id'])
  await until(async () => !(await listPods(cluster)).some(mine) && !(await listSecrets(cluster)).some(mine), `cleanup of ${ids}`)
}
