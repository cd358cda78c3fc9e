// The committed TypeScript declarations of the wasm package type-check a typical use and
// reject misuse (tests/types/wasm-usage.ts, compiled with tsc --noEmit).
import { test } from 'node:test'

import { typeCheck } from '../shared/node-helpers.js'

test('tale_sandbox_wasm.d.ts type-checks the documented usage', () => typeCheck('tsconfig.wasm.json'))

test('@tale/sandbox-replay and the bundler build type-check a browser test\'s usage', () => typeCheck('tsconfig.replay.json'))
