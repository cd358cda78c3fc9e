//! Wire types: the JSON shapes of `types.ts` / `wire.ts` (spec §3) and of the
//! in-pod result lines (spec §5.1–§5.2).
//!
//! Field names follow the TypeScript JSON exactly (`camelCase`); struct field
//! order is the key order the TypeScript constructors produce, so
//! `serde_json::to_string` gives byte-identical JSON. Optional keys are
//! omitted, never `null`, unless the TypeScript writes `null` (`exitCode`).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::error::RequestError;

/// `Language` (wire.ts). The backend accepts only python, node and polyglot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// `python`.
    Python,
    /// `node`.
    Node,
    /// `bash` (rejected before the Kubernetes backend).
    Bash,
    /// `polyglot`.
    Polyglot,
}

impl Language {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Node => "node",
            Language::Bash => "bash",
            Language::Polyglot => "polyglot",
        }
    }

    /// Whether `execute` (§1.2 step 1) and `buildSandboxPod` accept it.
    pub fn is_backend_supported(self) -> bool {
        !matches!(self, Language::Bash)
    }
}

/// One workspace file of `ExecuteRequest.files` (`{ path, url }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceFile {
    /// Path below `<WS>/code/`.
    pub path: String,
    /// Presigned download URL.
    pub url: String,
}

/// One `{ name, url }` download (`priorOutputDownloads`, `userUploadDownloads`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedDownload {
    /// File name below the target directory.
    pub name: String,
    /// Presigned download URL.
    pub url: String,
}

/// One pre-allocated upload slot (`outputUploadSlots[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSlot {
    /// Presigned upload URL.
    pub url: String,
}

/// `packagesByLang` (polyglot install buckets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagesByLang {
    /// Python packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<Vec<String>>,
    /// Node packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<Vec<String>>,
}

/// `ExecuteRequest` (types.ts, spec §3.1).
///
/// Keys the TypeScript type does not know are kept in [`Self::extra`] and
/// written back after the known ones, so the Secret still carries the request
/// "verbatim" for the in-pod programs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteRequest {
    /// Execution id (`ID_ALPHABET_RE`).
    pub execution_id: String,
    /// Organization id (`ORG_ID_ALPHABET_RE`).
    pub organization_id: String,
    /// Runtime language; an unknown string is a deserialization error.
    pub language: Language,
    /// Workspace files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<WorkspaceFile>>,
    /// Single-script entry path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_path: Option<String>,
    /// Multi-step mode paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<String>>,
    /// Prior outputs to stage into `<WS>/output/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_output_downloads: Option<Vec<NamedDownload>>,
    /// User uploads to stage into `<WS>/uploads/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_upload_downloads: Option<Vec<NamedDownload>>,
    /// Single-runtime install list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<String>>,
    /// Polyglot install buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages_by_lang: Option<PackagesByLang>,
    /// Requested timeout; negative or fractional values are rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Pre-allocated presigned upload URLs.
    pub output_upload_slots: Vec<UploadSlot>,
    /// EP1: request more upload slots.
    pub output_url_endpoint: String,
    /// EP2: report each upload.
    pub report_uploaded_endpoint: String,
    /// Step-scoped env for the runner (/user era), in object order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<IndexMap<String, String>>,
    /// Keys not part of the TypeScript type, passed through untouched.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ExecuteRequest {
    /// Parse a request body, mapping serde errors to [`RequestError::Malformed`].
    pub fn from_json(body: &str) -> Result<Self, RequestError> {
        serde_json::from_str(body).map_err(|e| RequestError::Malformed(e.to_string()))
    }

    /// The entry path handed to the runtime (§1.2 step 3): in steps mode the
    /// generated wrapper `<TALE_DIR>/runner.py` (python, polyglot) or
    /// `<TALE_DIR>/runner.js` (node), otherwise `entryPath` verbatim.
    pub fn runner_entry_path(
        &self,
        variant: crate::config::ContractVariant,
    ) -> Result<String, RequestError> {
        if self.steps.is_some() {
            let wrapper = match self.language {
                Language::Node => "runner.js",
                Language::Python | Language::Polyglot => "runner.py",
                Language::Bash => return Err(RequestError::InvalidLanguage),
            };
            return Ok(format!("{}/{wrapper}", variant.tale_dir()));
        }
        self.entry_path.clone().ok_or(RequestError::MissingEntry)
    }

    /// The dispatcher's and backend's acceptance checks (`executeRequest` in
    /// spawn.ts + §1.2 step 1), in their order: id, organization, language.
    pub fn check_backend_acceptance(&self) -> Result<(), RequestError> {
        if !crate::names::is_safe_execution_id(&self.execution_id) {
            return Err(RequestError::InvalidExecutionId);
        }
        if !crate::names::is_safe_organization_id(&self.organization_id) {
            return Err(RequestError::InvalidOrganizationId);
        }
        if !self.language.is_backend_supported() {
            return Err(RequestError::InvalidLanguage);
        }
        Ok(())
    }
}

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepResult {
    /// The requested step path.
    pub path: String,
    /// Outcome.
    pub status: StepStatus,
    /// Exit code, `null` when the step never ran.
    #[serde(deserialize_with = "lenient::opt_int32")]
    pub exit_code: Option<i32>,
    /// Wall time of the step.
    #[serde(deserialize_with = "lenient::int")]
    pub duration_ms: i64,
}

/// `ExecuteResponse.timing`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    /// Stage duration reported by the prestage file.
    pub stage_ms: i64,
    /// Execute time (see `crate::response::ExecuteMsRule`, W14).
    pub execute_ms: i64,
    /// Harvest walk + upload time.
    pub harvest_ms: i64,
    /// Upload time (measured inside the harvest walk).
    pub upload_ms: i64,
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
    /// Detail text.
    pub detail: String,
}

/// `PriorStageResult` (types.ts): the prior-output attestation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorStage {
    /// Staged files.
    pub staged: Vec<PriorStagedFile>,
    /// Skipped files.
    pub skipped: Vec<PriorSkippedFile>,
}

/// `ExecuteResponse` (types.ts, spec §3.2), key order as the constructors emit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteResponse {
    /// Outcome.
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
    /// Truncation flags.
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

/// `SandboxPhaseEvent` (wire.ts). The Kubernetes scanner emits only
/// `installing` and `running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// `preparing`.
    Preparing,
    /// `installing`.
    Installing,
    /// `running`.
    Running,
    /// `completed`.
    Completed,
}

/// `HealthResult` (backend/types.ts): `{ ok: true, detail }` or `{ ok: false, error }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthResult {
    /// `{ ok: true, detail }`.
    Healthy {
        /// e.g. `k8s namespace=<ns>`.
        detail: String,
    },
    /// `{ ok: false, error }`.
    Unhealthy {
        /// The error message.
        error: String,
    },
}

#[derive(Serialize, Deserialize)]
struct HealthWire {
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Serialize for HealthResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let wire = match self {
            HealthResult::Healthy { detail } => HealthWire {
                ok: true,
                detail: Some(detail.clone()),
                error: None,
            },
            HealthResult::Unhealthy { error } => HealthWire {
                ok: false,
                detail: None,
                error: Some(error.clone()),
            },
        };
        wire.serialize(s)
    }
}

impl<'de> Deserialize<'de> for HealthResult {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = HealthWire::deserialize(d)?;
        match (wire.ok, wire.detail, wire.error) {
            (true, Some(detail), None) => Ok(HealthResult::Healthy { detail }),
            (false, None, Some(error)) => Ok(HealthResult::Unhealthy { error }),
            _ => Err(serde::de::Error::custom(
                "HealthResult needs {ok:true,detail} or {ok:false,error}",
            )),
        }
    }
}

/// `CacheStores` (backend/types.ts): the per-organization cache PVC claim names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStores {
    /// pip cache claim.
    pub pip: String,
    /// npm cache claim.
    pub npm: String,
}

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

impl HealthResult {
    /// `health()` success: `{ ok: true, detail: "k8s namespace=<ns>" }`.
    pub fn for_namespace(namespace: &str) -> Self {
        HealthResult::Healthy {
            detail: format!("k8s namespace={namespace}"),
        }
    }
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

/// Number deserializers that accept what JavaScript writes for a "number":
/// integers, or floats with an integral value (`3.0`). Fractions and values
/// outside the target type are errors, never silently rounded.
pub(crate) mod lenient {
    use serde::{Deserialize, Deserializer, de::Error};

    fn from_json_number<E: Error>(n: &serde_json::Number) -> Result<i64, E> {
        if let Some(i) = n.as_i64() {
            return Ok(i);
        }
        match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64 => {
                Ok(f as i64)
            }
            _ => Err(E::custom(format!("expected an integer, got {n}"))),
        }
    }

    pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        from_json_number(&n)
    }

    pub(crate) fn int32<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        let v = int(d)?;
        i32::try_from(v).map_err(|_| D::Error::custom(format!("{v} is out of range")))
    }

    pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<serde_json::Number>::deserialize(d)? {
            None => Ok(None),
            Some(n) => from_json_number(&n).map(Some),
        }
    }

    pub(crate) fn opt_int32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
        match opt_int(d)? {
            None => Ok(None),
            Some(v) => i32::try_from(v)
                .map(Some)
                .map_err(|_| D::Error::custom(format!("{v} is out of range"))),
        }
    }
}
