// The committed TypeScript declarations of the wasm package type-check a typical use and
// reject misuse (tests/types/wasm-usage.ts, compiled with tsc --noEmit).
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

import { repoRoot } from '../shared/node-helpers.js'

test('tale_sandbox_wasm.d.ts type-checks the documented usage', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  try {
    execFileSync(process.execPath, [tsc, '-p', join(repoRoot, 'tests', 'types', 'tsconfig.wasm.json')], { encoding: 'utf8', stdio: 'pipe' })
  } catch (error) {
    // tsc prints its diagnostics on stdout.
    throw new Error(`tsc found type errors:\n${error.stdout}${error.stderr}`)
  }
})

test('@tale/sandbox-replay and the bundler build type-check a browser test\'s usage', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  try {
    execFileSync(process.execPath, [tsc, '-p', join(repoRoot, 'tests', 'types', 'tsconfig.replay.json')], { encoding: 'utf8', stdio: 'pipe' })
  } catch (error) {
    throw new Error(`tsc found type errors:\n${error.stdout}${error.stderr}`)
  }
})
