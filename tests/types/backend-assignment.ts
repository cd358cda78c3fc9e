// Type-checked (never run) by tests/node/types.test.js: the native KubernetesBackend fits where
// the service holds its TypeScript backend, with the service's own types (execution-backend.ts).
import { KubernetesBackend } from '../../npm/sandbox-native/index.js'
import type { ExecuteResponse, ExecutionBackend, SpawnerConfig } from './execution-backend.js'

declare const cfg: SpawnerConfig
const logger = { debug: console.debug, info: console.info, warn: console.warn, error: console.error }

// The one-import swap: same constructor inputs, assignable to the interface.
const backend: ExecutionBackend = new KubernetesBackend(cfg)
const withOptions: ExecutionBackend = new KubernetesBackend(cfg, { kubeconfig: '/tmp/kubeconfig', context: 'ctx', namespace: 'tale-sandbox', logger })

async function service(): Promise<ExecuteResponse> {
  await backend.init()
  const health = await backend.health()
  if (!health.ok) throw new Error(health.error)
  const removed: number = await backend.sweepOrphans({ staleBeforeMs: Date.now() - 600_000, isLive: (id: string) => id === 'x' })
  const found: boolean = await withOptions.cancel('exec-1')
  const response = await backend.execute(cfg, { executionId: 'e', organizationId: 'o', language: 'python', entryPath: 'main.py', outputUploadSlots: [], outputUrlEndpoint: 'u', reportUploadedEndpoint: 'r' }, {
    signal: new AbortController().signal,
    startedAtMs: Date.now(),
    onPhase: ({ phase }) => void phase,
    onStdoutDelta: (text: string) => void text,
  })
  void removed
  void found
  return response
}

// @ts-expect-error a kubeconfig path is a string
new KubernetesBackend(cfg, { kubeconfig: 3 })
// @ts-expect-error the config is required
new KubernetesBackend()

export { service }
