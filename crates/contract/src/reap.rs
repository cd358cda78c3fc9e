//! Decisions about Pods and Secrets read back from the API: the orphan sweep
//! (`shouldReapPod`, `shouldReapSecret`, `staleLifetimeCutoffMs`; spec §1.11),
//! the duplicate-dispatch check (§1.4), startup classification (§1.5) and the
//! main-loop pod checks (§1.7). All take `now_ms` from the caller.

use std::sync::LazyLock;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;
use regex::Regex;

use crate::config::{SpawnerConfig, js_number};
use crate::constants::{
    ANNOTATION_EXECUTION_ID, ANNOTATION_STARTED_AT, HARVEST_BACKSTOP_MS, HARVEST_CONTAINER,
    IMAGE_ERR_PATTERN, RUNNER_CONTAINER, STAGE_CONTAINER, STARTUP_BUDGET_MS, SWEEP_SLACK_MS,
    TERMINAL_REAP_GRACE_MS,
};
use crate::response::RunnerKilled;

/// `staleLifetimeCutoffMs(cfg, now)`: `now` minus the worst-case lifetime
/// `STARTUP_BUDGET_MS + maxTimeoutMs + HARVEST_BACKSTOP_MS + SWEEP_SLACK_MS`.
/// Objects started before it have outlived any possible execution.
pub fn stale_lifetime_cutoff_ms(cfg: &SpawnerConfig, now_ms: i64) -> i64 {
    let max_timeout = i64::try_from(cfg.max_timeout_ms).unwrap_or(i64::MAX);
    let lifetime = STARTUP_BUDGET_MS
        .saturating_add(max_timeout)
        .saturating_add(HARVEST_BACKSTOP_MS)
        .saturating_add(SWEEP_SLACK_MS);
    now_ms.saturating_sub(lifetime)
}

/// Parse a Kubernetes RFC 3339 timestamp (e.g. a raw `finishedAt`) to epoch
/// milliseconds; `None` when it is not a valid timestamp. Uses jiff, the time
/// crate k8s-openapi itself deserializes `Time` with.
pub fn parse_k8s_timestamp_ms(text: &str) -> Option<i64> {
    text.parse::<Timestamp>().ok().map(|t| t.as_millisecond())
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// `Number(annotations['tale.dev/started-at'] ?? '0')` as JavaScript
/// evaluates it (an empty or blank value is 0; garbage is NaN → `None`).
fn started_at(meta: &ObjectMeta) -> Option<f64> {
    let raw = annotation(meta, ANNOTATION_STARTED_AT).unwrap_or("0").trim();
    if raw.is_empty() { Some(0.0) } else { js_number(raw) }
}

/// The stale rule shared by pods and secrets: a finite, positive start before `cutoff`.
fn started_before(meta: &ObjectMeta, cutoff: i64) -> bool {
    started_at(meta).is_some_and(|s| s > 0.0 && s < cutoff as f64)
}

/// `SweepOptions` (backend/types.ts).
pub struct SweepOptions<'a> {
    /// Epoch ms: objects started before this are stale (the caller passes
    /// `now - 2 * maxTimeoutMs`).
    pub stale_before_ms: i64,
    /// Whether an execution id is still in flight on this replica.
    pub is_live: &'a dyn Fn(&str) -> bool,
}

fn is_live(meta: &ObjectMeta, opts: &SweepOptions<'_>) -> bool {
    (opts.is_live)(annotation(meta, ANNOTATION_EXECUTION_ID).unwrap_or(""))
}

fn all_statuses(pod: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    let status = pod.status.as_ref();
    let init = status.and_then(|s| s.init_container_statuses.as_deref()).unwrap_or_default();
    let main = status.and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    init.iter().chain(main.iter())
}

fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

fn is_terminal_phase(pod: &Pod) -> bool {
    matches!(phase(pod), Some("Succeeded") | Some("Failed"))
}

/// Latest `state.terminated.finishedAt` over all init and app containers, in epoch ms.
pub fn latest_finished_at_ms(pod: &Pod) -> Option<i64> {
    all_statuses(pod)
        .filter_map(|s| s.state.as_ref()?.terminated.as_ref()?.finished_at.as_ref())
        .map(|t| t.0.as_millisecond())
        .max()
}

/// `shouldReapPod(pod, opts, cfg, nowMs)` (k8s-backend.ts): never a live
/// execution's pod; a terminal pod once it finished more than
/// `TERMINAL_REAP_GRACE_MS` ago; otherwise (or without `finishedAt`) the
/// stale rule with `min(staleBeforeMs, staleLifetimeCutoffMs)`.
pub fn should_reap_pod(
    pod: &Pod,
    opts: &SweepOptions<'_>,
    cfg: &SpawnerConfig,
    now_ms: i64,
) -> bool {
    if is_live(&pod.metadata, opts) {
        return false;
    }
    let terminal_finish = latest_finished_at_ms(pod).filter(|l| *l > 0 && is_terminal_phase(pod));
    if let Some(latest) = terminal_finish {
        return now_ms - latest > TERMINAL_REAP_GRACE_MS;
    }
    let cutoff = opts.stale_before_ms.min(stale_lifetime_cutoff_ms(cfg, now_ms));
    started_before(&pod.metadata, cutoff)
}

/// `shouldReapSecret(secret, opts, cfg, nowMs)` (k8s-backend.ts): the live
/// check, then only the stale rule (a Secret without `tale.dev/started-at`
/// is never reaped).
pub fn should_reap_secret(
    secret: &Secret,
    opts: &SweepOptions<'_>,
    cfg: &SpawnerConfig,
    now_ms: i64,
) -> bool {
    if is_live(&secret.metadata, opts) {
        return false;
    }
    let cutoff = opts.stale_before_ms.min(stale_lifetime_cutoff_ms(cfg, now_ms));
    started_before(&secret.metadata, cutoff)
}

/// `createSecretChecked` step 4 (§1.4): whether an existing pod with our name
/// is a live duplicate (not terminal and not abandoned). A `false` means the
/// caller deletes it and replaces the Secret.
pub fn is_live_duplicate(pod: &Pod, cfg: &SpawnerConfig, now_ms: i64) -> bool {
    let abandoned = started_before(&pod.metadata, stale_lifetime_cutoff_ms(cfg, now_ms));
    !is_terminal_phase(pod) && !abandoned
}

/// `DuplicateExecutionError`'s message (em dash U+2014).
pub fn duplicate_execution_message(pod_name: &str) -> String {
    format!("executionId already has a live pod ({pod_name}) \u{2014} duplicate dispatch")
}

/// The message of a Pod create 409 (§1.2 step 8).
pub fn pod_conflict_message(execution_id: &str) -> String {
    format!("executionId {execution_id} already has a live pod on another replica")
}

static IMAGE_ERR_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(IMAGE_ERR_PATTERN).expect("valid regex"));

/// `IMAGE_ERR_RE.test(reason)` exactly as the TypeScript (unanchored).
pub fn matches_image_err_re(reason: &str) -> bool {
    IMAGE_ERR_RE.is_match(reason)
}

/// Whether a container `waiting.reason` means it will never start:
/// `IMAGE_ERR_RE`, plus `CreateContainerConfigError` (W15: e.g. a missing
/// Secret; the TypeScript waits the whole 180 s budget for it).
pub fn is_start_failure_reason(reason: &str) -> bool {
    matches_image_err_re(reason) || reason.contains("CreateContainerConfigError")
}

/// One poll's verdict while waiting for the runner (`waitForRunnerStart`, §1.5 steps 3–5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupState {
    /// The runner container is running or terminated.
    Started,
    /// The `stage` initContainer failed: `pre-stage failed (exit N)[: reason]`.
    /// The caller appends the stage-log tail (`spawner staging failed: …`).
    PreStageFailed(String),
    /// The Pod can never start the runner; the message is the error text.
    Failed(String),
    /// Keep waiting.
    Pending,
}

fn status_named<'a>(
    statuses: Option<&'a Vec<ContainerStatus>>,
    name: &str,
) -> Option<&'a ContainerStatus> {
    statuses?.iter().find(|s| s.name == name)
}

fn waiting_start_failure(status: &ContainerStatus) -> Option<&str> {
    let reason = status.state.as_ref()?.waiting.as_ref()?.reason.as_deref()?;
    is_start_failure_reason(reason).then_some(reason)
}

/// Classify a Pod read during startup, in the TypeScript's order: stage
/// failure, stage cannot start, runner started, runner cannot start, pod Failed.
pub fn classify_startup(pod: &Pod) -> StartupState {
    let status = pod.status.as_ref();
    if let Some(stage) =
        status_named(status.and_then(|s| s.init_container_statuses.as_ref()), STAGE_CONTAINER)
    {
        let failed =
            stage.state.as_ref().and_then(|s| s.terminated.as_ref()).filter(|t| t.exit_code != 0);
        if let Some(term) = failed {
            // `reason ? ": " + reason : ""`: an empty reason is falsy in the TypeScript.
            let reason = term
                .reason
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            return StartupState::PreStageFailed(format!(
                "pre-stage failed (exit {}){reason}",
                term.exit_code
            ));
        }
        if let Some(reason) = waiting_start_failure(stage) {
            return StartupState::Failed(format!("stage cannot start: {reason}"));
        }
    }
    if let Some(runner) =
        status_named(status.and_then(|s| s.container_statuses.as_ref()), RUNNER_CONTAINER)
    {
        let state = runner.state.as_ref();
        if state.is_some_and(|s| s.running.is_some() || s.terminated.is_some()) {
            return StartupState::Started;
        }
        if let Some(reason) = waiting_start_failure(runner) {
            return StartupState::Failed(format!("runner cannot start: {reason}"));
        }
    }
    if phase(pod) == Some("Failed") {
        let reason = status.and_then(|s| s.reason.as_deref()).unwrap_or("unknown");
        let message = status.and_then(|s| s.message.as_deref()).unwrap_or("");
        let text = format!("pod failed before runner start: {reason} {message}");
        return StartupState::Failed(text.trim().to_string());
    }
    StartupState::Pending
}

/// `failed` message when the Pod read during startup returns 404 (§1.5 step 2).
pub const POD_DELETED_DURING_STARTUP: &str = "pod deleted during startup";

/// The message after the startup budget ran out.
pub fn startup_timeout_message() -> String {
    format!("pod did not start the runner within {STARTUP_BUDGET_MS}ms")
}

/// `spawner staging failed: <message>[: <tail>]` (§1.2 step 9).
pub fn staging_failed_message(message: &str, stage_log_tail: Option<&str>) -> String {
    match stage_log_tail.map(str::trim).filter(|t| !t.is_empty()) {
        Some(tail) => format!("spawner staging failed: {message}: {tail}"),
        None => format!("spawner staging failed: {message}"),
    }
}

/// Main loop step 4 (§1.7): the harvest container terminated or the pod is terminal.
pub fn harvest_done(pod: &Pod) -> bool {
    let harvest_terminated = status_named(
        pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()),
        HARVEST_CONTAINER,
    )
    .is_some_and(|s| s.state.as_ref().is_some_and(|st| st.terminated.is_some()));
    harvest_terminated || is_terminal_phase(pod)
}

/// Main loop step 5 (§1.7): the runner container terminated with a non-zero
/// exit code (a surviving wrapper always exits 0).
pub fn runner_abnormal_exit(pod: &Pod) -> Option<RunnerKilled> {
    let runner = status_named(
        pod.status.as_ref().and_then(|s| s.container_statuses.as_ref()),
        RUNNER_CONTAINER,
    )?;
    let term = runner.state.as_ref()?.terminated.as_ref()?;
    (term.exit_code != 0)
        .then(|| RunnerKilled { exit_code: term.exit_code, reason: term.reason.clone() })
}
