//! `ExecuteResponse` and its parts (types.ts, wire.ts, spec §3.2).

use serde::{Deserialize, Serialize};

use super::lenient;

/// `ErrorCode` (`sandboxErrorCodeLiterals`, wire.ts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// `TIMEOUT`.
    Timeout,
    /// `OOM`.
    Oom,
    /// `EGRESS_DENIED`.
    EgressDenied,
    /// `INSTALL_FAILED`.
    InstallFailed,
    /// `PACKAGE_NOT_FOUND`.
    PackageNotFound,
    /// `QUOTA_EXCEEDED`.
    QuotaExceeded,
    /// `RUNTIME_ERROR`.
    RuntimeError,
    /// `SPAWNER_UNAVAILABLE`.
    SpawnerUnavailable,
    /// `CANCELLED`.
    Cancelled,
    /// `INPUT_REJECTED`.
    InputRejected,
    /// `HARVEST_READ_FAILED`.
    HarvestReadFailed,
    /// `UPLOAD_FAILED`.
    UploadFailed,
    /// `UPLOAD_QUOTA_EXCEEDED`.
    UploadQuotaExceeded,
    /// `UPLOAD_REPORT_FAILED`.
    UploadReportFailed,
    /// `PRE_STAGE_FAILED` (platform-side only; never emitted here).
    PreStageFailed,
    /// `UPLOAD_INCOMPLETE` (platform-side only; never emitted here).
    UploadIncomplete,
    /// `SESSION_LOST` (later versions; session backend only).
    SessionLost,
    /// `INVALID_CWD` (later versions; session backend only).
    InvalidCwd,
}

impl ErrorCode {
    /// The wire string, e.g. `"UPLOAD_QUOTA_EXCEEDED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Oom => "OOM",
            ErrorCode::EgressDenied => "EGRESS_DENIED",
            ErrorCode::InstallFailed => "INSTALL_FAILED",
            ErrorCode::PackageNotFound => "PACKAGE_NOT_FOUND",
            ErrorCode::QuotaExceeded => "QUOTA_EXCEEDED",
            ErrorCode::RuntimeError => "RUNTIME_ERROR",
            ErrorCode::SpawnerUnavailable => "SPAWNER_UNAVAILABLE",
            ErrorCode::Cancelled => "CANCELLED",
            ErrorCode::InputRejected => "INPUT_REJECTED",
            ErrorCode::HarvestReadFailed => "HARVEST_READ_FAILED",
            ErrorCode::UploadFailed => "UPLOAD_FAILED",
            ErrorCode::UploadQuotaExceeded => "UPLOAD_QUOTA_EXCEEDED",
            ErrorCode::UploadReportFailed => "UPLOAD_REPORT_FAILED",
            ErrorCode::PreStageFailed => "PRE_STAGE_FAILED",
            ErrorCode::UploadIncomplete => "UPLOAD_INCOMPLETE",
            ErrorCode::SessionLost => "SESSION_LOST",
            ErrorCode::InvalidCwd => "INVALID_CWD",
        }
    }
}

/// `ExecuteResponse.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    /// `completed`.
    Completed,
    /// `failed`.
    Failed,
    /// `cancelled`.
    Cancelled,
}

/// `ExecuteResponse.truncated`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncated {
    /// Stdout was cut (stream truncation or cap).
    pub stdout: bool,
    /// Stderr was cut.
    pub stderr: bool,
    /// Output files skipped by the per-file / total caps.
    pub files: u64,
}

/// `OutputFile` (types.ts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputFile {
    /// Path relative to `<WS>/output/`.
    pub name: String,
    /// Storage id returned by the upload slot.
    pub storage_id: String,
    /// Size in bytes.
    pub size: u64,
    /// Guessed content type.
    pub content_type: String,
    /// Hex sha256 of the content.
    pub sha256: String,
}

/// `UploadFailure` (types.ts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadFailure {
    /// Slot index, `-1` for a slot request (EP1) failure.
    #[serde(deserialize_with = "lenient::int")]
    pub slot_index: i64,
    /// File name, `(slot-request)` for an EP1 failure.
    pub file_name: String,
    /// HTTP status, `0` when there was none, `412` for quota. Optional
    /// because the TypeScript copies a possibly `undefined` status, which
    /// `JSON.stringify` then omits.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_int"
    )]
    pub http_status: Option<i64>,
    /// Start of the error body (omitted like `httpStatus` when undefined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_snippet: Option<String>,
}

/// `UploadStats` (types.ts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadStats {
    /// Upload attempts.
    pub attempted: u64,
    /// Successful uploads.
    pub succeeded: u64,
    /// Failures, in order.
    pub failures: Vec<UploadFailure>,
}

/// `SandboxStepStatus` (wire.ts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// `completed`.
    Completed,
    /// `failed`.
    Failed,
    /// `skipped`.
    Skipped,
}

/// `SandboxStepResult` (wire.ts).
///
/// The harvest copies `exitCode` and `durationMs` from the user-written
/// `results.json` when they are numbers, so both are any JavaScript number
/// (`1.5`, `-3`) and pass through to the response unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    /// The requested step path.
    pub path: String,
    /// What the step wrapper recorded; `skipped` when the step never ran.
    pub status: StepStatus,
    /// The step's exit code as the wrapper reported it; `null` when the step never ran.
    #[serde(serialize_with = "lenient::opt_js_number")]
    pub exit_code: Option<f64>,
    /// Wall time of the step in milliseconds.
    #[serde(serialize_with = "lenient::js_number")]
    pub duration_ms: f64,
}

/// `ExecuteResponse.timing`, in milliseconds. The harvest reports stage,
/// harvest and upload times as JavaScript numbers, passed through unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    /// Stage duration reported by the prestage file.
    #[serde(serialize_with = "lenient::js_number")]
    pub stage_ms: f64,
    /// Execute time (see `crate::response::ExecuteMsRule`, W14).
    #[serde(serialize_with = "lenient::js_number")]
    pub execute_ms: f64,
    /// Harvest walk + upload time.
    #[serde(serialize_with = "lenient::js_number")]
    pub harvest_ms: f64,
    /// Upload time (measured inside the harvest walk).
    #[serde(serialize_with = "lenient::js_number")]
    pub upload_ms: f64,
}

/// `PriorStageSkipReason` (types.ts). A reason this crate does not know
/// (a newer stage program) is kept as [`Self::Other`] instead of rejecting
/// the whole result line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum PriorStageSkipReason {
    /// `unsafe_path`.
    UnsafePath,
    /// `fetch_failed`.
    FetchFailed,
    /// `fetch_timeout`.
    FetchTimeout,
    /// `http_error`.
    HttpError,
    /// `url_expired`.
    UrlExpired,
    /// `write_failed`.
    WriteFailed,
    /// `download_too_large`.
    DownloadTooLarge,
    /// Any other reason string, passed through.
    Other(String),
}

impl PriorStageSkipReason {
    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            PriorStageSkipReason::UnsafePath => "unsafe_path",
            PriorStageSkipReason::FetchFailed => "fetch_failed",
            PriorStageSkipReason::FetchTimeout => "fetch_timeout",
            PriorStageSkipReason::HttpError => "http_error",
            PriorStageSkipReason::UrlExpired => "url_expired",
            PriorStageSkipReason::WriteFailed => "write_failed",
            PriorStageSkipReason::DownloadTooLarge => "download_too_large",
            PriorStageSkipReason::Other(other) => other,
        }
    }
}

impl From<String> for PriorStageSkipReason {
    fn from(s: String) -> Self {
        match s.as_str() {
            "unsafe_path" => PriorStageSkipReason::UnsafePath,
            "fetch_failed" => PriorStageSkipReason::FetchFailed,
            "fetch_timeout" => PriorStageSkipReason::FetchTimeout,
            "http_error" => PriorStageSkipReason::HttpError,
            "url_expired" => PriorStageSkipReason::UrlExpired,
            "write_failed" => PriorStageSkipReason::WriteFailed,
            "download_too_large" => PriorStageSkipReason::DownloadTooLarge,
            _ => PriorStageSkipReason::Other(s),
        }
    }
}

impl From<PriorStageSkipReason> for String {
    fn from(r: PriorStageSkipReason) -> Self {
        r.as_str().to_string()
    }
}

/// One staged prior output (`PriorStageResult.staged[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorStagedFile {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Hex sha256.
    pub sha256: String,
}

/// One skipped prior output (`PriorStageResult.skipped[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorSkippedFile {
    /// File name.
    pub name: String,
    /// Why it was skipped.
    pub reason: PriorStageSkipReason,
    /// Human-readable detail of the failure (e.g. `HTTP 403`).
    pub detail: String,
}

/// `PriorStageResult` (types.ts): the prior-output attestation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorStage {
    /// Prior outputs the stage program downloaded into `<WS>/output/`.
    pub staged: Vec<PriorStagedFile>,
    /// Prior outputs the stage program could not stage, with the reason.
    pub skipped: Vec<PriorSkippedFile>,
}

/// `ExecuteResponse` (types.ts, spec §3.2), key order as the constructors emit it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteResponse {
    /// `completed`, `failed` or `cancelled` (spec §1.3).
    pub status: ExecutionStatus,
    /// Exit code (`null` when there is none).
    pub exit_code: Option<i32>,
    /// Error code, absent on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// Error message, absent on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Standard base64 of the capped, stripped stdout.
    pub stdout_base64: String,
    /// Standard base64 of the capped, stripped stderr.
    pub stderr_base64: String,
    /// `now - startedAtMs` at assembly time.
    pub duration_ms: i64,
    /// Whether stdout and stderr were cut, and how many output files the caps skipped.
    pub truncated: Truncated,
    /// Uploaded output files.
    pub output_files: Vec<OutputFile>,
    /// Step results (steps mode only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepResult>>,
    /// Upload statistics (absent on `makeError` responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_stats: Option<UploadStats>,
    /// Timing (absent on `makeError` responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
    /// Prior-stage attestation (only when the harvest reported one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_stage: Option<PriorStage>,
}
