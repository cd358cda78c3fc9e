//! The vocabulary between the flow and its driver: call and stream ids, the calls the flow
//! asks for, the replies the driver feeds back, and the actions drained with
//! [`Execution::poll_action`](crate::Execution::poll_action).

use std::fmt;
use tale_sandbox_contract::constants::{HARVEST_CONTAINER, RUNNER_CONTAINER, STAGE_CONTAINER};

use tale_sandbox_contract::k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use tale_sandbox_contract::response::AssembleOptions;
use tale_sandbox_contract::wire::{ExecuteResponse, Phase};

/// Identifies one API call the flow asked for; its reply goes to
/// [`Execution::handle_reply`](crate::Execution::handle_reply) with the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(crate) u64);

impl CallId {
    /// The raw number (unique within one execution), e.g. for logs.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Identifies one follow stream of the runner's log opened by
/// [`Action::OpenStdout`]; every chunk and the end of that stream carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub(crate) u64);

impl StreamId {
    /// The raw number (unique within one execution), e.g. for logs.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A failed API call (spec §8.4): the HTTP status of a non-2xx response, or `None` for a
/// transport error, a timeout or an undecodable body. The flow's 404/409 decisions and the
/// retry policy key on `status` alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status of a non-2xx response; `None`: no response (network, timeout, decode).
    pub status: Option<u16>,
    /// Human-readable error text, used in warnings and internal-error messages.
    pub message: String,
}

impl ApiError {
    /// An error with the given status and message.
    pub fn new(status: Option<u16>, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    /// A non-2xx response with `status`.
    pub fn status(status: u16, message: impl Into<String>) -> Self {
        Self::new(Some(status), message)
    }

    /// An error without a status (timeout, network failure, decode error).
    pub fn transport(message: impl Into<String>) -> Self {
        Self::new(None, message)
    }

    /// Whether the status is 404.
    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }

    /// Whether the status is 409.
    pub fn is_conflict(&self) -> bool {
        self.status == Some(409)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}

/// The body of a successful reply. Any payload is accepted for any call; the flow only
/// reads what it needs (a `ReadPod` must answer [`Payload::Pod`], a `ReadLog`
/// [`Payload::Log`]; a mismatch is treated as a transport error).
#[derive(Debug, Clone)]
pub enum Payload {
    /// No body of interest (creates, replaces, deletes).
    Empty,
    /// A Pod read back.
    Pod(Box<Pod>),
    /// A Secret read back.
    Secret(Box<Secret>),
    /// A PVC read back.
    Pvc(Box<PersistentVolumeClaim>),
    /// The raw bytes of a (non-follow) log response.
    Log(Vec<u8>),
}

/// The outcome of one call: a payload, or the error with the status/no-status split.
pub type Reply = Result<Payload, ApiError>;

/// A container of the sandbox Pod whose log can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Container {
    /// The `stage` initContainer.
    Stage,
    /// The `runner` container (user stdout).
    Runner,
    /// The `harvest` container (started and result lines).
    Harvest,
}

impl Container {
    /// The container name as the API expects it.
    pub fn as_str(self) -> &'static str {
        match self {
            Container::Stage => STAGE_CONTAINER,
            Container::Runner => RUNNER_CONTAINER,
            Container::Harvest => HARVEST_CONTAINER,
        }
    }
}

/// A one-shot runner-log read whose reply feeds the stdout accumulator
/// ([`Execution::stdout_read_of`](crate::Execution::stdout_read_of)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StdoutRead {
    /// A `sinceTime` poll, after streaming kept failing.
    Poll,
    /// The final resume read at the end of the run.
    Final,
}

/// Query parameters of a one-shot log read (`follow` is never set on these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogParams {
    /// `container=`.
    pub container: Container,
    /// `tailLines=` (applied by the kubelet before `limitBytes`).
    pub tail_lines: Option<i64>,
    /// `limitBytes=`.
    pub limit_bytes: Option<i64>,
    /// `timestamps=true`.
    pub timestamps: bool,
    /// `sinceTime=` (RFC 3339, second precision), only with `timestamps`.
    pub since_time: Option<String>,
}

impl LogParams {
    /// A full, unlimited read of `container` (the harvest reads).
    pub fn full(container: Container) -> Self {
        Self { container, tail_lines: None, limit_bytes: None, timestamps: false, since_time: None }
    }
}

/// A Kubernetes API call in the execution's namespace that the driver must perform.
#[derive(Debug, Clone)]
pub enum Call {
    /// `GET persistentvolumeclaims/{name}` (cache mode `pvc`).
    ReadPvc {
        /// Claim name.
        name: String,
    },
    /// `POST persistentvolumeclaims`.
    CreatePvc(Box<PersistentVolumeClaim>),
    /// `POST secrets`.
    CreateSecret(Box<Secret>),
    /// `PUT secrets/{name}` without a resourceVersion (unconditional).
    ReplaceSecret {
        /// Secret name.
        name: String,
        /// The full body.
        secret: Box<Secret>,
    },
    /// `DELETE secrets/{name}`.
    DeleteSecret {
        /// Secret name.
        name: String,
    },
    /// `POST pods`.
    CreatePod(Box<Pod>),
    /// `GET pods/{name}`.
    ReadPod {
        /// Pod name.
        name: String,
    },
    /// `DELETE pods/{name}?gracePeriodSeconds=<grace_period_seconds>` (always 0 here).
    DeletePod {
        /// Pod name.
        name: String,
        /// `gracePeriodSeconds`.
        grace_period_seconds: i64,
    },
    /// `GET pods/{pod}/log` with the given parameters; the reply is [`Payload::Log`].
    ReadLog {
        /// Pod name.
        pod: String,
        /// Query parameters.
        params: LogParams,
    },
}

/// How a follow stream of the runner's log ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// The response body ended normally (the kubelet closes it once the container exited and
    /// its log is drained, but also on some server-side timeouts).
    Eof,
    /// The connection was cut (reset, body timeout) after the response started.
    Cut,
    /// The stream could not be opened or failed with an API error (400 before the
    /// container started, 404 once the pod is gone, …).
    Error(ApiError),
}

/// What the driver must do next; drain with
/// [`Execution::poll_action`](crate::Execution::poll_action) after every event.
#[derive(Debug, Clone)]
pub enum Action {
    /// Perform `call` with a per-attempt timeout of `timeout_ms` (a timeout is replied as an
    /// [`ApiError`] without status), then feed the result to `handle_reply(id, …)`.
    /// Calls are independent: several may be in flight at once.
    Call {
        /// Id to reply with.
        id: CallId,
        /// What to do.
        call: Call,
        /// Per-attempt timeout (10 s control plane, 30 s logs).
        timeout_ms: u64,
    },
    /// Open `GET pods/{pod}/log?container=runner&follow=true&timestamps=true[&sinceTime=…]`
    /// and feed every body chunk to `handle_stdout_chunk(id, …)`, then its end to
    /// `handle_stdout_end(id, …)`. No timeout on the body (it lives as long as the runner).
    OpenStdout {
        /// Id of this stream.
        id: StreamId,
        /// Pod name.
        pod: String,
        /// `sinceTime=` to resume from (RFC 3339, second precision); `None`: from the start.
        since_time: Option<String>,
    },
    /// Drop the stream `id`; nothing more about it needs to be reported (late chunks and its
    /// end are ignored if they still arrive).
    CloseStdout {
        /// The stream to drop.
        id: StreamId,
    },
    /// Start watching the Pod `name` (e.g. kube-runtime's `watcher` with backoff, field
    /// selector on the name): every observed state goes to `handle_pod`, a deletion to
    /// `handle_pod_gone`; if the watch cannot be kept up, call `handle_watch_failed` once and
    /// stop it (the flow then polls with `ReadPod`).
    WatchPod {
        /// Pod name.
        name: String,
    },
    /// Stop the Pod watch; later observations are ignored.
    StopWatch,
    /// Forward to the caller's `onPhase` (only emitted when phases were requested).
    Phase(Phase),
    /// Forward to the caller's `onStdoutDelta` (only emitted when deltas were requested), in
    /// order.
    StdoutDelta(String),
    /// Log a warning (the TypeScript service's `console.warn` texts; never secrets).
    Warn(String),
    /// The execution's response; emitted exactly once, before the cleanup calls finish. The
    /// driver may resolve the caller's promise now or at [`Action::Done`].
    Respond(Box<ExecuteResponse>),
    /// Cleanup finished; the execution will emit nothing more.
    Done,
}

/// Timing knobs of the flow's own improvements over the TypeScript (the TypeScript
/// constants themselves are fixed and come from `tale_sandbox_contract::constants`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// How long to wait for the runner's follow stream to end by itself once the harvest is
    /// done (or the runner dead, the pod gone, the backstop hit) before a final resume read.
    pub stdout_drain_ms: i64,
    /// First reconnect delay after a stream failure; doubled per consecutive failure.
    pub reconnect_initial_ms: i64,
    /// Largest reconnect delay.
    pub reconnect_max_ms: i64,
    /// Consecutive stream failures without a single byte after which the flow gives up
    /// streaming and polls the log with `sinceTime` reads every `POLL_INTERVAL_MS`.
    pub stream_failures_before_polling: u32,
    /// W16: how long to wait for a deleted leftover pod to disappear before creating ours.
    pub pod_gone_wait_ms: i64,
    /// A follow stream that brought nothing new for this long is checked with a `tailLines`
    /// read, and reopened from the resume point if the log has more than it brought
    /// (kubelets before 1.29 stop sending after a rotation without ending the stream; a
    /// quiet program costs a read of about two lines per period). `0` disables it.
    pub stdout_stall_ms: i64,
    /// A follow stream that ended normally while the runner was not yet seen exited (the
    /// stream of an exited runner ends by itself, often a moment before the Pod status says so)
    /// is not reopened at once: a `tailLines` read checks whether anything was written after
    /// what it brought. If so (a server ended the stream), it is reopened at once; if not, the
    /// check is repeated every `stdout_eof_settle_ms` while the status does not show the exit,
    /// for up to [`stdout_eof_settle_max_ms`](Self::stdout_eof_settle_max_ms). When the exit
    /// shows up, one more check proves the end, where a reconnect would re-read the last second.
    pub stdout_eof_settle_ms: i64,
    /// How long after such a stream end the flow keeps checking the log's tail before it
    /// reopens the stream from the resume point anyway (a quiet runner whose stream a server
    /// ended).
    pub stdout_eof_settle_max_ms: i64,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            stdout_drain_ms: 2_000,
            reconnect_initial_ms: 200,
            reconnect_max_ms: 5_000,
            stream_failures_before_polling: 5,
            pod_gone_wait_ms: 30_000,
            stdout_stall_ms: 30_000,
            stdout_eof_settle_ms: 1_000,
            stdout_eof_settle_max_ms: 10_000,
        }
    }
}

/// Per-execution options (the TypeScript `ExecuteOptions` without the signal, which is
/// [`Execution::handle_abort`](crate::Execution::handle_abort), and without the callbacks,
/// which are actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecuteOptions {
    /// Wall-clock start set by the dispatcher (`opts.startedAtMs`).
    pub started_at_ms: i64,
    /// Emit [`Action::Phase`] (the caller passed `onPhase`).
    pub emit_phases: bool,
    /// Emit [`Action::StdoutDelta`] (the caller passed `onStdoutDelta`).
    pub emit_stdout_deltas: bool,
    /// Settings of the contract's `assemble`.
    pub assemble: AssembleOptions,
    /// The flow's own timing knobs.
    pub tuning: Tuning,
}

impl ExecuteOptions {
    /// Both callbacks wanted, default assembly and tuning.
    pub fn new(started_at_ms: i64) -> Self {
        Self {
            started_at_ms,
            emit_phases: true,
            emit_stdout_deltas: true,
            assemble: AssembleOptions::default(),
            tuning: Tuning::default(),
        }
    }
}

/// Why the main loop ended (the TypeScript's `LoopOutcome`); the text is the one used in
/// the `no result line` warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoopOutcome {
    /// The harvest container terminated or the pod is terminal.
    HarvestDone,
    /// The pod was deleted (404 or a watch deletion).
    PodGone,
    /// The runner terminated non-zero and the harvest never printed its started line.
    RunnerDead,
    /// The caller aborted.
    Aborted,
    /// `timeoutMs + HARVEST_BACKSTOP_MS` passed.
    Backstop,
}

impl LoopOutcome {
    /// The TypeScript spelling (`harvestDone`, `podGone`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            LoopOutcome::HarvestDone => "harvestDone",
            LoopOutcome::PodGone => "podGone",
            LoopOutcome::RunnerDead => "runnerDead",
            LoopOutcome::Aborted => "aborted",
            LoopOutcome::Backstop => "backstop",
        }
    }
}

impl fmt::Display for LoopOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an execution is (see [`Execution::stage`](crate::Execution::stage)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Cache PVCs, Secret, leftover pod, Pod creation.
    Preparing,
    /// Waiting for the runner to start (§1.5), or reading the stage tail.
    Starting,
    /// The main loop (§1.7).
    Running,
    /// Draining stdout and reading the result (§1.8).
    Finishing,
    /// The response was emitted; deleting what the execution owns.
    Cleanup,
    /// Nothing more to do.
    Done,
}

/// Log bytes received per container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogBytes {
    /// `stage` tail reads.
    pub stage: u64,
    /// `runner` streams and reads.
    pub runner: u64,
    /// `harvest` reads.
    pub harvest: u64,
}

/// What an execution did, for metrics and diagnostics
/// ([`Execution::report`](crate::Execution::report)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Log bytes received per container.
    pub log_bytes: LogBytes,
    /// One-shot log reads issued (every attempt).
    pub log_reads: u64,
    /// Pod GETs issued (every attempt).
    pub pod_reads: u64,
    /// Follow streams of the runner's log opened.
    pub stdout_streams: u64,
    /// Of those, reopened after a stream ended early (cut, error, premature end) or stalled.
    pub stdout_reconnects: u64,
    /// Streams reopened because they brought nothing new for [`Tuning::stdout_stall_ms`].
    pub stdout_stalls: u64,
    /// Runner-log polling reads (after streaming kept failing) and final resume reads.
    pub stdout_polls: u64,
    /// `tailLines` reads that checked whether anything was written after the stdout taken
    /// (instead of re-reading the last second), and how many of them proved it.
    pub stdout_tail_checks: u64,
    /// Of [`stdout_tail_checks`](Self::stdout_tail_checks), those that proved stdout complete
    /// (or a quiet stream healthy).
    pub stdout_tail_confirmed: u64,
    /// Log rotations the accumulator detected.
    pub rotations: u64,
    /// Places where stdout bytes may be missing (accumulator gaps).
    pub gaps: u64,
    /// Runner stdout bytes seen (past the cap too).
    pub stdout_total_bytes: u64,
    /// Whether the Pod watch failed and the flow fell back to GET polling.
    pub watch_failed: bool,
    /// Why the main loop ended, once it did.
    pub loop_outcome: Option<LoopOutcome>,
    /// When the harvest was seen terminated (`harvestDone`), epoch ms.
    pub harvest_done_at_ms: Option<i64>,
    /// When the response was emitted, epoch ms.
    pub responded_at_ms: Option<i64>,
}
