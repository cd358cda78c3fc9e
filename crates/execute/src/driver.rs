//! The tokio driver of the sans-I/O execute flow ([`tale_sandbox_flow::Execution`]).
//!
//! It has almost no logic of its own: it performs the flow's actions (API calls
//! as concurrent tasks, the runner's follow stream, the pod watch), feeds what
//! comes back — replies, chunks, stream ends, pod states, timer expiries, the
//! caller's abort — into the flow with the wall-clock time, drains
//! `poll_action` after every event and sleeps until `poll_timeout`. Every
//! decision (retries, deadlines, ownership, assembly) is the flow's.
//!
//! Cleanup is guaranteed: if the future returned by [`drive`] is dropped
//! before the flow is done, a drop guard aborts the flow and keeps driving it
//! on the runtime in the background until it has deleted what it owns.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tale_sandbox_contract::constants::RUNNER_CONTAINER;

use bytes::Bytes;
use futures_util::StreamExt as _;
use k8s_openapi::api::core::v1::Pod;
use tale_sandbox_contract::reap::parse_k8s_timestamp_ms;
use tale_sandbox_contract::response::{internal_error_message, make_error};
use tale_sandbox_contract::wire::{ErrorCode, ExecuteResponse, Phase};
use tale_sandbox_flow::{
    Action, Call, CallId, Execution, Payload, Reply, Report, StreamEnd, StreamId,
};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, FollowEnd, KubeApi, LogRequest, PodEvent};
use crate::record::Tap;

/// Consecutive watch errors (each followed by kube's backoff) after which the
/// watch is given up and the flow falls back to polling the pod.
const WATCH_ERRORS_BEFORE_GIVING_UP: u32 = 3;

/// Room for events between the I/O tasks and the driver loop; a full channel
/// makes a follow stream wait, which is the backpressure we want.
const EVENT_CHANNEL_CAPACITY: usize = 256;

/// Chunks of one follow stream read ahead of the flow: few, so that a stream
/// the flow stops (past `stdoutMaxBytes`) has not pulled megabytes it will drop.
const STREAM_READ_AHEAD: usize = 4;

/// Wall-clock epoch milliseconds, the flow's (and the spec's) time base.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `onPhase`: called with each phase the runner announces, in order.
pub type PhaseCallback = Box<dyn FnMut(Phase) + Send>;
/// `onStdoutDelta`: called with each piece of the live stdout tail, in order.
pub type StdoutDeltaCallback = Box<dyn FnMut(String) + Send>;

/// The caller's callbacks (spec §3.5 `onPhase` / `onStdoutDelta`). The
/// Kubernetes backend never reports stderr live.
#[derive(Default)]
pub struct Callbacks {
    /// `onPhase`.
    pub on_phase: Option<PhaseCallback>,
    /// `onStdoutDelta`.
    pub on_stdout_delta: Option<StdoutDeltaCallback>,
}

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks")
            .field("on_phase", &self.on_phase.is_some())
            .field("on_stdout_delta", &self.on_stdout_delta.is_some())
            .finish()
    }
}

/// What one execution did, beyond its response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionReport {
    /// The flow's counters: log bytes per container, reads, streams and
    /// reconnects, rotations and gaps, loop outcome, harvest and response times.
    pub flow: Report,
    /// Milliseconds from seeing the harvest terminate to emitting the response
    /// (`None` unless the main loop ended with `harvestDone`).
    pub harvest_to_response_ms: Option<i64>,
    /// Milliseconds from the response to the end of cleanup (pod and Secret deleted).
    pub cleanup_ms: Option<i64>,
    /// Whether the caller's cancellation token fired during the execution.
    pub cancelled_by_caller: bool,
    /// Where the log recording was written (`None`: not recording, or writing it failed,
    /// which is warned).
    pub recording: Option<std::path::PathBuf>,
}

/// The result of [`drive`].
#[derive(Debug, Clone)]
pub struct ExecuteOutcome {
    /// The execution's response.
    pub response: ExecuteResponse,
    /// What it did.
    pub report: ExecutionReport,
}

/// What the I/O tasks report back to the driver loop.
enum Event {
    Reply(CallId, Reply),
    /// A chunk, and the stream's read-ahead permit it holds until handled.
    Chunk(StreamId, Bytes, tokio::sync::OwnedSemaphorePermit),
    End(StreamId, StreamEnd),
    Pod(Box<Pod>),
    PodGone,
    WatchFailed,
}

/// Everything an execution's driving needs, movable as one piece so the drop
/// guard can hand it to a background task.
struct Core {
    exec: Execution,
    api: KubeApi,
    tx: mpsc::Sender<Event>,
    rx: mpsc::Receiver<Event>,
    streams: HashMap<StreamId, AbortHandle>,
    watch: Option<AbortHandle>,
    /// API calls in flight: a `JoinSet` aborts whatever is left when the driver is dropped, so
    /// no call (a late log read, a progress check) outlives `execute`.
    calls: JoinSet<()>,
    response: Option<ExecuteResponse>,
    aborted: bool,
    done_at_ms: Option<i64>,
    /// The log recorder, when recording.
    tap: Option<Tap>,
}

impl Drop for Core {
    fn drop(&mut self) {
        // Streams and the watch are the driver's own tasks; none may outlive it (the calls in
        // flight are aborted by dropping their `JoinSet`).
        for (_, handle) in self.streams.drain() {
            handle.abort();
        }
        if let Some(watch) = self.watch.take() {
            watch.abort();
        }
    }
}

impl Core {
    fn new(exec: Execution, api: KubeApi) -> Self {
        let (tx, rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        Core {
            exec,
            api,
            tx,
            rx,
            streams: HashMap::new(),
            watch: None,
            calls: JoinSet::new(),
            response: None,
            aborted: false,
            done_at_ms: None,
            tap: None,
        }
    }

    /// Performs every pending action of the flow.
    fn drain(&mut self, callbacks: &mut Callbacks) {
        while let Some(action) = self.exec.poll_action() {
            if let Some(tap) = self.tap.as_mut() {
                let now = now_ms();
                match &action {
                    Action::Call { id, call, .. } => tap.call(*id, call, now),
                    Action::OpenStdout { id, since_time, .. } => {
                        tap.open_stdout(id.get(), since_time.as_deref(), now)
                    }
                    Action::CloseStdout { id } => tap.close_stdout(id.get(), now),
                    _ => {}
                }
            }
            match action {
                Action::Call { id, call, timeout_ms } => self.spawn_call(id, call, timeout_ms),
                Action::OpenStdout { id, pod, since_time } => self.open_stdout(id, pod, since_time),
                Action::CloseStdout { id } => {
                    if let Some(handle) = self.streams.remove(&id) {
                        handle.abort();
                    }
                }
                Action::WatchPod { name } => self.start_watch(name),
                Action::StopWatch => {
                    if let Some(watch) = self.watch.take() {
                        watch.abort();
                    }
                }
                Action::Phase(phase) => {
                    if let Some(on_phase) = callbacks.on_phase.as_mut() {
                        on_phase(phase);
                    }
                }
                Action::StdoutDelta(text) => {
                    if let Some(on_delta) = callbacks.on_stdout_delta.as_mut() {
                        on_delta(text);
                    }
                }
                Action::Warn(message) => tracing::warn!("{message}"),
                Action::Respond(response) => self.response = Some(*response),
                Action::Done => self.done_at_ms = Some(now_ms()),
            }
        }
    }

    fn spawn_call(&mut self, id: CallId, call: Call, timeout_ms: u64) {
        // Forget the calls that finished, so the set holds only those in flight.
        while self.calls.try_join_next().is_some() {}
        let api = self.api.clone();
        let tx = self.tx.clone();
        self.calls.spawn(async move {
            let timeout = Duration::from_millis(timeout_ms);
            let reply = match tokio::time::timeout(timeout, perform(&api, call)).await {
                Ok(reply) => reply,
                Err(_) => Err(tale_sandbox_flow::ApiError::transport(format!(
                    "request timed out after {timeout_ms}ms"
                ))),
            };
            // The driver may be gone (its flow finished); nothing is waiting then.
            let _ = tx.send(Event::Reply(id, reply)).await;
        });
    }

    fn open_stdout(&mut self, id: StreamId, pod: String, since_time: Option<String>) {
        let since_ms = match since_time.as_deref() {
            None => None,
            Some(text) => match parse_k8s_timestamp_ms(text) {
                Some(ms) => Some(ms),
                None => {
                    // Cannot happen with the flow's own formatting; reading from
                    // the start only costs duplicate bytes the accumulator drops.
                    tracing::warn!(
                        "[sandbox.k8s] unparseable sinceTime {text:?}; reading the runner log from its start"
                    );
                    None
                }
            },
        };
        let api = self.api.clone();
        let tx = self.tx.clone();
        let read_ahead = Arc::new(tokio::sync::Semaphore::new(STREAM_READ_AHEAD));
        let task = tokio::spawn(async move {
            let mut follow = match api.follow_log(&pod, RUNNER_CONTAINER, since_ms).await {
                Ok(follow) => follow,
                Err(e) => {
                    let _ = tx.send(Event::End(id, StreamEnd::Error(e.into()))).await;
                    return;
                }
            };
            loop {
                let Ok(permit) = read_ahead.clone().acquire_owned().await else { return };
                match follow.next_chunk().await {
                    Ok(chunk) => {
                        if tx.send(Event::Chunk(id, chunk, permit)).await.is_err() {
                            return;
                        }
                    }
                    Err(FollowEnd::Eof) => {
                        let _ = tx.send(Event::End(id, StreamEnd::Eof)).await;
                        return;
                    }
                    Err(FollowEnd::Cut(e)) => {
                        tracing::debug!("runner log stream {} cut: {e}", id.get());
                        let _ = tx.send(Event::End(id, StreamEnd::Cut)).await;
                        return;
                    }
                }
            }
        });
        self.streams.insert(id, task.abort_handle());
    }

    fn start_watch(&mut self, name: String) {
        if let Some(old) = self.watch.take() {
            old.abort();
        }
        let api = self.api.clone();
        let tx = self.tx.clone();
        let task = tokio::spawn(async move {
            let stream = api.watch_pod(&name);
            futures_util::pin_mut!(stream);
            let mut errors = 0u32;
            while let Some(event) = stream.next().await {
                let event = match event {
                    // Only a live watch event proves the watch works again: a
                    // watch that fails right after each re-list still gives up.
                    PodEvent::Applied(pod) => {
                        errors = 0;
                        Event::Pod(pod)
                    }
                    PodEvent::Listed(pod) => Event::Pod(pod),
                    PodEvent::Deleted => Event::PodGone,
                    PodEvent::Error(e) => {
                        errors += 1;
                        tracing::debug!("pod watch of {name} failed ({errors}): {e}");
                        if errors < WATCH_ERRORS_BEFORE_GIVING_UP {
                            continue;
                        }
                        let _ = tx.send(Event::WatchFailed).await;
                        return;
                    }
                };
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        });
        self.watch = Some(task.abort_handle());
    }

    fn handle(&mut self, event: Event) {
        let now = now_ms();
        match event {
            Event::Reply(id, reply) => {
                if let Some(tap) = self.tap.as_mut() {
                    tap.reply(&self.exec, id, &reply, now);
                }
                self.exec.handle_reply(id, reply, now)
            }
            Event::Chunk(id, chunk, permit) => {
                if self.streams.contains_key(&id) {
                    if let Some(tap) = self.tap.as_mut() {
                        tap.chunk(id.get(), &chunk, now);
                    }
                    self.exec.handle_stdout_chunk(id, &chunk, now);
                }
                drop(permit);
            }
            Event::End(id, end) => {
                if self.streams.remove(&id).is_some() {
                    if let Some(tap) = self.tap.as_mut() {
                        tap.end(id.get(), &end, now);
                    }
                    self.exec.handle_stdout_end(id, end, now);
                }
            }
            Event::Pod(pod) => {
                if self.watch.is_some() {
                    self.exec.handle_pod(&pod, now);
                }
            }
            Event::PodGone => {
                if self.watch.is_some() {
                    self.exec.handle_pod_gone(now);
                }
            }
            Event::WatchFailed => {
                if self.watch.take().is_some() {
                    self.exec.handle_watch_failed(now);
                }
            }
        }
    }

    fn abort(&mut self) {
        if !self.aborted {
            self.aborted = true;
            self.exec.handle_abort(now_ms());
        }
    }

    /// Drives the flow until it is done.
    async fn run(&mut self, cancel: &CancellationToken, callbacks: &mut Callbacks) {
        loop {
            self.drain(callbacks);
            if self.exec.is_done() {
                return;
            }
            let sleep = self.exec.poll_timeout().map(|at| {
                let wait = u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0);
                tokio::time::sleep(Duration::from_millis(wait))
            });
            tokio::select! {
                biased;
                () = cancel.cancelled(), if !self.aborted => self.abort(),
                event = self.rx.recv() => {
                    // The core holds a sender itself, so the channel never closes.
                    if let Some(event) = event {
                        self.handle(event);
                    }
                }
                () = async { if let Some(sleep) = sleep { sleep.await } }, if sleep.is_some() => {
                    self.exec.handle_timeout(now_ms());
                }
            }
        }
    }
}

/// One API call of the flow, one attempt.
async fn perform(api: &KubeApi, call: Call) -> Reply {
    let result: Result<Payload, ApiError> = match call {
        Call::ReadPvc { name } => api.read_pvc(&name).await.map(|pvc| Payload::Pvc(Box::new(pvc))),
        Call::CreatePvc(pvc) => api.create_pvc(&pvc).await.map(|()| Payload::Empty),
        Call::CreateSecret(secret) => api.create_secret(&secret).await.map(|()| Payload::Empty),
        Call::ReplaceSecret { name, secret } => {
            api.replace_secret(&name, &secret).await.map(|()| Payload::Empty)
        }
        Call::DeleteSecret { name } => api.delete_secret(&name).await.map(|()| Payload::Empty),
        Call::CreatePod(pod) => api.create_pod(&pod).await.map(|pod| Payload::Pod(Box::new(pod))),
        Call::ReadPod { name } => api.read_pod(&name).await.map(|pod| Payload::Pod(Box::new(pod))),
        Call::DeletePod { name, grace_period_seconds } => {
            api.delete_pod_with_grace(&name, grace_period_seconds).await.map(|()| Payload::Empty)
        }
        Call::ReadLog { pod, params } => {
            let request = LogRequest {
                container: params.container.as_str().to_string(),
                tail_lines: params.tail_lines,
                limit_bytes: params.limit_bytes,
                since_time_ms: params.since_time.as_deref().and_then(parse_k8s_timestamp_ms),
                timestamps: params.timestamps,
            };
            api.read_log(&pod, &request).await.map(|bytes| Payload::Log(bytes.to_vec()))
        }
    };
    result.map_err(Into::into)
}

impl From<ApiError> for tale_sandbox_flow::ApiError {
    fn from(e: ApiError) -> Self {
        tale_sandbox_flow::ApiError::new(e.status, e.message)
    }
}

/// Owns the core while [`drive`] runs; if the future is dropped early, the
/// flow is aborted and driven to its end (cleanup) in a background task.
struct CleanupGuard {
    core: Option<Core>,
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        let Some(mut core) = self.core.take() else {
            return;
        };
        if core.exec.is_done() {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    core.abort();
                    core.run(&CancellationToken::new(), &mut Callbacks::default()).await;
                });
            }
            Err(_) => tracing::warn!(
                "[sandbox.k8s] execution dropped outside a tokio runtime: pod {} and secret {} are left for the orphan sweep",
                core.exec.pod_name(),
                core.exec.secret_name()
            ),
        }
    }
}

/// Runs `exec` (started by the dispatcher at `started_at_ms`) to completion against `api`: performs its actions, feeds it
/// events, calls the callbacks in order, aborts it when `cancel` fires.
/// Returns once the flow is done (response emitted and cleanup finished).
///
/// Dropping the returned future before it completes aborts the execution and
/// finishes its cleanup in a background task on the current runtime.
pub async fn drive(
    exec: Execution,
    api: KubeApi,
    started_at_ms: i64,
    cancel: CancellationToken,
    callbacks: Callbacks,
) -> ExecuteOutcome {
    drive_recorded(exec, api, started_at_ms, cancel, callbacks, None).await
}

/// [`drive`], recording the runner-log responses into the file `record` (see
/// [`crate::record`]) when it is set; the report's `recording` says where it was written.
pub async fn drive_recorded(
    exec: Execution,
    api: KubeApi,
    started_at_ms: i64,
    cancel: CancellationToken,
    mut callbacks: Callbacks,
    record: Option<(std::path::PathBuf, u64)>,
) -> ExecuteOutcome {
    let mut guard = CleanupGuard { core: Some(Core::new(exec, api)) };
    let core = guard.core.as_mut().expect("set above");
    if let Some((path, cap_bytes)) = record {
        core.tap = Some(Tap::new(path, cap_bytes, core.exec.pod_name(), now_ms()));
    }
    core.run(&cancel, &mut callbacks).await;
    let response = core.response.take().unwrap_or_else(|| {
        // The flow always responds before it is done; this only guards a broken flow.
        make_error(
            ErrorCode::SpawnerUnavailable,
            &internal_error_message("execution finished without a response"),
            now_ms().saturating_sub(started_at_ms),
        )
    });
    let flow = core.exec.report();
    let harvest_to_response_ms = match (flow.harvest_done_at_ms, flow.responded_at_ms) {
        (Some(harvest), Some(responded)) => Some(responded.saturating_sub(harvest)),
        _ => None,
    };
    let cleanup_ms = match (flow.responded_at_ms, core.done_at_ms) {
        (Some(responded), Some(done)) => Some(done.saturating_sub(responded)),
        _ => None,
    };
    let recording = match core.tap.take() {
        Some(tap) => tap.write(&core.exec, &response).await,
        None => None,
    };
    let report = ExecutionReport {
        flow,
        harvest_to_response_ms,
        cleanup_ms,
        cancelled_by_caller: core.aborted,
        recording,
    };
    ExecuteOutcome { response, report }
}
