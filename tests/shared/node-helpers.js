// Node-only helpers shared by the test folders: vector files, the built packages' locations.
import { readdirSync, readFileSync } from 'node:fs'
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
  return { moduleUrl: new URL(`file://${join(wasmPkgDir, 'tale_sandbox_wasm.js')}`).href, bytes }
}
