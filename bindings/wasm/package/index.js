// Entry of @tale/sandbox-native-wasm (the `web` build, `await init()` first): the wasm-bindgen
// glue, with `StdoutAccumulator.prototype.pushCount` counting the re-served chunks of a raw poll
// on the JS side instead of copying each one into wasm (skip-layer.js, built from the napi
// package's npm/sandbox-native/skip-layer.js by scripts/build-wasm.sh).
import init, { StdoutAccumulator } from './tale_sandbox_wasm.js'
import { installSkipLayer } from './skip-layer.js'

installSkipLayer(StdoutAccumulator)

export * from './tale_sandbox_wasm.js'
export default init
