// Entry of @tale/sandbox-native-wasm/bundler: everything the wasm-bindgen glue declares.
export * from './tale_sandbox_wasm.js'
