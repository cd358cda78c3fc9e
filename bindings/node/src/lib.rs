//! Node-API bindings of tale-sandbox-native, loaded by the npm package `@tale/sandbox-native`.
//!
//! One module per exported area, so later exports (the execute path) get their own module:
//! - [`accumulator`]: the `StdoutAccumulator` class;
//! - [`backend`]: the `KubernetesBackend` class (the execute path, over `tale-sandbox-execute`).
//!
//! A class keeps its Rust state in a `guard::Guarded`, which runs every call under panic
//! containment (a Rust panic becomes a thrown JS `Error` instead of unwinding into Node, which
//! would abort the process); it names itself for the guard's messages with
//! `guard::Contained`. The package loader exports whatever the addon exports and makes every
//! class require `new`, so a new class needs no change outside its module.
#![warn(missing_docs)]
#![warn(clippy::all)]

pub mod accumulator;
pub mod backend;
mod convert;
mod fast_path;
mod guard;
mod js_error;
mod js_thread;
