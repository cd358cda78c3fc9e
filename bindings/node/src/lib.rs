//! Node-API bindings of tale-sandbox-native, loaded by the npm package `@tale/sandbox-native`.
//!
//! One module per exported area, so later exports (the execute path) get their own module:
//! - [`accumulator`]: the `StdoutAccumulator` class.
//!
//! Every exported call runs inside [`guard`], which turns a Rust panic into a thrown JS `Error`
//! instead of letting it unwind into Node (which would abort the process).
#![warn(missing_docs)]
#![warn(clippy::all)]

pub mod accumulator;
mod guard;
mod js_error;
