//! The terminal-response constructors of exec-response.ts and `makeError`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::classify::{Classified, OomHint, classify_failure};
use crate::config::ContractVariant;
use crate::wire::{
    ErrorCode, ExecuteResponse, ExecutionStatus, OutputFile, PriorStage, StepResult, Timing,
    Truncated, UploadStats,
};

/// `ResponseParts` (exec-response.ts): everything a backend computed before
/// choosing the outcome.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseParts {
    /// Capped, stripped stdout.
    pub stdout_capped: String,
    /// Capped, stripped stderr.
    pub stderr_capped: String,
    /// `truncated.stdout`.
    pub stdout_truncated: bool,
    /// `truncated.stderr`.
    pub stderr_truncated: bool,
    /// `durationMs`.
    pub duration_ms: i64,
    /// `truncated.files`.
    pub truncated_files: u64,
    /// `outputFiles`.
    pub output_files: Vec<OutputFile>,
    /// `steps` (omitted when `None`).
    pub steps: Option<Vec<StepResult>>,
    /// `uploadStats`.
    pub upload_stats: UploadStats,
    /// `timing`.
    pub timing: Timing,
    /// `priorStage` (omitted when `None`).
    pub prior_stage: Option<PriorStage>,
}

fn build(
    parts: ResponseParts,
    status: ExecutionStatus,
    exit_code: Option<i32>,
    error: Option<Classified>,
) -> ExecuteResponse {
    let (error_code, error_message) = match error {
        Some(c) => (Some(c.code), Some(c.message)),
        None => (None, None),
    };
    ExecuteResponse {
        status,
        exit_code,
        error_code,
        error_message,
        stdout_base64: BASE64.encode(parts.stdout_capped.as_bytes()),
        stderr_base64: BASE64.encode(parts.stderr_capped.as_bytes()),
        duration_ms: parts.duration_ms,
        truncated: Truncated {
            stdout: parts.stdout_truncated,
            stderr: parts.stderr_truncated,
            files: parts.truncated_files,
        },
        output_files: parts.output_files,
        steps: parts.steps,
        upload_stats: Some(parts.upload_stats),
        timing: Some(parts.timing),
        prior_stage: parts.prior_stage,
    }
}

/// `buildCancelled(parts)`: `cancelled`, exit `null`, `CANCELLED`.
pub fn build_cancelled(parts: ResponseParts) -> ExecuteResponse {
    let error = Classified::new(ErrorCode::Cancelled, "Execution cancelled by client");
    build(parts, ExecutionStatus::Cancelled, None, Some(error))
}

/// `buildCompleted(parts, harvestErr?)`: exit 0; `completed`, or `failed`
/// with the harvest error.
pub fn build_completed(parts: ResponseParts, harvest_error: Option<Classified>) -> ExecuteResponse {
    let status =
        if harvest_error.is_some() { ExecutionStatus::Failed } else { ExecutionStatus::Completed };
    build(parts, status, Some(0), harvest_error)
}

/// `buildRuntimeFailure(parts, exitCode, stderr, hint?)`: `failed` with
/// `classifyFailure`'s code.
pub fn build_runtime_failure(
    parts: ResponseParts,
    exit_code: i32,
    stderr_for_classify: &str,
    hint: Option<OomHint>,
) -> ExecuteResponse {
    let error = classify_failure(exit_code, stderr_for_classify, hint);
    build(parts, ExecutionStatus::Failed, Some(exit_code), Some(error))
}

/// `buildTimeoutBackstop(parts, detail?)`: `failed`, 124, `TIMEOUT`,
/// `Wall-clock timeout exceeded[ (<detail>)]`.
pub fn build_timeout_backstop(parts: ResponseParts, detail: Option<&str>) -> ExecuteResponse {
    let message = match detail {
        Some(d) => format!("Wall-clock timeout exceeded ({d})"),
        None => "Wall-clock timeout exceeded".to_string(),
    };
    build(
        parts,
        ExecutionStatus::Failed,
        Some(124),
        Some(Classified::new(ErrorCode::Timeout, message)),
    )
}

/// `buildHarvestMissing(parts, exitCode)`: `failed`, `HARVEST_READ_FAILED`,
/// `Couldn't read <WS>/output (no harvest result line)`.
pub fn build_harvest_missing(
    parts: ResponseParts,
    exit_code: Option<i32>,
    variant: ContractVariant,
) -> ExecuteResponse {
    let message = format!("Couldn't read {} (no harvest result line)", variant.output_dir());
    let error = Classified::new(ErrorCode::HarvestReadFailed, message);
    build(parts, ExecutionStatus::Failed, exit_code, Some(error))
}

/// `buildRunnerKilled(parts, exitCode, reason?)`: `OOMKilled` → 137/`OOM`;
/// otherwise the container exit code with `RUNTIME_ERROR`.
pub fn build_runner_killed(
    parts: ResponseParts,
    exit_code: i32,
    reason: Option<&str>,
) -> ExecuteResponse {
    if reason == Some("OOMKilled") {
        let error =
            Classified::new(ErrorCode::Oom, "Runner container OOM-killed (memory limit exceeded)");
        return build(parts, ExecutionStatus::Failed, Some(137), Some(error));
    }
    // `reason ? ` (${reason})` : ''`: an empty reason is falsy in the TypeScript.
    let message = match reason.filter(|r| !r.is_empty()) {
        Some(r) => format!("Runner container terminated abnormally ({r})"),
        None => "Runner container terminated abnormally".to_string(),
    };
    let error = Classified::new(ErrorCode::RuntimeError, message);
    build(parts, ExecutionStatus::Failed, Some(exit_code), Some(error))
}

/// `buildInfraFailure(parts, msg)`: `failed`, exit `null`, `SPAWNER_UNAVAILABLE`.
pub fn build_infra_failure(parts: ResponseParts, message: &str) -> ExecuteResponse {
    let error = Classified::new(ErrorCode::SpawnerUnavailable, message);
    build(parts, ExecutionStatus::Failed, None, Some(error))
}

/// `makeError(code, msg, durationMs)` (exec-common.ts): the short error
/// response without `uploadStats`/`timing`.
pub fn make_error(code: ErrorCode, message: &str, duration_ms: i64) -> ExecuteResponse {
    ExecuteResponse {
        status: ExecutionStatus::Failed,
        exit_code: None,
        error_code: Some(code),
        error_message: Some(message.to_string()),
        stdout_base64: String::new(),
        stderr_base64: String::new(),
        duration_ms,
        truncated: Truncated::default(),
        output_files: Vec::new(),
        steps: None,
        upload_stats: None,
        timing: None,
        prior_stage: None,
    }
}

/// `spawner internal error: <message>` (§1.2 step 15, the outer catch).
pub fn internal_error_message(message: &str) -> String {
    format!("spawner internal error: {message}")
}
