// The wasm package in headless Chromium (Debian's `chromium`, driven by playwright-core): the page
// loads the package from a local HTTP server on 127.0.0.1 and runs every shared vector and API case
// with the same runner modules as the Node tests; the counts come back here and are asserted.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { chromium } from 'playwright-core'

import { apiCases } from '../shared/api-cases.js'
import { CHROMIUM_FLAGS, chromiumPath, serveFiles } from '../shared/chromium-helpers.js'
import { loadVectors, repoRoot, wasmPackage, wasmPkgDir } from '../shared/node-helpers.js'

// URL prefix -> folder served under it; `/` is the page.
const ROUTES = [
  ['/pkg/', wasmPkgDir],
  ['/shared/', join(repoRoot, 'tests', 'shared')],
]

const vectors = loadVectors()
let results
const pageErrors = []

before(async () => {
  wasmPackage() // a clear error when the package is not built
  const server = await serveFiles(ROUTES, join(repoRoot, 'tests', 'browser', 'page.html'))
  const profile = mkdtempSync(join(tmpdir(), 'tale-sandbox-chromium-'))
  let context
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath(),
      headless: true,
      args: CHROMIUM_FLAGS,
    })
    const page = context.pages()[0] ?? (await context.newPage())
    page.on('pageerror', (error) => pageErrors.push(String(error)))
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text())
    })
    await page.goto(`http://127.0.0.1:${server.address().port}/`)
    await page.waitForFunction(() => document.title === 'ready' || typeof window.runAll === 'function', null, { timeout: 30_000 })
    results = await page.evaluate((all) => window.runAll(all), vectors)
  } finally {
    await context?.close()
    server.close()
    rmSync(profile, { recursive: true, force: true })
  }
})

describe('wasm StdoutAccumulator in headless Chromium', () => {
  test('the page loaded the package without errors', () => {
    assert.deepEqual(pageErrors, [])
    assert.match(results.userAgent, /Chrome\//)
  })

  test('tests/vectors/ holds vectors', () => assert.ok(vectors.length > 0, 'no *.json vector in tests/vectors/'))

  test('every vector passes in both abandon styles', () => {
    const { passed, failed, failures } = results.vectors
    assert.deepEqual(failures, [])
    assert.equal(failed, 0)
    assert.equal(passed, vectors.length * 4) // two abandon styles, through push() and pushCount()
  })

  test('every API and bad-input case passes', () => {
    const { passed, failed, failures } = results.api
    assert.deepEqual(failures, [])
    assert.equal(failed, 0)
    assert.equal(passed, apiCases.length)
  })
})

after(() => {
  if (results) {
    const v = results.vectors
    const a = results.api
    console.log(`chromium: vectors ${v.passed} passed, ${v.failed} failed; api cases ${a.passed} passed, ${a.failed} failed`)
  }
})
