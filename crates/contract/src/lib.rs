//! The Kubernetes execute-path contract of the TypeScript sandbox service
//! (`tale-project/tale`, `services/sandbox/src/`) as pure Rust.
//!
//! Everything here is deterministic and free of I/O, async runtimes and clock
//! reads (callers pass `now_ms`): JSON read and written as JavaScript does
//! ([`js_json`]), wire types ([`wire`]), configuration
//! ([`config`]), object names and safety checks ([`names`]), the Pod and
//! Secret builders (`pod`, `secret`), the in-pod line protocol
//! ([`protocol`]), text helpers ([`text`]), the live-progress scanner
//! ([`scanner`]), response assembly ([`response`]), sweep and startup
//! decisions (`reap`) and the API retry policy ([`retry`]). Every public
//! item names the TypeScript function or constant it mirrors; deliberate
//! differences are listed in `DIFFERENCES.md`.
//!
//! Feature `k8s` (default) adds the k8s-openapi based modules `pod`,
//! `secret` and `reap`; without it the crate has no Kubernetes types
//! (used by the fuzz targets to keep their build small).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod constants;
pub mod error;
pub mod exec_spec;
pub mod js_json;
pub mod names;
#[cfg(feature = "k8s")]
pub mod pod;
pub mod protocol;
#[cfg(feature = "k8s")]
pub mod reap;
pub mod response;
pub mod retry;
pub mod scanner;
#[cfg(feature = "k8s")]
pub mod secret;
pub mod text;
pub mod wire;

/// The k8s-openapi version the builders use (feature `k8s`).
#[cfg(feature = "k8s")]
pub use k8s_openapi;
