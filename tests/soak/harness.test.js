// The soak's harness itself: a request the cluster refuses before reading its whole body (a
// scenario over its 3 MiB body limit: 413, then the connection is closed) must come back as a
// status, never as an uncaught EPIPE from the unfinished write (the first soak died of that).
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { raw, testclusterBin } from '../shared/backend-helpers.js'

testclusterBin()
const { startCluster } = await import('../cluster/cluster.mjs')

test('a body over the cluster limit is answered 413 and nothing escapes as an uncaught error', async () => {
  const cluster = await startCluster(['--token', 'harness-token'])
  const uncaught = []
  const record = (e) => uncaught.push(e)
  process.on('uncaughtException', record)
  try {
    const big = { runner: { output: [{ write: { base64: Buffer.alloc(8 << 20, 65).toString('base64') } }] } }
    for (let i = 0; i < 4; i++) {
      const { status } = await raw(cluster, 'PUT', `/sim/v1/scenarios/big${i}`, big)
      assert.equal(status, 413)
      // The cluster still answers, on a fresh connection.
      assert.equal((await raw(cluster, 'PUT', `/sim/v1/scenarios/small${i}`, {})).status, 204)
    }
    // A late EPIPE would surface within a few event-loop turns of the close.
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual(uncaught.map((e) => `${e.code}: ${e.message}`), [])
  } finally {
    process.off('uncaughtException', record)
    await cluster.stop()
  }
})
