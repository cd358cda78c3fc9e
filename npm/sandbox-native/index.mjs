// ESM entry of @tale/sandbox-native: the CommonJS loader (index.js) picks the addon; this file
// re-exports its exports by name, since Node cannot see the names of a CommonJS module whose
// exports are assigned in a loop. tests/node/package.test.js checks that the two lists agree.
import { createRequire } from 'node:module'

const native = createRequire(import.meta.url)('./index.js')

export const { KubernetesBackend, StdoutAccumulator } = native
export default native
