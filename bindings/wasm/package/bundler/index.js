// Entry of @tale/sandbox-native-wasm/bundler (the `bundler` build: the .wasm is imported as a
// module, no init call): the wasm-bindgen glue, with the JS side of `pushCount` installed as in
// the package root (../skip-layer.js).
import { StdoutAccumulator } from './tale_sandbox_wasm.js'
import { installSkipLayer } from '../skip-layer.js'

installSkipLayer(StdoutAccumulator)

export * from './tale_sandbox_wasm.js'
