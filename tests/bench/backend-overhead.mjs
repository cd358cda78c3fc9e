// The Node binding's cost per execution against calling the Rust crate directly, and the RSS of
// a Node process running 1000 executions. Both sides run the same scenario against the same
// `tale-testcluster` process, one execution at a time:
//   - Rust: `cargo run --release -p tale-sandbox-execute --example overhead` (built beforehand);
//   - Node: KubernetesBackend from npm/sandbox-native (scripts/build-node.sh, release).
// Then 1000 executions (8 at a time) through the addon, RSS sampled after each 100 (after a GC).
//
//   node --expose-gc tests/bench/backend-overhead.mjs [runs=100]
// Needs TALE_TESTCLUSTER_BIN (default: $CARGO_TARGET_DIR/debug/tale-testcluster) and
// OVERHEAD_BIN (default: $CARGO_TARGET_DIR/release/examples/overhead).
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

import { api, recordingLogger, request, serviceConfig, testclusterBin } from '../shared/backend-helpers.js'
import { repoRoot } from '../shared/node-helpers.js'

testclusterBin()
const { startCluster } = await import('../cluster/cluster.mjs')
const { KubernetesBackend } = createRequire(import.meta.url)(join(repoRoot, 'npm', 'sandbox-native'))
const runs = Number(process.argv[2] ?? 100)
const targetDir = process.env.CARGO_TARGET_DIR ?? join(repoRoot, 'target')
const overheadBin = process.env.OVERHEAD_BIN ?? join(targetDir, 'release', 'examples', 'overhead')
const gc = globalThis.gc ?? (() => {})

const cluster = await startCluster([])
try {
  // The default scenario: a runner that prints one line, a harvest that reports at once.
  const scenario = { runner: { output: [{ write: { text: 'PHASE: running\n' } }, { write: { text: 'hello from the benchmark\n' } }] } }
  await api(cluster, 'PUT', '/sim/v1/default-scenario', scenario)

  const rust = existsSync(overheadBin)
    ? JSON.parse(execFileSync(overheadBin, [cluster.kubeconfig, String(runs), 'rustbench'], { encoding: 'utf8' }).trim())
    : null

  const cfg = serviceConfig({ sandboxToken: null, runtimeImage: 'tale-sandbox-runtime:latest', k8s: { ...serviceConfig().k8s, spawnerImage: 'tale-sandbox:latest' } })
  const backend = new KubernetesBackend(cfg, { kubeconfig: cluster.kubeconfig, logger: recordingLogger().logger })
  const times = []
  for (let i = 0; i < runs; i++) {
    const began = performance.now()
    const response = await backend.execute(cfg, request(`nodebench${i}`), { signal: new AbortController().signal, startedAtMs: Date.now(), onStdoutDelta: () => {} })
    times.push(performance.now() - began)
    if (response.status !== 'completed') throw new Error(`node execution ${i}: ${JSON.stringify(response)}`)
  }
  times.sort((a, b) => a - b)
  const at = (q) => times[Math.round((times.length - 1) * q)]
  const node = { runs, medianMs: at(0.5), p90Ms: at(0.9) }

  const rss = []
  let done = 0
  const total = 1000
  const worker = async (w) => {
    while (done < total) {
      const i = done++
      const response = await backend.execute(cfg, request(`rss${w}x${i}`), { signal: new AbortController().signal, startedAtMs: Date.now(), onPhase: () => {}, onStdoutDelta: () => {} })
      if (response.status !== 'completed') throw new Error(`rss execution ${i}: ${response.status}`)
      if ((i + 1) % 100 === 0) {
        gc()
        rss.push({ executions: i + 1, rssMiB: process.memoryUsage().rss / 2 ** 20 })
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)))
  await backend.shutdown()
  rss.sort((a, b) => a.executions - b.executions)

  console.log(`per execution, ${runs} sequential runs of the same scenario on one tale-testcluster:`)
  if (rust) console.log(`  Rust (KubernetesBackend::execute)  median ${rust.medianMs.toFixed(2)} ms  p90 ${rust.p90Ms.toFixed(2)} ms`)
  else console.log(`  Rust: ${overheadBin} is not built (cargo build --release -p tale-sandbox-execute --example overhead)`)
  console.log(`  Node (addon execute)               median ${node.medianMs.toFixed(2)} ms  p90 ${node.p90Ms.toFixed(2)} ms`)
  if (rust) console.log(`  binding overhead (median)          ${(node.medianMs - rust.medianMs).toFixed(2)} ms  (ratio ${(node.medianMs / rust.medianMs).toFixed(3)})`)
  console.log('RSS over 1000 executions (8 at a time), after a GC:')
  for (const { executions, rssMiB } of rss) console.log(`  after ${String(executions).padStart(4)}: ${rssMiB.toFixed(1)} MiB`)
  const growth = rss.at(-1).rssMiB - rss[0].rssMiB
  const BOUND_MIB = 32
  console.log(`  growth from 100 to 1000: ${growth.toFixed(1)} MiB (bound ${BOUND_MIB} MiB): ${growth < BOUND_MIB ? 'within' : 'EXCEEDED'}`)
  if (growth >= BOUND_MIB) process.exitCode = 1
} finally {
  await cluster.stop()
}

