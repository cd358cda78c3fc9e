//! The started/result line payloads of the in-pod protocol (k8s-protocol.ts, spec §5.1–§5.2).

use serde::{Deserialize, Serialize};

use super::lenient;
use super::{OutputFile, PriorStage, StepResult, UploadStats};

/// The started line's payload (`formatStartedLine` / `parseStartedLine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedInfo {
    /// The runner's real exit code (124 when the harvest's wait timed out).
    #[serde(deserialize_with = "lenient::int32")]
    pub exit_code: i32,
    /// Whether the harvest's exit-code wait timed out (not read by the spawner).
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub timed_out: bool,
}

/// `K8sHarvestResult` (k8s-protocol.ts): the result line's payload (§5.2).
///
/// Only `exitCode` is required. Every other field reads like `assemble` uses
/// it: `null` or absent gives the `??` default, the four error flags and
/// `fatal` take JavaScript truthiness, and the millisecond fields are any
/// JSON number (`f64`, written back like `JSON.stringify`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HarvestResult {
    /// Set only on the harvest's fatal fallback line; `exitCode` is then a placeholder.
    #[serde(
        default,
        skip_serializing_if = "std::ops::Not::not",
        deserialize_with = "lenient::truthy"
    )]
    pub fatal: bool,
    /// The runner's exit code.
    #[serde(deserialize_with = "lenient::int32")]
    pub exit_code: i32,
    /// Head of the stderr file (lossy UTF-8).
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub stderr: String,
    /// The stderr file was larger than the cap.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub stderr_truncated: bool,
    /// The output files the harvest uploaded, as it reported them.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub output_files: Vec<OutputFile>,
    /// How many output files the per-file and total byte caps skipped.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub truncated_files: u64,
    /// Attempts, successes and failures of the harvest's uploads.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub upload_stats: UploadStats,
    /// EP1 reported the quota exhausted.
    #[serde(default, deserialize_with = "lenient::truthy")]
    pub quota_exhausted: bool,
    /// An upload failed.
    #[serde(default, deserialize_with = "lenient::truthy")]
    pub upload_failed: bool,
    /// A report-back (EP2) failed.
    #[serde(default, deserialize_with = "lenient::truthy")]
    pub report_failed: bool,
    /// Reading the output directory failed.
    #[serde(default, deserialize_with = "lenient::truthy")]
    pub read_failed: bool,
    /// Stage duration from the prestage file.
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        serialize_with = "lenient::js_number"
    )]
    pub stage_ms: f64,
    /// Harvest walk duration.
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        serialize_with = "lenient::js_number"
    )]
    pub harvest_ms: f64,
    /// Upload duration (inside the walk).
    #[serde(
        default,
        deserialize_with = "lenient::null_as_default",
        serialize_with = "lenient::js_number"
    )]
    pub upload_ms: f64,
    /// Runner execute time (newer protocol variant only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "lenient::opt_js_number"
    )]
    pub execute_ms: Option<f64>,
    /// Step results (steps mode only; `null` reads as absent, like `h.steps ?? …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepResult>>,
    /// Prior-stage attestation (`null` reads as absent; see DIFFERENCES.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_stage: Option<PriorStage>,
}

impl HarvestResult {
    /// The harvest's fatal fallback payload (k8s-harvest.ts top-level catch).
    pub fn fatal_fallback() -> Self {
        HarvestResult { fatal: true, exit_code: 1, read_failed: true, ..Default::default() }
    }
}
