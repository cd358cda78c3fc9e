//! A scripted fake cluster for [`Execution`]: the test plays the API server, the watch and
//! the log streams by hand, with simulated time (timers fire in order, nothing sleeps).

use std::collections::VecDeque;

use base64::Engine as _;
use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Pod, PodStatus,
};
use tale_sandbox_contract::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use tale_sandbox_contract::protocol::{format_result_line, format_started_line};
use tale_sandbox_contract::wire::{
    ErrorCode, ExecuteRequest, ExecuteResponse, ExecutionStatus, HarvestResult, Phase, StartedInfo,
};
use tale_sandbox_flow::{
    Action, ApiError, Call, CallId, ExecuteOptions, Execution, LogParams, Payload, StreamEnd,
    StreamId,
};

/// The TypeScript tests' `NOW`.
pub const NOW: i64 = 1_700_000_000_000;
pub const EXEC_ID: &str = "k74m9zr5b8jcgvx2pqfwsdyhntq3l1a0";

/// The §7.1 fixture config.
pub fn cfg() -> SpawnerConfig {
    let mut cfg = SpawnerConfig::default();
    cfg.k8s.namespace = "tale-sandbox".into();
    cfg.k8s.spawner_image = "tale-sandbox:test".into();
    cfg.runtime_image = "tale-sandbox-runtime:test".into();
    cfg.sandbox_token = Some("test".into());
    cfg
}

/// The §7.1 fixture request.
pub fn request() -> ExecuteRequest {
    ExecuteRequest::from_json(&format!(
        r#"{{"executionId":"{EXEC_ID}","organizationId":"org_456","language":"python","files":[],
            "entryPath":"main.py","outputUploadSlots":[],"outputUrlEndpoint":"http://platform/ep1",
            "reportUploadedEndpoint":"http://platform/ep2"}}"#
    ))
    .unwrap()
}

/// A container state for [`pod`].
#[derive(Debug, Clone, Copy)]
pub enum C {
    Waiting(&'static str),
    Running,
    Exited(i32, Option<&'static str>),
}

fn status(name: &str, state: C) -> ContainerStatus {
    let state = match state {
        C::Waiting(reason) => ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        C::Running => {
            ContainerState { running: Some(ContainerStateRunning::default()), ..Default::default() }
        }
        C::Exited(code, reason) => ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: code,
                reason: reason.map(Into::into),
                ..Default::default()
            }),
            ..Default::default()
        },
    };
    ContainerStatus { name: name.into(), state: Some(state), ..Default::default() }
}

/// A Pod with the given phase and container states (`None`: no status yet).
pub fn pod(phase: &str, stage: Option<C>, runner: Option<C>, harvest: Option<C>) -> Pod {
    let init: Vec<_> = stage.map(|s| status("stage", s)).into_iter().collect();
    let mut main = Vec::new();
    if let Some(r) = runner {
        main.push(status("runner", r));
    }
    if let Some(h) = harvest {
        main.push(status("harvest", h));
    }
    Pod {
        metadata: ObjectMeta { name: Some("p".into()), ..Default::default() },
        spec: None,
        status: Some(PodStatus {
            phase: Some(phase.into()),
            init_container_statuses: Some(init),
            container_statuses: Some(main),
            ..Default::default()
        }),
    }
}

/// The pod once the runner runs.
pub fn running() -> Pod {
    pod("Running", Some(C::Exited(0, Some("Completed"))), Some(C::Running), Some(C::Running))
}

/// The pod once everything exited 0.
pub fn succeeded() -> Pod {
    pod(
        "Succeeded",
        Some(C::Exited(0, Some("Completed"))),
        Some(C::Exited(0, None)),
        Some(C::Exited(0, None)),
    )
}

/// A pod started `age_ms` before NOW in `phase`.
pub fn leftover(phase: &str, started_at_ms: i64) -> Pod {
    let mut p = pod(phase, None, Some(C::Running), Some(C::Running));
    p.metadata.annotations =
        Some([("tale.dev/started-at".to_string(), started_at_ms.to_string())].into());
    p
}

/// A clean result line (§7.1 test 14): exit `code`, stageMs 10, harvestMs 10, uploadMs 5.
pub fn result_line(code: i32) -> String {
    format_result_line(&HarvestResult {
        exit_code: code,
        stage_ms: 10.0,
        harvest_ms: 10.0,
        upload_ms: 5.0,
        ..Default::default()
    })
}

pub fn started_line(code: i32) -> String {
    format_started_line(&StartedInfo { exit_code: code, timed_out: false })
}

/// One kubelet `timestamps=true` line at second `sec` (of 2023-11-14T22:13) + `nanos`.
pub fn ts(sec: u32, nanos: u32, text: &str) -> String {
    format!("2023-11-14T22:13:{sec:02}.{nanos:09}Z {text}\n")
}

pub struct Harness {
    pub exec: Execution,
    pub now: i64,
    /// Every action emitted, in order.
    pub log: Vec<Action>,
    /// Calls not answered yet, in order.
    pub calls: VecDeque<(CallId, Call)>,
    /// Streams opened: id and `sinceTime`.
    pub opened: Vec<(StreamId, Option<String>)>,
    /// What the streams read from the head were given, in order (the log file, for tests
    /// without cuts).
    pub head_log: String,
    pub closed: Vec<StreamId>,
    pub watching: bool,
}

impl Harness {
    pub fn new(cfg: &SpawnerConfig, req: ExecuteRequest) -> Self {
        Self::with_options(cfg, req, ExecuteOptions::new(NOW))
    }

    pub fn with_options(cfg: &SpawnerConfig, req: ExecuteRequest, opts: ExecuteOptions) -> Self {
        let exec = Execution::new(cfg, cfg, req, opts, NOW);
        let mut h = Harness {
            exec,
            now: NOW,
            log: Vec::new(),
            calls: VecDeque::new(),
            opened: Vec::new(),
            head_log: String::new(),
            closed: Vec::new(),
            watching: false,
        };
        h.pump();
        h
    }

    pub fn start() -> Self {
        Self::new(&cfg(), request())
    }

    fn pump(&mut self) {
        while let Some(action) = self.exec.poll_action() {
            match &action {
                Action::Call { id, call, timeout_ms } => {
                    let expected =
                        if matches!(call, Call::ReadLog { .. }) { 30_000 } else { 10_000 };
                    assert_eq!(*timeout_ms, expected, "timeout of {call:?}");
                    self.calls.push_back((*id, call.clone()));
                }
                Action::OpenStdout { id, since_time, .. } => {
                    self.opened.push((*id, since_time.clone()))
                }
                Action::CloseStdout { id } => self.closed.push(*id),
                Action::WatchPod { .. } => self.watching = true,
                Action::StopWatch => self.watching = false,
                _ => {}
            }
            self.log.push(action);
        }
    }

    /// The oldest unanswered call.
    pub fn next_call(&mut self) -> (CallId, Call) {
        self.calls.pop_front().unwrap_or_else(|| panic!("no call pending; log: {:#?}", self.log))
    }

    /// Asserts there is no unanswered call.
    pub fn no_call(&self) {
        assert!(self.calls.is_empty(), "unexpected calls: {:#?}", self.calls);
    }

    pub fn reply(&mut self, id: CallId, reply: Result<Payload, ApiError>) {
        self.exec.handle_reply(id, reply, self.now);
        self.pump();
    }

    pub fn ok(&mut self, id: CallId) {
        self.reply(id, Ok(Payload::Empty));
    }

    pub fn ok_pod(&mut self, id: CallId, pod: Pod) {
        self.reply(id, Ok(Payload::Pod(Box::new(pod))));
    }

    pub fn ok_log(&mut self, id: CallId, text: &str) {
        self.reply(id, Ok(Payload::Log(text.as_bytes().to_vec())));
    }

    pub fn err(&mut self, id: CallId, status: Option<u16>, message: &str) {
        self.reply(id, Err(ApiError::new(status, message)));
    }

    /// Answers the next call, which must match `what`.
    pub fn expect(&mut self, what: &str) -> (CallId, Call) {
        let (id, call) = self.next_call();
        assert_eq!(describe(&call), what, "call {call:?}");
        (id, call)
    }

    /// Takes the pending tail check of the runner log (a `tailLines` read, not necessarily
    /// the oldest call) and returns its id and `tailLines`.
    pub fn take_tail_check(&mut self) -> (CallId, u64) {
        let at = self
            .calls
            .iter()
            .position(|(_, call)| {
                describe(call) == "ReadLog runner" && log_params(call).tail_lines.is_some()
            })
            .unwrap_or_else(|| panic!("no tail check pending: {:#?}", self.calls));
        let (id, call) = self.calls.remove(at).expect("found");
        let params = log_params(&call);
        assert!(params.timestamps && params.since_time.is_none() && params.limit_bytes.is_none());
        (id, params.tail_lines.expect("found") as u64)
    }

    /// Answers the pending tail check as a kubelet would if the runner's log file were `file`:
    /// with its last `tailLines` lines.
    pub fn tail_check(&mut self, file: &str) {
        let (id, n) = self.take_tail_check();
        let lines: Vec<&str> = file.split_inclusive('\n').collect();
        let tail = lines[lines.len().saturating_sub(n as usize)..].concat();
        self.ok_log(id, &tail);
    }

    /// Answers the harvest log read with a clean result line (exit code 0).
    pub fn harvest_result(&mut self) {
        let (id, _) = self.expect("ReadLog harvest");
        self.ok_log(id, &result_line(0));
    }

    /// Answers the pending one-shot read of the runner's log (a poll or a final read), which
    /// must resume from `since`, with `body`.
    pub fn read_from(&mut self, since: &str, body: &str) {
        let (id, call) = self.expect("ReadLog runner");
        assert_eq!(log_params(&call).since_time.as_deref(), Some(since));
        self.ok_log(id, body);
    }

    pub fn pod(&mut self, pod: Pod) {
        self.exec.handle_pod(&pod, self.now);
        self.pump();
    }

    pub fn pod_gone(&mut self) {
        self.exec.handle_pod_gone(self.now);
        self.pump();
    }

    pub fn watch_failed(&mut self) {
        self.exec.handle_watch_failed(self.now);
        self.pump();
    }

    pub fn chunk(&mut self, id: StreamId, text: &str) {
        if self.opened.iter().any(|(s, since)| *s == id && since.is_none()) {
            self.head_log.push_str(text);
        }
        self.exec.handle_stdout_chunk(id, text.as_bytes(), self.now);
        self.pump();
    }

    /// Answers the pending tail check as a kubelet would if the runner's log file held exactly
    /// what the streams read from the head were given: the usual end, proven.
    /// With no line taken there is nothing to compare the tail with: the check is a final read
    /// of the whole log, answered the same way.
    /// Output ending in an unfinished line may have no line group a check could compare: the
    /// flow tries the tail check if it has a group, and if that does not confirm (or there is
    /// none) reads on once from the last second (a reopened stream, or a final read once the
    /// loop is over), answered with the same log, and the end stands.
    pub fn confirm_end(&mut self) {
        let file = self.head_log.clone();
        let is_tail_check = |call: &Call| {
            describe(call) == "ReadLog runner" && log_params(call).tail_lines.is_some()
        };
        if !file.is_empty() && !file.ends_with('\n') {
            let streams = self.opened.len();
            if self.calls.iter().any(|(_, call)| is_tail_check(call)) {
                self.tail_check(&file);
                self.advance(0);
                let reads_on = self.opened.len() > streams
                    || self.calls.iter().any(|(_, call)| describe(call) == "ReadLog runner");
                if !reads_on {
                    return; // the check confirmed the end
                }
            }
            if let Some(at) =
                self.calls.iter().position(|(_, call)| describe(call) == "ReadLog runner")
            {
                let (id, call) = self.calls.remove(at).expect("found");
                assert!(log_params(&call).since_time.is_some(), "a read from the last second");
                self.ok_log(id, &file);
            } else {
                self.advance(0);
                assert_eq!(self.opened.len(), streams + 1, "a stream reopened: {:#?}", self.calls);
                let (reopened, since) = self.opened[streams].clone();
                assert!(since.is_some(), "reopened from the last second");
                self.chunk(reopened, &file);
                self.end(reopened, StreamEnd::Eof);
            }
            return;
        }
        if self.calls.iter().any(|(_, call)| is_tail_check(call)) {
            self.tail_check(&file);
            return;
        }
        let at = self
            .calls
            .iter()
            .position(|(_, call)| describe(call) == "ReadLog runner")
            .unwrap_or_else(|| panic!("no tail check or final read pending: {:#?}", self.calls));
        let (id, call) = self.calls.remove(at).expect("found");
        assert_eq!(log_params(&call).since_time, None, "a final read from the head");
        self.ok_log(id, &file);
    }

    pub fn end(&mut self, id: StreamId, end: StreamEnd) {
        self.exec.handle_stdout_end(id, end, self.now);
        self.pump();
    }

    pub fn abort(&mut self) {
        self.exec.handle_abort(self.now);
        self.pump();
    }

    /// Lets `ms` of simulated time pass, firing every timer due on the way.
    pub fn advance(&mut self, ms: i64) {
        let until = self.now + ms;
        while let Some(at) = self.exec.poll_timeout() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            self.exec.handle_timeout(self.now);
            self.pump();
        }
        self.now = until;
    }

    /// Secret created, Pod created; returns with the watch on.
    pub fn create_all(&mut self) {
        let (id, _) = self.expect("CreateSecret");
        self.ok(id);
        let (id, _) = self.expect("CreatePod");
        self.ok(id);
        assert!(self.watching);
    }

    /// Creates everything and starts the runner; returns the stdout stream.
    pub fn run_to_running(&mut self) -> StreamId {
        self.create_all();
        self.pod(running());
        self.last_stream()
    }

    pub fn last_stream(&self) -> StreamId {
        self.opened.last().expect("a stream was opened").0
    }

    pub fn response(&self) -> &ExecuteResponse {
        self.exec.response().unwrap_or_else(|| panic!("no response yet; log: {:#?}", self.log))
    }

    /// The cleanup: answers DeletePod (if expected) and DeleteSecret (if expected) with
    /// success and checks `Done`.
    pub fn finish_cleanup(&mut self, pod: bool, secret: bool) {
        if pod {
            let (id, call) = self.expect("DeletePod");
            assert!(matches!(call, Call::DeletePod { grace_period_seconds: 0, .. }));
            self.ok(id);
        }
        if secret {
            let (id, _) = self.expect("DeleteSecret");
            self.ok(id);
        }
        self.no_call();
        assert!(self.exec.is_done(), "not done; log: {:#?}", self.log);
        assert!(matches!(self.log.last(), Some(Action::Done)));
    }

    pub fn warnings(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|a| if let Action::Warn(w) = a { Some(w.clone()) } else { None })
            .collect()
    }

    pub fn deltas(&self) -> String {
        self.log
            .iter()
            .filter_map(|a| if let Action::StdoutDelta(d) = a { Some(d.as_str()) } else { None })
            .collect()
    }

    pub fn phases(&self) -> Vec<Phase> {
        self.log
            .iter()
            .filter_map(|a| if let Action::Phase(p) = a { Some(*p) } else { None })
            .collect()
    }

    /// Position of the first action matching `pred` in the log.
    pub fn position(&self, pred: impl Fn(&Action) -> bool) -> Option<usize> {
        self.log.iter().position(pred)
    }
}

/// A short name of a call, with the log container.
pub fn describe(call: &Call) -> String {
    match call {
        Call::ReadPvc { .. } => "ReadPvc".into(),
        Call::CreatePvc(_) => "CreatePvc".into(),
        Call::CreateSecret(_) => "CreateSecret".into(),
        Call::ReplaceSecret { .. } => "ReplaceSecret".into(),
        Call::DeleteSecret { .. } => "DeleteSecret".into(),
        Call::CreatePod(_) => "CreatePod".into(),
        Call::ReadPod { .. } => "ReadPod".into(),
        Call::DeletePod { .. } => "DeletePod".into(),
        Call::ReadLog { params, .. } => format!("ReadLog {}", params.container.as_str()),
    }
}

/// The log parameters of a `ReadLog`.
pub fn log_params(call: &Call) -> LogParams {
    match call {
        Call::ReadLog { params, .. } => params.clone(),
        other => panic!("not a log read: {other:?}"),
    }
}

/// What a test checks of a response.
#[derive(Debug, PartialEq)]
pub struct Summary {
    pub status: ExecutionStatus,
    pub exit_code: Option<i32>,
    pub error_code: Option<ErrorCode>,
    pub error_message: Option<String>,
    pub stdout: String,
    pub truncated_stdout: bool,
}

pub fn summary(r: &ExecuteResponse) -> Summary {
    let stdout = base64::engine::general_purpose::STANDARD.decode(&r.stdout_base64).unwrap();
    Summary {
        status: r.status,
        exit_code: r.exit_code,
        error_code: r.error_code,
        error_message: r.error_message.clone(),
        stdout: String::from_utf8(stdout).unwrap(),
        truncated_stdout: r.truncated.stdout,
    }
}

/// A `makeError('SPAWNER_UNAVAILABLE', message)` summary.
pub fn spawner_unavailable(message: &str) -> Summary {
    Summary {
        status: ExecutionStatus::Failed,
        exit_code: None,
        error_code: Some(ErrorCode::SpawnerUnavailable),
        error_message: Some(message.into()),
        stdout: String::new(),
        truncated_stdout: false,
    }
}

pub fn cancelled(stdout: &str, truncated: bool) -> Summary {
    Summary {
        status: ExecutionStatus::Cancelled,
        exit_code: None,
        error_code: Some(ErrorCode::Cancelled),
        error_message: Some("Execution cancelled by client".into()),
        stdout: stdout.into(),
        truncated_stdout: truncated,
    }
}

pub fn completed(stdout: &str, truncated: bool) -> Summary {
    Summary {
        status: ExecutionStatus::Completed,
        exit_code: Some(0),
        error_code: None,
        error_message: None,
        stdout: stdout.into(),
        truncated_stdout: truncated,
    }
}
