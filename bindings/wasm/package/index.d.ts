// Entry of @tale/sandbox-native-wasm (the `web` build): everything the wasm-bindgen glue declares.
export * from './tale_sandbox_wasm.js'
export { default } from './tale_sandbox_wasm.js'
