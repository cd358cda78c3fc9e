//! WebAssembly bindings (wasm-bindgen) of tale-sandbox-native: the same `StdoutAccumulator` class
//! as the Node addon, for browsers and Node, built into an ESM package by `scripts/build-wasm.sh`.
//!
//! One module per exported area, so later exports get their own module:
//! - [`accumulator`]: the `StdoutAccumulator` class.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod accumulator;
