// The TypeScript service's backend contract, written from spec §3 (k8s-execute-path.md) without
// importing anything from @tale/sandbox-native: what the service's code holds a backend as.
// backend-assignment.ts checks that the native KubernetesBackend is assignable to it.

export interface ExecuteRequest {
  executionId: string
  organizationId: string
  language: 'python' | 'node' | 'bash' | 'polyglot'
  files?: Array<{ path: string; url: string }>
  entryPath?: string
  steps?: string[]
  priorOutputDownloads?: Array<{ name: string; url: string }>
  userUploadDownloads?: Array<{ name: string; url: string }>
  packages?: string[]
  packagesByLang?: { python?: string[]; node?: string[] }
  timeoutMs?: number
  outputUploadSlots: Array<{ url: string }>
  outputUrlEndpoint: string
  reportUploadedEndpoint: string
  env?: Record<string, string>
}

export interface ExecuteResponse {
  status: 'completed' | 'failed' | 'cancelled'
  exitCode: number | null
  errorCode?: string
  errorMessage?: string
  stdoutBase64: string
  stderrBase64: string
  durationMs: number
  truncated: { stdout: boolean; stderr: boolean; files: number }
  outputFiles: Array<{ name: string; storageId: string; size: number; contentType: string; sha256: string }>
  steps?: Array<{ path: string; status: 'completed' | 'failed' | 'skipped'; exitCode: number | null; durationMs: number }>
  uploadStats?: {
    attempted: number
    succeeded: number
    failures: Array<{ slotIndex: number; fileName: string; httpStatus: number | null; errorSnippet: string }>
  }
  timing?: { stageMs: number; executeMs: number; harvestMs: number; uploadMs: number }
  priorStage?: {
    staged: Array<{ name: string; bytes: number; sha256: string }>
    skipped: Array<{ name: string; reason: string; detail: string }>
  }
}

export interface SpawnerConfig {
  defaultTimeoutMs: number
  maxTimeoutMs: number
  stdoutMaxBytes: number
  stderrMaxBytes: number
  outputFileMaxBytes: number
  outputTotalMaxBytes: number
  sandboxToken: string | null
  runtimeImage: string
  egressProxy: string
  cacheVolumePrefix: { pip: string; npm: string }
  k8s: {
    namespace: string
    runtimeClassName: string | null
    spawnerImage: string
    cacheMode: 'none' | 'pvc'
    workspaceSizeLimit: string
  }
  runtimeTier: 'runc' | 'gvisor' | 'sysbox' | 'kata'
  dockerInContainer: boolean
  // The service's config has more (port, docker settings, ...): the backend ignores them.
  port: number
}

export interface ExecuteOptions {
  signal: AbortSignal
  startedAtMs: number
  onPhase?: (event: { phase: 'installing' | 'running' }) => void
  onStdoutDelta?: (text: string) => void
  onStderrDelta?: (text: string) => void
}

export interface SweepOptions {
  staleBeforeMs: number
  isLive: (executionId: string) => boolean
}

export type HealthResult = { ok: true; detail: string } | { ok: false; error: string }

export interface ExecutionBackend {
  readonly kind: 'docker' | 'kubernetes'
  init(): Promise<void>
  health(): Promise<HealthResult>
  warmImage(): Promise<void>
  shutdown(): Promise<void>
  execute(cfg: SpawnerConfig, req: ExecuteRequest, opts: ExecuteOptions): Promise<ExecuteResponse>
  cancel(executionId: string): Promise<boolean>
  sweepOrphans(opts: SweepOptions): Promise<number>
}
