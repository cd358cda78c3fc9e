//! The Kubernetes execute-path contract of the TypeScript sandbox service
//! (`tale-project/tale`, `services/sandbox/src/`) as pure Rust.
//!
//! Everything here is deterministic and free of I/O, async runtimes and clock
//! reads (callers pass `now_ms`): wire types ([`wire`]), configuration
//! ([`config`]), object names and safety checks ([`names`]), the Pod and
//! Secret builders ([`pod`], [`secret`]), the in-pod line protocol
//! ([`protocol`]), text helpers ([`text`]), the live-progress scanner
//! ([`scanner`]), response assembly ([`response`]), sweep and startup
//! decisions ([`reap`]) and the API retry policy ([`retry`]). Every public
//! item names the TypeScript function or constant it mirrors; deliberate
//! differences are listed in `DIFFERENCES.md`.
#![warn(missing_docs)]

pub mod config;
pub mod constants;
pub mod error;
pub mod names;
pub mod pod;
pub mod protocol;
pub mod reap;
pub mod response;
pub mod retry;
pub mod scanner;
pub mod secret;
pub mod text;
pub mod wire;

pub use k8s_openapi;
