//! The backend's `assemble` (k8s-backend.ts, spec §1.9) as a pure function.

use super::classify::classify_harvest_error;
use super::constructors::*;
use crate::config::SpawnerConfig;
use crate::protocol::synthesize_step_results;
use crate::text::{cap_text, strip_control_chars, strip_phase_markers};
use crate::wire::{ExecuteResponse, HarvestResult, StartedInfo, Timing};

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
    if h.stderr_truncated { h.stderr.trim_end_matches('\u{FFFD}') } else { &h.stderr }
}

/// `Math.max(0, value)`: `NaN` (an infinite harvest time minus another) stays `NaN`.
fn js_max_zero(value: f64) -> f64 {
    if value.is_nan() { value } else { value.max(0.0) }
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
        Some(h) if h.fatal => input.started.map(|s| HarvestResult { exit_code: s.exit_code, ..h }),
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

    let harvest_ms = h.map_or(0.0, |h| h.harvest_ms);
    let upload_ms = h.map_or(0.0, |h| h.upload_ms);
    let duration = duration_ms as f64;
    let execute_ms = match (options.execute_ms, h.and_then(|h| h.execute_ms)) {
        (ExecuteMsRule::Corrected, Some(measured)) => measured,
        (ExecuteMsRule::Corrected, None) => js_max_zero(duration - harvest_ms),
        (ExecuteMsRule::Compatible, _) => js_max_zero(duration - harvest_ms - upload_ms),
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
            stage_ms: h.map_or(0.0, |h| h.stage_ms),
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
