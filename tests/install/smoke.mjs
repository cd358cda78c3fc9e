// Copied into a fresh temporary project by tests/install/run.sh and run there: the installed
// @tale/sandbox-native (from packed tarballs) loads through require and import, and runs one
// execution on the embedded test cluster. Usage: node smoke.mjs <kubeconfig> <cluster-url> <ca-file>
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import https from 'node:https'
import { createRequire } from 'node:module'

import { KubernetesBackend as Imported, StdoutAccumulator } from '@tale/sandbox-native'

const require = createRequire(import.meta.url)
const { KubernetesBackend } = require('@tale/sandbox-native')
assert.equal(Imported, KubernetesBackend, 'import and require give the same class')
assert.equal(typeof StdoutAccumulator, 'function')
const platformPackage = require.resolve('@tale/sandbox-native-linux-x64-gnu')
assert.ok(platformPackage.startsWith(process.cwd()), `the addon comes from the installed platform package (${platformPackage})`)

const [kubeconfig, url, caFile] = process.argv.slice(2)
const id = `install${process.pid}`
await new Promise((resolve, reject) => {
  const body = JSON.stringify({ runner: { output: [{ write: { text: 'PHASE: running\n' } }, { write: { text: 'installed and running\n' } }] } })
  const req = https.request(new URL(`/sim/v1/scenarios/${id}`, url), { method: 'PUT', ca: readFileSync(caFile), headers: { 'content-type': 'application/json' } }, (res) => {
    res.resume()
    res.on('end', () => (res.statusCode < 300 ? resolve() : reject(new Error(`scenario: ${res.statusCode}`))))
  })
  req.on('error', reject)
  req.end(body)
})

const cfg = {
  defaultTimeoutMs: 30000, maxTimeoutMs: 300000, stdoutMaxBytes: 5242880, stderrMaxBytes: 5242880,
  outputFileMaxBytes: 52428800, outputTotalMaxBytes: 104857600, sandboxToken: null,
  runtimeImage: 'tale-sandbox-runtime:latest', egressProxy: 'http://sandbox-egress:3128',
  cacheVolumePrefix: { pip: 'tale-sandbox-pip-cache', npm: 'tale-sandbox-npm-cache' },
  k8s: { namespace: 'tale-sandbox', runtimeClassName: null, spawnerImage: 'tale-sandbox:latest', cacheMode: 'none', workspaceSizeLimit: '4Gi' },
  runtimeTier: 'runc', dockerInContainer: false,
}
const warnings = []
const logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) }
const backend = new Imported(cfg, { kubeconfig, logger })
await backend.init()
const phases = []
const response = await backend.execute(cfg, {
  executionId: id, organizationId: 'org_1', language: 'python', entryPath: 'main.py',
  outputUploadSlots: [], outputUrlEndpoint: 'http://platform/ep1', reportUploadedEndpoint: 'http://platform/ep2',
}, { signal: new AbortController().signal, startedAtMs: Date.now(), onPhase: ({ phase }) => phases.push(phase) })
await backend.shutdown()
assert.equal(response.status, 'completed', JSON.stringify(response))
assert.equal(Buffer.from(response.stdoutBase64, 'base64').toString(), 'installed and running\n')
assert.deepEqual(phases, ['running'])
assert.ok(warnings.some((w) => w.startsWith('[sandbox.k8s] egress isolation requires')), warnings.join('\n'))
console.log(`install test: ${response.status}, stdout ${JSON.stringify(Buffer.from(response.stdoutBase64, 'base64').toString())}`)
