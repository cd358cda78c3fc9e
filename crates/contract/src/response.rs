//! Response assembly (exec-response.ts constructors, `classifyFailure`,
//! `classifyHarvestError`, and the backend's `assemble`; spec §1.3, §1.9, §3.3).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::config::{ContractVariant, SpawnerConfig};
use crate::protocol::synthesize_step_results;
use crate::text::{cap_text, strip_control_chars, strip_phase_markers};
use crate::wire::{
    ErrorCode, ExecuteResponse, ExecutionStatus, HarvestResult, OutputFile, PriorStage,
    StartedInfo, StepResult, Timing, Truncated, UploadStats,
};

/// `ResponseParts` (exec-response.ts): everything a backend computed before
/// choosing the outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// An error code with its message, as returned by `classifyFailure` and
/// `classifyHarvestError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The wire error code.
    pub code: ErrorCode,
    /// The wire error message.
    pub message: String,
}

impl Classified {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Classified {
            code,
            message: message.into(),
        }
    }
}

/// `OomHint` (exec-common.ts): out-of-band knowledge that the kernel OOM-killed the process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OomHint {
    /// `oomKilled`.
    pub oom_killed: bool,
}

/// The four harvest flags `classifyHarvestError` looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HarvestFlags {
    /// `quotaExhausted`.
    pub quota_exhausted: bool,
    /// `uploadFailed`.
    pub upload_failed: bool,
    /// `reportFailed`.
    pub report_failed: bool,
    /// `readFailed`.
    pub read_failed: bool,
}

impl From<&HarvestResult> for HarvestFlags {
    fn from(h: &HarvestResult) -> Self {
        HarvestFlags {
            quota_exhausted: h.quota_exhausted,
            upload_failed: h.upload_failed,
            report_failed: h.report_failed,
            read_failed: h.read_failed,
        }
    }
}

/// `classifyHarvestError(flags)` (exec-response.ts): priority quota, then
/// upload, report, read; `None` when no flag is set. The read message names
/// the variant's output directory.
pub fn classify_harvest_error(flags: HarvestFlags, variant: ContractVariant) -> Option<Classified> {
    if flags.quota_exhausted {
        Some(Classified::new(
            ErrorCode::UploadQuotaExceeded,
            "Per-run output-file quota exceeded; some files were not uploaded",
        ))
    } else if flags.upload_failed {
        Some(Classified::new(
            ErrorCode::UploadFailed,
            "One or more output uploads failed",
        ))
    } else if flags.report_failed {
        Some(Classified::new(
            ErrorCode::UploadReportFailed,
            "Upload succeeded but report-back to platform failed",
        ))
    } else if flags.read_failed {
        Some(Classified::new(
            ErrorCode::HarvestReadFailed,
            format!("Couldn't read {}", variant.output_dir()),
        ))
    } else {
        None
    }
}

/// Case-insensitive search for ASCII needles, as a JavaScript `/…/i` regex
/// without the `u` flag does for an all-ASCII pattern.
fn contains_any_ascii_ci(haystack_lower: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| haystack_lower.contains(n))
}

/// `EGRESS_DENIED_RE`, lower-cased alternatives.
const EGRESS_DENIED: [&str; 4] = [
    "403 filtered",
    "tunnel connection failed",
    "proxyerror",
    "connection refused",
];
/// `PACKAGE_NOT_FOUND_RE`, lower-cased alternatives.
const PACKAGE_NOT_FOUND: [&str; 6] = [
    "no matching distribution",
    "could not find a version",
    "unsatisfiable",
    "404 not found",
    "e404",
    "no matching distribution found",
];

/// `classifyFailure(exitCode, stderr, hint?)` (exec-common.ts), spec §3.3.
pub fn classify_failure(exit_code: i32, stderr: &str, hint: Option<OomHint>) -> Classified {
    let lower = stderr.to_ascii_lowercase();
    let egress = || Classified::new(ErrorCode::EgressDenied, "Egress proxy denied the request");
    match exit_code {
        124 => Classified::new(ErrorCode::Timeout, "Wall-clock timeout exceeded"),
        137 if hint.is_some_and(|h| h.oom_killed) || lower.contains("killed") => {
            Classified::new(ErrorCode::Oom, "Container killed (likely OOM)")
        }
        137 => Classified::new(ErrorCode::Timeout, "Container killed (SIGKILL)"),
        64 if contains_any_ascii_ci(&lower, &PACKAGE_NOT_FOUND) => Classified::new(
            ErrorCode::PackageNotFound,
            "Requested package could not be resolved",
        ),
        64 if contains_any_ascii_ci(&lower, &EGRESS_DENIED) => egress(),
        64 => Classified::new(ErrorCode::InstallFailed, "Package install failed"),
        65 => Classified::new(
            ErrorCode::SpawnerUnavailable,
            "Sandbox runtime rejected the invocation",
        ),
        _ if contains_any_ascii_ci(&lower, &EGRESS_DENIED) => egress(),
        n => Classified::new(
            ErrorCode::RuntimeError,
            format!("User code exited with status {n}"),
        ),
    }
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
    let status = if harvest_error.is_some() {
        ExecutionStatus::Failed
    } else {
        ExecutionStatus::Completed
    };
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
    let message = format!(
        "Couldn't read {} (no harvest result line)",
        variant.output_dir()
    );
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
        let error = Classified::new(
            ErrorCode::Oom,
            "Runner container OOM-killed (memory limit exceeded)",
        );
        return build(parts, ExecutionStatus::Failed, Some(137), Some(error));
    }
    let message = match reason {
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

/// How `timing.executeMs` is computed (W14).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExecuteMsRule {
    /// The TypeScript formula `max(0, durationMs - harvestMs - uploadMs)`,
    /// which subtracts the upload time twice (it is measured inside the
    /// harvest walk).
    Compatible,
    /// The harvest's measured `executeMs` when the result line has it,
    /// otherwise `max(0, durationMs - harvestMs)`.
    #[default]
    Corrected,
}

/// A runner container that terminated with a non-zero exit (§1.7 step 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerKilled {
    /// `runnerTerm.exitCode ?? 137`.
    pub exit_code: i32,
    /// `runnerTerm.reason` (e.g. `OOMKilled`).
    pub reason: Option<String>,
}

/// The inputs of `assemble` (§1.9).
#[derive(Debug, Clone, Default)]
pub struct AssembleInput {
    /// The loop ended `aborted` OR the caller's signal is aborted now.
    pub aborted: bool,
    /// Canonical stdout text as accumulated (phase markers not yet stripped).
    pub stdout: String,
    /// The accumulator reported loss or truncation of stdout.
    pub stdout_stream_truncated: bool,
    /// Wall-clock start of the execution.
    pub started_at_ms: i64,
    /// Wall-clock "now" at assembly (no clock is read here).
    pub now_ms: i64,
    /// The parsed result line, if any.
    pub harvest: Option<HarvestResult>,
    /// The parsed started line, if any.
    pub started: Option<StartedInfo>,
    /// The runner container died (runner-dead path).
    pub runner_killed: Option<RunnerKilled>,
    /// The main loop ended by its deadline.
    pub backstop: bool,
    /// `req.steps`, for synthesized step results.
    pub request_steps: Option<Vec<String>>,
}

/// Settings of [`assemble`] beyond the config.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssembleOptions {
    /// W14 rule for `timing.executeMs`.
    pub execute_ms: ExecuteMsRule,
}

/// A U+FFFD at the end of a stderr head the harvest cut at a raw byte count
/// is the cut's artefact, not user output (W18): drop it when the harvest
/// says it truncated.
fn harvested_stderr(h: &HarvestResult) -> &str {
    if h.stderr_truncated {
        h.stderr.trim_end_matches('\u{FFFD}')
    } else {
        &h.stderr
    }
}

/// The backend's `assemble` (k8s-backend.ts, spec §1.9): strip and cap the
/// texts, build the parts, and choose the constructor in the normative order
/// (cancel → runner killed → no result → exit 0 → runtime failure).
pub fn assemble(
    cfg: &SpawnerConfig,
    input: AssembleInput,
    options: AssembleOptions,
) -> ExecuteResponse {
    let duration_ms = input.now_ms - input.started_at_ms;
    // A fatal placeholder carries a fake exit code: take the started line's
    // real one, or treat the result as missing.
    let harvest = match input.harvest {
        Some(h) if h.fatal => input.started.map(|s| HarvestResult {
            exit_code: s.exit_code,
            ..h
        }),
        other => other,
    };
    let h = harvest.as_ref();

    let stdout_clean = strip_control_chars(&strip_phase_markers(&input.stdout));
    let (stdout_capped, stdout_cap_cut) = cap_text(&stdout_clean, cfg.stdout_max_bytes);
    let stderr_clean = strip_control_chars(h.map(harvested_stderr).unwrap_or(""));
    let (stderr_capped, stderr_cap_cut) = cap_text(&stderr_clean, cfg.stderr_max_bytes);
    let steps = h
        .and_then(|h| h.steps.clone())
        .or_else(|| input.request_steps.as_deref().map(synthesize_step_results));

    let harvest_ms = h.map_or(0, |h| h.harvest_ms);
    let upload_ms = h.map_or(0, |h| h.upload_ms);
    let execute_ms = match (options.execute_ms, h.and_then(|h| h.execute_ms)) {
        (ExecuteMsRule::Corrected, Some(measured)) => measured,
        (ExecuteMsRule::Corrected, None) => (duration_ms - harvest_ms).max(0),
        (ExecuteMsRule::Compatible, _) => (duration_ms - harvest_ms - upload_ms).max(0),
    };
    let parts = ResponseParts {
        stdout_capped: stdout_capped.into_owned(),
        stderr_capped: stderr_capped.into_owned(),
        stdout_truncated: input.stdout_stream_truncated || stdout_cap_cut,
        stderr_truncated: h.is_some_and(|h| h.stderr_truncated) || stderr_cap_cut,
        duration_ms,
        truncated_files: h.map_or(0, |h| h.truncated_files),
        output_files: h.map(|h| h.output_files.clone()).unwrap_or_default(),
        steps,
        upload_stats: h.map(|h| h.upload_stats.clone()).unwrap_or_default(),
        timing: Timing {
            stage_ms: h.map_or(0, |h| h.stage_ms),
            execute_ms,
            harvest_ms,
            upload_ms,
        },
        prior_stage: h.and_then(|h| h.prior_stage.clone()),
    };

    if input.aborted {
        return build_cancelled(parts);
    }
    if let Some(killed) = input.runner_killed {
        return build_runner_killed(parts, killed.exit_code, killed.reason.as_deref());
    }
    let Some(h) = harvest else {
        if input.backstop {
            return build_timeout_backstop(parts, Some("harvest container never reported"));
        }
        let recovered = input.started.map(|s| s.exit_code);
        return match recovered {
            Some(code) if code != 0 => {
                let stderr = parts.stderr_capped.clone();
                build_runtime_failure(parts, code, &stderr, None)
            }
            _ => build_harvest_missing(parts, recovered, cfg.variant),
        };
    };
    if h.exit_code == 0 {
        return build_completed(parts, classify_harvest_error((&h).into(), cfg.variant));
    }
    let stderr = parts.stderr_capped.clone();
    build_runtime_failure(parts, h.exit_code, &stderr, None)
}

/// The stdout truncation flag an accumulator should report (W10): `true` only
/// when more than `cap` bytes were seen or bytes were lost, so output of
/// exactly `cap` bytes is not "truncated" (the TypeScript uses `>=`).
pub fn stdout_stream_truncated(bytes_seen: u64, cap: u64, bytes_lost: bool) -> bool {
    bytes_seen > cap || bytes_lost
}
