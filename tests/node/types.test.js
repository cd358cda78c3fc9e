// The committed TypeScript declarations of @tale/sandbox-native type-check a typical use and
// reject misuse (tests/types/node-usage.ts, compiled with tsc --noEmit).
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

import { repoRoot } from '../shared/node-helpers.js'

test('index.d.ts type-checks the documented usage', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  try {
    execFileSync(process.execPath, [tsc, '-p', join(repoRoot, 'tests', 'types', 'tsconfig.node.json')], { encoding: 'utf8', stdio: 'pipe' })
  } catch (error) {
    // tsc prints its diagnostics on stdout.
    throw new Error(`tsc found type errors:\n${error.stdout}${error.stderr}`)
  }
})
