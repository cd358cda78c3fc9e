//! The sandbox's Kubernetes execute path: the kube client, the API calls, the
//! tokio driver of the execute flow and the [`KubernetesBackend`] on top.
//!
//! Layers, one job each:
//! - [`client`]: builds the `kube::Client` (spec §8.1), kube's own retries off;
//! - [`api`]: single-attempt calls with per-call timeouts and one error type
//!   with the status / no-status split (§8.2–§8.4), the runner's follow stream
//!   and a pod watcher;
//! - [`driver`]: performs the actions of [`tale_sandbox_flow::Execution`] (the
//!   sans-I/O flow that makes every decision) and feeds it events;
//! - [`backend`]: `init`, `health`, `execute`, `cancel`, `sweepOrphans`, ...
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tale_sandbox_contract::config::SpawnerConfig;
//! use tale_sandbox_contract::wire::ExecuteRequest;
//! use tale_sandbox_execute::{ClientOptions, ExecuteOptions, KubernetesBackend, now_ms};
//!
//! let cfg = SpawnerConfig::from_env(|name| std::env::var(name).ok())?;
//! let backend = KubernetesBackend::new(cfg.clone(), ClientOptions::default()).await?;
//! backend.init().await?;
//! let req = ExecuteRequest::from_json(r#"{"executionId":"e1","organizationId":"o1",
//!     "language":"python","entryPath":"main.py","outputUploadSlots":[],
//!     "outputUrlEndpoint":"http://p/1","reportUploadedEndpoint":"http://p/2"}"#)?;
//! let outcome = backend.execute(&cfg, req, ExecuteOptions::new(now_ms())).await;
//! println!("{:?} after {} ms", outcome.response.status, outcome.response.duration_ms);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
pub mod backend;
pub mod client;
pub mod driver;
pub mod record;

pub use api::{ApiError, FollowEnd, KubeApi, LogFollow, LogRequest, PodEvent, Timeouts};
pub use backend::{BackendError, ExecuteOptions, KubernetesBackend};
pub use client::{ClientError, ClientOptions, make_client, make_config};
pub use driver::{
    Callbacks, ExecuteOutcome, ExecutionReport, PhaseCallback, StdoutDeltaCallback, drive,
    drive_recorded, now_ms,
};
pub use record::{RECORD_ENV, record_path};
