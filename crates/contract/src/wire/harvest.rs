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
    /// Whether the harvest's exit-code wait timed out.
    #[serde(default)]
    pub timed_out: bool,
}

/// `K8sHarvestResult` (k8s-protocol.ts): the result line's payload (§5.2).
///
/// Only `exitCode` is required; every other field defaults like the
/// TypeScript's `??` fallbacks in `assemble` would treat it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HarvestResult {
    /// Set only on the harvest's fatal fallback line; `exitCode` is then a placeholder.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fatal: bool,
    /// The runner's exit code.
    #[serde(deserialize_with = "lenient::int32")]
    pub exit_code: i32,
    /// Head of the stderr file (lossy UTF-8).
    #[serde(default)]
    pub stderr: String,
    /// The stderr file was larger than the cap.
    #[serde(default)]
    pub stderr_truncated: bool,
    /// Uploaded files.
    #[serde(default)]
    pub output_files: Vec<OutputFile>,
    /// Files skipped by the caps.
    #[serde(default)]
    pub truncated_files: u64,
    /// Upload statistics.
    #[serde(default)]
    pub upload_stats: UploadStats,
    /// EP1 reported the quota exhausted.
    #[serde(default)]
    pub quota_exhausted: bool,
    /// An upload failed.
    #[serde(default)]
    pub upload_failed: bool,
    /// A report-back (EP2) failed.
    #[serde(default)]
    pub report_failed: bool,
    /// Reading the output directory failed.
    #[serde(default)]
    pub read_failed: bool,
    /// Stage duration from the prestage file.
    #[serde(default, deserialize_with = "lenient::int")]
    pub stage_ms: i64,
    /// Harvest walk duration.
    #[serde(default, deserialize_with = "lenient::int")]
    pub harvest_ms: i64,
    /// Upload duration (inside the walk).
    #[serde(default, deserialize_with = "lenient::int")]
    pub upload_ms: i64,
    /// Runner execute time (newer protocol variant only).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub execute_ms: Option<i64>,
    /// Step results (steps mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepResult>>,
    /// Prior-stage attestation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_stage: Option<PriorStage>,
}

impl HarvestResult {
    /// The harvest's fatal fallback payload (k8s-harvest.ts top-level catch).
    pub fn fatal_fallback() -> Self {
        HarvestResult {
            fatal: true,
            exit_code: 1,
            read_failed: true,
            ..Default::default()
        }
    }
}
