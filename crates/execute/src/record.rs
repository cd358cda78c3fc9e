//! Recording a run's runner-log responses (off by default): every response the execute flow
//! feeds to its stdout accumulator — follow streams and their reconnects, `sinceTime` polls,
//! the final read — with its query, its chunks as received, how it ended and when, written at
//! the end of the run as one JSON file in the shared vector format (version 2, see
//! `tests/vectors/README.md`), which `tale-sandbox replay`, every test surface and the replay
//! page replay byte for byte.
//!
//! Switched on by [`ExecuteOptions::record`](crate::ExecuteOptions::record) or, when that is
//! unset, by the environment variable [`RECORD_ENV`] (`TALE_SANDBOX_RECORD`): a file path, or
//! an existing directory (then `<dir>/<executionId>.record.json`).
//!
//! What is never recorded: the exec Secret (its body is sent by a create call, which is not a
//! log read), the sandbox token (it travels in headers and request bodies only), and the
//! bodies of other containers' logs (the harvest result, a stage tail): of those reads only
//! the query, size and outcome are kept. Error messages are the API layer's, which redacts
//! the token.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tale_sandbox_accumulator::Mode;
use tale_sandbox_contract::constants::RUNNER_CONTAINER;
use tale_sandbox_contract::wire::ExecuteResponse;
use tale_sandbox_flow::{
    Call, CallId, Execution, LogParams, Payload, Reply, StdoutRead, StreamEnd,
};
use tale_sandbox_vectors::{FollowEnd, LogQuery, Recorder};

/// The environment variable that switches recording on when
/// [`ExecuteOptions::record`](crate::ExecuteOptions::record) is unset: a file path, or an
/// existing directory.
pub const RECORD_ENV: &str = "TALE_SANDBOX_RECORD";

/// Where the recording of execution `execution_id` goes: `option`, else the value of
/// [`RECORD_ENV`] from `env` (an empty value is off); an existing directory gets
/// `<executionId>.record.json` inside.
pub fn record_path(
    option: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
    execution_id: &str,
) -> Option<PathBuf> {
    let path = match option {
        Some(path) => path.to_path_buf(),
        None => PathBuf::from(env(RECORD_ENV).filter(|v| !v.is_empty())?),
    };
    if path.is_dir() {
        // Execution ids are validated by the contract (no path separators); be safe anyway.
        let file: String = execution_id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .collect();
        Some(path.join(format!("{file}.record.json")))
    } else {
        Some(path)
    }
}

/// The driver's recorder: the hooks it calls as it performs the flow's actions and feeds it
/// events.
pub(crate) struct Tap {
    rec: Recorder,
    path: PathBuf,
    /// Log reads in flight: their query and when they were sent.
    log_calls: HashMap<CallId, (LogParams, i64)>,
}

fn query(params: &LogParams) -> LogQuery {
    LogQuery {
        container: params.container.as_str().to_string(),
        follow: false,
        timestamps: params.timestamps,
        since_time: params.since_time.clone(),
        limit_bytes: params.limit_bytes,
        tail_lines: params.tail_lines,
    }
}

impl Tap {
    pub(crate) fn new(path: PathBuf, cap_bytes: u64, pod: &str, now_ms: i64) -> Self {
        let cap = usize::try_from(cap_bytes).unwrap_or(usize::MAX).max(1);
        let mut rec = Recorder::new(cap, Mode::Timestamped, now_ms);
        rec.set_pod(pod);
        Tap { rec, path, log_calls: HashMap::new() }
    }

    /// An action is performed.
    pub(crate) fn call(&mut self, id: CallId, call: &Call, now_ms: i64) {
        if let Call::ReadLog { params, .. } = call {
            self.log_calls.insert(id, (params.clone(), now_ms));
        }
    }

    pub(crate) fn open_stdout(&mut self, id: u64, since_time: Option<&str>, now_ms: i64) {
        let query = LogQuery {
            container: RUNNER_CONTAINER.to_string(),
            follow: true,
            timestamps: true,
            since_time: since_time.map(str::to_string),
            limit_bytes: None,
            tail_lines: None,
        };
        self.rec.open_follow(id, query, now_ms);
    }

    pub(crate) fn close_stdout(&mut self, id: u64, now_ms: i64) {
        self.rec.end_follow(id, FollowEnd::Closed, now_ms);
    }

    pub(crate) fn chunk(&mut self, id: u64, chunk: &[u8], now_ms: i64) {
        self.rec.follow_chunk(id, chunk, now_ms);
    }

    pub(crate) fn end(&mut self, id: u64, end: &StreamEnd, now_ms: i64) {
        let end = match end {
            StreamEnd::Eof => FollowEnd::Eof,
            StreamEnd::Cut => FollowEnd::Cut("connection cut".into()),
            StreamEnd::Error(e) => FollowEnd::Error(e.message.clone()),
        };
        self.rec.end_follow(id, end, now_ms);
    }

    /// A reply, before the flow handles it.
    pub(crate) fn reply(&mut self, exec: &Execution, id: CallId, reply: &Reply, now_ms: i64) {
        let Some((params, sent)) = self.log_calls.remove(&id) else { return };
        let stdout_read = exec.stdout_read_of(id);
        let body = match reply {
            Ok(Payload::Log(bytes)) => Ok(bytes.as_slice()),
            Ok(Payload::Empty) => Ok(&[][..]),
            Ok(_) => Err("unexpected reply payload".to_string()),
            Err(e) => Err(e.message.clone()),
        };
        let kind = match (stdout_read, params.container.as_str()) {
            (Some(StdoutRead::Poll), _) => "poll",
            (Some(StdoutRead::Final), _) => "final",
            (None, "stage") => "stage-tail",
            (None, "harvest") => "harvest",
            // Compared with the accumulator's last lines, never fed to it.
            (None, "runner") if params.tail_lines.is_some() => "tail-check",
            (None, _) => "stale",
        };
        match (stdout_read, body) {
            (Some(_), Ok(body)) => self.rec.one_shot(kind, query(&params), body, sent, now_ms),
            (_, body) => {
                let result = body.map(|b| b.len() as u64);
                self.rec.other(kind, query(&params), result, sent, now_ms)
            }
        }
    }

    /// Writes the recording (on a blocking thread); returns where, or `None` after a warning.
    pub(crate) async fn write(
        self,
        exec: &Execution,
        response: &ExecuteResponse,
    ) -> Option<PathBuf> {
        let summary = serde_json::json!({
            "status": response.status,
            "truncatedStdout": response.truncated.stdout,
        });
        let name = exec.pod_name().to_string();
        let description = format!(
            "Runner-log responses of pod {name}, recorded by tale-sandbox-execute; expect is what the run's accumulator reported."
        );
        let vector = self.rec.finish(name, description, &exec.stdout_outcome(), Some(summary));
        let path = self.path;
        let written = tokio::task::spawn_blocking(move || {
            std::fs::write(&path, vector.to_json()).map(|()| path)
        })
        .await;
        match written {
            Ok(Ok(path)) => Some(path),
            Ok(Err(e)) => {
                tracing::warn!("[sandbox.k8s] cannot write the log recording: {e}");
                None
            }
            Err(e) => {
                tracing::warn!("[sandbox.k8s] cannot write the log recording: {e}");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_wins_over_the_environment_and_a_directory_gets_a_file_name() {
        let dir = std::env::temp_dir();
        let env = |name: &str| (name == RECORD_ENV).then(|| "/tmp/from-env.json".to_string());
        assert_eq!(
            record_path(Some(Path::new("/x/run.json")), env, "e1"),
            Some(PathBuf::from("/x/run.json"))
        );
        assert_eq!(record_path(None, env, "e1"), Some(PathBuf::from("/tmp/from-env.json")));
        assert_eq!(record_path(None, |_| None, "e1"), None);
        assert_eq!(record_path(None, |_| Some(String::new()), "e1"), None);
        assert_eq!(record_path(Some(&dir), |_| None, "e/1"), Some(dir.join("e_1.record.json")));
    }
}
