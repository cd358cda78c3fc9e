//! What the simulated kubelet makes each container of a pod do.
//!
//! Scenarios are JSON (camelCase) at the control endpoint `PUT /sim/v1/scenarios/{executionId}` and plain
//! Rust values in-process. A pod picks the scenario of its `tale.dev/execution-id` annotation, else the
//! cluster's default. Every field has a default, so `{}` is the happy path: stage succeeds, the runner
//! prints nothing and exits 0, the harvest prints its started line and a result line.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tale_sandbox_kubelet_logs::Stream;

/// The whole life of one pod.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Scenario {
    /// Time the pod stays `Pending` without container statuses before it is scheduled.
    pub schedule_delay_ms: u64,
    /// The pod never starts: it stays `Pending`, with condition `PodScheduled=False` (reason
    /// `Unschedulable`) carrying this message.
    pub unschedulable: Option<String>,
    /// The init container (`stage` and any other init container).
    pub stage: InitScenario,
    /// The `runner` container (and any main container not named `harvest`).
    pub runner: RunnerScenario,
    /// The `harvest` container: waits for the runner's exit code, prints the protocol lines.
    pub harvest: HarvestScenario,
    /// Evict the pod this long after it was scheduled: phase `Failed`, reason `Evicted`, running
    /// containers killed (exit 137).
    pub evict_after_ms: Option<u64>,
    /// Message of the eviction (defaults to a memory-pressure message like the kubelet's).
    pub eviction_message: Option<String>,
    /// How long this pod stays visible as terminating after a delete (overrides the cluster setting).
    pub termination_linger_ms: Option<u64>,
}

/// A container stuck before start, e.g. `ImagePullBackOff`, `ErrImagePull`, `InvalidImageName`,
/// `CreateContainerConfigError`, `CreateContainerError`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Waiting {
    /// `state.waiting.reason`, e.g. `ImagePullBackOff`.
    pub reason: String,
    /// `state.waiting.message` (none by default, as for most reasons the kubelet reports).
    #[serde(default)]
    pub message: Option<String>,
}

/// How a container ended when it did not exit normally.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerExit {
    /// `state.terminated.exitCode` (137 for a kill).
    pub exit_code: i32,
    /// `state.terminated.reason` (`OOMKilled`, `Error`, ...).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The init container (`stage`): it runs first and alone, and a non-zero exit fails the pod.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[derive(Default)]
pub struct InitScenario {
    /// Time in `waiting: PodInitializing`-like state before it runs.
    pub start_delay_ms: u64,
    /// Never starts, waiting with this reason.
    pub waiting: Option<Waiting>,
    /// What it prints while running.
    pub output: Vec<OutputStep>,
    /// Its exit code; non-zero fails the pod (restartPolicy Never).
    pub exit_code: i32,
    /// `terminated.reason` (defaults to `Completed` for 0, `Error` otherwise).
    pub reason: Option<String>,
}

/// The runner container (the wrapper running the user's code).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RunnerScenario {
    /// Time between the init container finishing and this container running.
    pub start_delay_ms: u64,
    /// Never starts, waiting with this reason.
    pub waiting: Option<Waiting>,
    /// What the user's code prints to stdout (the container log).
    pub output: Vec<OutputStep>,
    /// The user code's exit status, written by the wrapper to the exit-code file (the container itself
    /// exits 0) and reported by the harvest.
    pub user_exit_code: i32,
    /// The user code's stderr (the wrapper redirects it to a file; the harvest reports it).
    pub stderr: String,
    /// The container is killed once its output is written (e.g. `{exitCode: 137, reason: OOMKilled}`):
    /// the wrapper never writes the exit-code file.
    pub killed: Option<ContainerExit>,
    /// Keep running after the output, until the pod is deleted or evicted (a user timeout).
    pub hang: bool,
}

/// The harvest container: it waits for the runner's exit-code file, prints the started line, then
/// (after the upload delay) the result line, and exits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct HarvestScenario {
    /// Time between the init container finishing and this container running.
    pub start_delay_ms: u64,
    /// Never starts, waiting with this reason.
    pub waiting: Option<Waiting>,
    /// How long it waits for the runner's exit-code file; when the runner never writes it (killed, or
    /// still running), the harvest reports exit code 124 with `timedOut: true`.
    pub runner_timeout_ms: u64,
    /// The `__TALE_HARVEST_STARTED__` line, printed once the runner's exit code is known or timed out.
    pub started_line: LineSpec,
    /// Extra output after the started line, before the result line.
    pub output: Vec<OutputStep>,
    /// Pause between the started line and the result line (the upload).
    pub result_delay_ms: u64,
    /// The `__TALE_RESULT__` line, printed last (the service reads the result from it).
    pub result_line: LineSpec,
    /// The harvest's exit code (the real one always exits 0).
    pub exit_code: i32,
    /// Never exit after printing (wedged machinery).
    pub hang: bool,
}

impl Default for HarvestScenario {
    fn default() -> Self {
        HarvestScenario {
            start_delay_ms: 0,
            waiting: None,
            runner_timeout_ms: 300_000,
            started_line: LineSpec::Auto,
            output: Vec::new(),
            result_delay_ms: 0,
            result_line: LineSpec::Auto,
            exit_code: 0,
            hang: false,
        }
    }
}

/// What to print for a protocol line: `"auto"`, `"none"`, `{"json": {...}}` or `{"raw": "text"}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LineSpec {
    /// The line the real harvest prints for what happened (exit code, timeout).
    #[default]
    Auto,
    /// No line at all.
    None,
    /// The marker, a space and this JSON (compact), then a newline.
    Json(serde_json::Value),
    /// This text verbatim (no marker, no newline added): for malformed lines.
    Raw(String),
}

/// Which pipe an output step writes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OutputStream {
    /// The container's standard output (`stdout` CRI records).
    #[default]
    Stdout,
    /// The container's standard error (`stderr` CRI records; interleaved in the served log).
    Stderr,
}

impl From<OutputStream> for Stream {
    fn from(value: OutputStream) -> Self {
        match value {
            OutputStream::Stdout => Stream::Stdout,
            OutputStream::Stderr => Stream::Stderr,
        }
    }
}

/// One thing a container does with its output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OutputStep {
    /// Write these bytes in one pipe write.
    Write(WriteStep),
    /// Write `pattern` over and over, cut at `total_bytes`, in writes of `chunk_bytes`, at a rate.
    Repeat(RepeatStep),
    /// Do nothing for a while.
    Sleep {
        /// How long to write nothing, in milliseconds.
        ms: u64,
    },
    /// Block until `POST /sim/v1/namespaces/{ns}/pods/{pod}/release/{name}` (or the Rust equivalent).
    WaitRelease {
        /// The name the release call uses.
        name: String,
    },
}

/// One pipe write of text and/or base64-decoded bytes (text first).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct WriteStep {
    /// Text to write (UTF-8).
    pub text: Option<String>,
    /// Bytes to write, base64 (for invalid UTF-8).
    pub base64: Option<String>,
    /// Which pipe the bytes go to (stdout unless said otherwise).
    pub stream: OutputStream,
}

/// A repeated pattern: how volume scenarios (25 MiB, 100 MiB) are written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RepeatStep {
    /// The bytes repeated (UTF-8 text; include `\n` for lines, omit it for one endless line).
    pub pattern: String,
    /// Total bytes written (the last repetition is cut, possibly inside a character).
    pub total_bytes: u64,
    /// Bytes per pipe write.
    pub chunk_bytes: u64,
    /// Write rate; 0 = as fast as possible.
    pub bytes_per_second: u64,
    /// Which pipe the bytes go to (stdout unless said otherwise).
    pub stream: OutputStream,
}

impl Default for RepeatStep {
    fn default() -> Self {
        RepeatStep {
            pattern: "x".to_string(),
            total_bytes: 0,
            chunk_bytes: 65_536,
            bytes_per_second: 0,
            stream: OutputStream::Stdout,
        }
    }
}

impl WriteStep {
    /// The bytes this step writes, or why they cannot be decoded.
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        let mut out = self.text.clone().unwrap_or_default().into_bytes();
        if let Some(b64) = &self.base64 {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("write.base64 is not base64: {e}"))?;
            out.extend(decoded);
        }
        Ok(out)
    }
}

impl RepeatStep {
    /// Byte `offset..offset+len` of the repeated pattern, appended to `out`.
    pub(crate) fn fill(&self, offset: u64, len: usize, out: &mut Vec<u8>) {
        let pattern = self.pattern.as_bytes();
        if pattern.is_empty() {
            return;
        }
        let mut at = (offset % pattern.len() as u64) as usize;
        let mut left = len;
        while left > 0 {
            let take = (pattern.len() - at).min(left);
            out.extend_from_slice(&pattern[at..at + take]);
            left -= take;
            at = 0;
        }
    }
}

impl OutputStep {
    /// A single write of `text` to stdout.
    pub fn text(text: impl Into<String>) -> Self {
        OutputStep::Write(WriteStep { text: Some(text.into()), ..WriteStep::default() })
    }

    /// `pattern` repeated to `total_bytes`, as fast as possible, in 64 KiB writes.
    pub fn repeat(pattern: impl Into<String>, total_bytes: u64) -> Self {
        OutputStep::Repeat(RepeatStep {
            pattern: pattern.into(),
            total_bytes,
            ..RepeatStep::default()
        })
    }

    /// Checks what a step can only get wrong at run time.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            OutputStep::Write(w) => w.bytes().map(|_| ()),
            OutputStep::Repeat(r) if r.pattern.is_empty() && r.total_bytes > 0 => {
                Err("repeat.pattern must not be empty".into())
            }
            OutputStep::Repeat(r) if r.chunk_bytes == 0 => {
                Err("repeat.chunkBytes must be at least 1".into())
            }
            _ => Ok(()),
        }
    }

    /// The bytes this step writes to `stream`, in order.
    pub fn bytes_for(&self, stream: OutputStream) -> Vec<u8> {
        match self {
            OutputStep::Write(w) if w.stream == stream => w.bytes().unwrap_or_default(),
            OutputStep::Repeat(r) if r.stream == stream => {
                let mut out = Vec::new();
                r.fill(0, usize::try_from(r.total_bytes).unwrap_or(usize::MAX), &mut out);
                out
            }
            _ => Vec::new(),
        }
    }
}

impl Scenario {
    /// Checks every step (bad base64, empty patterns) so a bad scenario is refused when it is set.
    pub fn validate(&self) -> Result<(), String> {
        for step in self.stage.output.iter().chain(&self.runner.output).chain(&self.harvest.output)
        {
            step.validate()?;
        }
        Ok(())
    }

    /// A runner that writes `stdout` and exits with `user_exit_code`.
    pub fn runner_output(steps: Vec<OutputStep>, user_exit_code: i32) -> Self {
        Scenario {
            runner: RunnerScenario { output: steps, user_exit_code, ..RunnerScenario::default() },
            ..Scenario::default()
        }
    }

    /// Everything the runner writes to stdout: what the service must return.
    pub fn expected_runner_stdout(&self) -> Vec<u8> {
        self.runner.output.iter().flat_map(|s| s.bytes_for(OutputStream::Stdout)).collect()
    }
}

/// The harvest result object the real harvest prints for a run without uploads (field order as the
/// harvest writes them).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AutoResult<'a> {
    pub(crate) exit_code: i32,
    pub(crate) stderr: &'a str,
    pub(crate) stderr_truncated: bool,
    pub(crate) output_files: [(); 0],
    pub(crate) truncated_files: u32,
    pub(crate) upload_stats: AutoUploadStats,
    pub(crate) quota_exhausted: bool,
    pub(crate) upload_failed: bool,
    pub(crate) report_failed: bool,
    pub(crate) read_failed: bool,
    pub(crate) stage_ms: u64,
    pub(crate) harvest_ms: u64,
    pub(crate) upload_ms: u64,
}

#[derive(Serialize)]
pub(crate) struct AutoUploadStats {
    pub(crate) attempted: u32,
    pub(crate) succeeded: u32,
    pub(crate) failures: [(); 0],
}

/// The started line object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AutoStarted {
    pub(crate) exit_code: i32,
    pub(crate) timed_out: bool,
}

/// Marker of the harvest's started line.
pub const STARTED_MARKER: &str = "__TALE_HARVEST_STARTED__";
/// Marker of the harvest's result line.
pub const RESULT_MARKER: &str = "__TALE_RESULT__";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_object_is_the_happy_path_and_unknown_fields_are_refused() {
        let s: Scenario = serde_json::from_str("{}").unwrap();
        assert_eq!(s, Scenario::default());
        assert!(serde_json::from_str::<Scenario>(r#"{"runer": {}}"#).is_err());
    }

    #[test]
    fn steps_parse_from_json() {
        let s: Scenario = serde_json::from_str(
            r#"{"runner": {"output": [
                {"write": {"text": "hé\n"}},
                {"repeat": {"pattern": "ab€", "totalBytes": 7}},
                {"write": {"base64": "/w==", "stream": "stderr"}},
                {"sleep": {"ms": 5}}],
              "killed": {"exitCode": 137, "reason": "OOMKilled"}},
             "harvest": {"resultLine": {"raw": "__TALE_RESULT__ {broken\n"}, "startedLine": "none"}}"#,
        )
        .unwrap();
        assert_eq!(s.expected_runner_stdout(), b"h\xc3\xa9\nab\xe2\x82\xacab".to_vec());
        assert_eq!(s.runner.output[2].bytes_for(OutputStream::Stderr), vec![0xFF]);
        assert_eq!(s.harvest.started_line, LineSpec::None);
        assert!(s.validate().is_ok());
        let bad: Scenario =
            serde_json::from_str(r#"{"runner": {"output": [{"write": {"base64": "!!"}}]}}"#)
                .unwrap();
        assert!(bad.validate().is_err());
    }
}
