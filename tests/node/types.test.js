// The committed TypeScript declarations of @tale/sandbox-native type-check a typical use and
// reject misuse (tests/types/node-usage.ts, compiled with tsc --noEmit).
import { test } from 'node:test'

import { typeCheck } from '../shared/node-helpers.js'

test('index.d.ts type-checks the documented usage', () => typeCheck('tsconfig.node.json'))
