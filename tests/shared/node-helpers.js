// Node-only helpers shared by the test folders: vector files, the built packages' locations,
// type-checking the committed declarations.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const vectorsDir = join(repoRoot, 'tests', 'vectors')
export const wasmPkgDir = join(repoRoot, 'bindings', 'wasm', 'pkg')

/** Every vector of tests/vectors/, parsed (the tests assert that there is at least one). */
export function loadVectors() {
  const files = readdirSync(vectorsDir).filter((f) => f.endsWith('.json')).sort()
  return files.map((file) => {
    const vector = JSON.parse(readFileSync(join(vectorsDir, file), 'utf8'))
    return { file, ...vector, name: vector.name ?? file }
  })
}

/** Reads the wasm package's module URL and wasm bytes; a clear error when it is not built. */
export function wasmPackage() {
  const wasmFile = join(wasmPkgDir, 'tale_sandbox_wasm_bg.wasm')
  let bytes
  try {
    bytes = readFileSync(wasmFile)
  } catch (error) {
    throw new Error(`the wasm package is not built (${wasmFile} missing): run bash scripts/build-wasm.sh`, { cause: error })
  }
  // The package's entry (index.js: the glue with the JS side of pushCount installed), as `import
  // '@tale/sandbox-native-wasm'` resolves it.
  return { moduleUrl: new URL(`file://${join(wasmPkgDir, 'index.js')}`).href, bytes }
}

/** Compiles the project `tests/types/<tsconfig>` with tsc; throws with tsc's diagnostics if it fails. */
export function typeCheck(tsconfig) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  try {
    execFileSync(process.execPath, [tsc, '-p', join(repoRoot, 'tests', 'types', tsconfig)], { encoding: 'utf8', stdio: 'pipe' })
  } catch (error) {
    // tsc prints its diagnostics on stdout.
    throw new Error(`tsc found type errors:\n${error.stdout}${error.stderr}`)
  }
}
