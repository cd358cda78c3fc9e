// Types of @tale/sandbox-replay.

/** A chunk of a response: a UTF-8 string, or arbitrary bytes as hex or base64. */
export type Chunk = string | { hex: string } | { base64: string }

/** The query a recorded log response answered. */
export interface LogQuery {
  container: string
  follow?: boolean
  timestamps?: boolean
  sinceTime?: string
  limitBytes?: number
  tailLines?: number
}

/** One recorded log response. */
export interface RecordedRead {
  /** Version 2: `follow`, `poll`, `final`, ... */
  kind?: string
  query?: LogQuery
  chunks: Chunk[]
  /** `false`: cut (abandoned); absent or `true`: ended. */
  end?: boolean
  /** Version 2: `eof`, `complete`, `cut`, `error`, `closed`, `open`. */
  how?: string
  error?: string
  /** Milliseconds from the recording's start. */
  atMs?: number
  endMs?: number
  chunkMs?: number[]
}

/** What the recorded run's accumulator reported. */
export interface Expect {
  stdout: Chunk
  text?: string
  truncated: boolean
  totalBytes: number
  rotations: number
  gaps: number
  malformed: number
}

/** A recording (format version 2) or a hand-written vector (version 1). */
export interface Recording {
  version?: 1 | 2
  name: string
  description: string
  capBytes: number
  mode: 'raw' | 'timestamped'
  reads: RecordedRead[]
  expect?: Expect
  recording?: {
    recorder: string
    startedAtMs: number
    pod?: string
    response?: { status?: string; truncatedStdout?: boolean }
    otherReads: Array<{ kind: string; query: LogQuery; bytes: number; how: string; error?: string; atMs: number; endMs: number }>
  }
}

/** The accumulator class to replay with: the wasm package's (with `byteCounts()`) or the Node addon's. */
export interface AccumulatorClass {
  new (options: { capBytes: number; timestamps?: boolean }): {
    beginRead(): Uint8Array
    push(chunk: Uint8Array): Uint8Array
    endRead(): Uint8Array
    abandonRead(): Uint8Array
    finish(): ReplayResult
    byteCounts?(): { wire: number; accepted: number; kept: number; duplicate: number; skipped: number; framing: number; rotations: number; gaps: number; malformed: number }
    free?(): void
  }
}

/** The accumulator's final result. */
export interface ReplayResult {
  stdout: Uint8Array
  text: string
  truncated: boolean
  totalBytes: number
  rotations: number
  gaps: number
  malformed: number
}

/** What one response brought. Byte classes are present when the accumulator has `byteCounts()`. */
export interface ReadReport {
  index: number
  kind: string | null
  how: string
  query: LogQuery | null
  error: string | null
  atMs: number | null
  endMs: number | null
  chunks: number
  wire?: number
  /** Stream bytes newly taken (also past the cap). */
  accepted?: number
  /** Of those, bytes kept in stdout. */
  kept: number
  duplicate?: number
  skipped?: number
  framing?: number
  /** Rotations / gaps / malformed prefixes this response added. */
  rotations?: number
  gaps?: number
  malformed?: number
  /** Where its accepted bytes sit in the stream: [streamStart, streamEnd). */
  streamStart: number
  streamEnd: number
}

/** What `replay` returns. */
export interface Replay {
  name: string | null
  version: 1 | 2
  mode: 'raw' | 'timestamped'
  capBytes: number
  result: ReplayResult
  reads: ReadReport[]
  /** Differences from the recording's `expect` (`null` without one). */
  differences: string[] | null
  matches: boolean | null
}

export declare const FORMAT_VERSIONS: readonly number[]
export declare function parseRecording(input: string | Uint8Array | object): Recording
export declare function chunkBytes(chunk: Chunk): Uint8Array
export declare function replay(
  recording: string | Uint8Array | Recording,
  StdoutAccumulator: AccumulatorClass,
  options?: { onProgress?: (done: number, total: number) => void; progressEvery?: number },
): Replay
export declare function compareWithExpect(result: ReplayResult, expect: Expect): string[]
export declare function assertReplayMatches(
  recording: string | Uint8Array | Recording,
  StdoutAccumulator: AccumulatorClass,
  expected?: Partial<Omit<ReplayResult, 'text' | 'stdout'>> & { stdout?: Uint8Array | Chunk },
): Replay
export declare function sha256Hex(bytes: Uint8Array): Promise<string>
