//! The in-pod line protocol (k8s-protocol.ts, spec §5.1–§5.3, §5.6): started
//! and result lines, phase markers, step-result synthesis.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::js_json;

use crate::constants::{HARVEST_STARTED_MARKER, PHASE_INSTALL, PHASE_RUN, RESULT_MARKER};
use crate::error::ProtocolError;
use crate::wire::{HarvestResult, Phase, StartedInfo, StepResult, StepStatus};

/// The payload of the LAST line starting with `marker` (text after the
/// marker), scanning `\n`-separated lines from the end. A marker in mid-line
/// does not count.
fn last_marker_payload<'a>(logs: &'a str, marker: &str) -> Option<&'a str> {
    logs.rsplit('\n').find_map(|line| line.strip_prefix(marker))
}

/// JavaScript's `String.prototype.trim` removes the BOM as well as Unicode
/// white space; Rust's `trim` does not remove the BOM.
fn js_trim(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
}

fn parse_marker_line<T: DeserializeOwned>(
    logs: &str,
    marker: &'static str,
) -> Result<Option<T>, ProtocolError> {
    let Some(payload) = last_marker_payload(logs, marker) else {
        return Ok(None);
    };
    let error = |reason: String| ProtocolError { marker, reason };
    let value = js_json::parse(js_trim(payload)).map_err(|e| error(e.to_string()))?;
    js_json::from_value(&value).map(Some).map_err(|e| error(e.to_string()))
}

/// `parseResultLine(logs)` (k8s-protocol.ts): the harvest result from the
/// last line starting with `__TALE_RESULT__`. The payload is read like
/// `JSON.parse` reads it ([`js_json::parse`]: a lone surrogate escape becomes
/// U+FFFD, `1e400` is infinite), then each field as [`HarvestResult`] says.
///
/// `Ok(None)`: no such line. `Err`: the last such line is malformed; the
/// TypeScript logs a warning and returns `null` without looking at earlier
/// lines, so callers treat `Err` like `Ok(None)` after logging it.
pub fn parse_result_line(logs: &str) -> Result<Option<HarvestResult>, ProtocolError> {
    parse_marker_line(logs, RESULT_MARKER)
}

/// `parseStartedLine(logs)` (k8s-protocol.ts): the started-line payload from
/// the last line starting with `__TALE_HARVEST_STARTED__`; same conventions
/// as [`parse_result_line`].
pub fn parse_started_line(logs: &str) -> Result<Option<StartedInfo>, ProtocolError> {
    parse_marker_line(logs, HARVEST_STARTED_MARKER)
}

fn format_marker_line<T: Serialize>(marker: &str, payload: &T) -> String {
    let json = serde_json::to_string(payload)
        .expect("protocol payloads hold only strings, numbers, bools and lists");
    format!("{marker} {json}")
}

/// `formatResultLine(result)` (k8s-protocol.ts): `__TALE_RESULT__ <json>`,
/// one line (JSON escapes every newline), without the trailing `\n`.
pub fn format_result_line(result: &HarvestResult) -> String {
    format_marker_line(RESULT_MARKER, result)
}

/// `formatStartedLine(info)` (k8s-protocol.ts): `__TALE_HARVEST_STARTED__ {"exitCode":…,"timedOut":…}`,
/// without the trailing `\n`.
pub fn format_started_line(info: &StartedInfo) -> String {
    format_marker_line(HARVEST_STARTED_MARKER, info)
}

/// The phase a stdout line announces: exactly `PHASE: installing` or
/// `PHASE: running` (no trimming, no `\r` tolerance), as in
/// `createStreamScanner`'s line handler.
pub fn phase_of_line(line: &str) -> Option<Phase> {
    match line {
        PHASE_INSTALL => Some(Phase::Installing),
        PHASE_RUN => Some(Phase::Running),
        _ => None,
    }
}

/// `synthesizeStepResults(steps)` (exec-common.ts): every requested step as
/// `{ path, status: 'skipped', exitCode: null, durationMs: 0 }`.
pub fn synthesize_step_results(steps: &[String]) -> Vec<StepResult> {
    steps
        .iter()
        .map(|path| StepResult {
            path: path.clone(),
            status: StepStatus::Skipped,
            exit_code: None,
            duration_ms: 0.0,
        })
        .collect()
}
