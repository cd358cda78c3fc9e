//! [`Execution`]: the public face of the flow — constructor, `handle_*` events, `poll_*`
//! outputs and getters — and the state every phase shares. The phases live in their own
//! modules (`prepare`, `startup`, `pod_status`, `main_loop`, `finish`, `stdout`, `cleanup`),
//! each an `impl Execution` block over this state.

use std::collections::{HashMap, VecDeque};

use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::k8s_openapi::api::core::v1::Pod;
use tale_sandbox_contract::names::{pod_name_for, secret_name_for};
use tale_sandbox_contract::response::{
    AssembleInput, RunnerKilled, assemble, internal_error_message, make_error,
};
use tale_sandbox_contract::wire::{
    ErrorCode, ExecuteRequest, ExecuteResponse, HarvestResult, StartedInfo,
};

use crate::calls::{Pending, Purpose, Timer, TimerKind};
use crate::stdout::StdoutFlow;
use crate::types::{
    Action, ApiError, Call, CallId, ExecuteOptions, LoopOutcome, Payload, Reply, Report, Stage,
    StdoutRead, StreamEnd, StreamId,
};

/// How Pod status reaches the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PodSource {
    /// No watch yet (before the Pod exists) or no longer (after the loop).
    None,
    /// The driver's watch feeds `handle_pod`.
    Watch,
    /// The watch failed: `ReadPod` every `POLL_INTERVAL_MS`.
    Polling,
}

/// One execution of the Kubernetes backend's `execute(cfg, req, opts)` (spec §1.2).
///
/// See the [crate documentation](crate) for the event/action protocol.
#[derive(Debug)]
pub struct Execution {
    pub(crate) cfg: SpawnerConfig,
    pub(crate) backend: SpawnerConfig,
    pub(crate) req: ExecuteRequest,
    pub(crate) opts: ExecuteOptions,
    /// The clamped timeout as JavaScript computes it (`Math.min(Math.max(…))` of a JS number:
    /// a request may carry a fractional `timeoutMs`).
    pub(crate) timeout_ms: f64,
    pub(crate) pod_name: String,
    pub(crate) secret_name: String,

    pub(crate) stage: Stage,
    pub(crate) actions: VecDeque<Action>,
    pub(crate) next_id: u64,
    pub(crate) calls: HashMap<CallId, Pending>,
    pub(crate) timers: Vec<Timer>,

    // Ownership (§1.2 step 5): what the cleanup deletes.
    pub(crate) pod_created: bool,
    pub(crate) secret_owned: bool,
    pub(crate) aborted: bool,

    // Preparation.
    pub(crate) cache: Option<tale_sandbox_contract::wire::CacheStores>,
    pub(crate) wait_gone_deadline: i64,

    // Startup.
    pub(crate) startup_failure: Option<String>,

    // Main loop.
    pub(crate) pod_source: PodSource,
    pub(crate) runner_dead_since: Option<i64>,
    pub(crate) runner_term: Option<RunnerKilled>,
    pub(crate) harvest_progressing: bool,
    pub(crate) progress_check_in_flight: bool,
    pub(crate) pod_poll_in_flight: bool,

    // Finishing.
    pub(crate) loop_outcome: Option<LoopOutcome>,
    pub(crate) runner_killed: Option<RunnerKilled>,
    pub(crate) read_deadline: i64,
    pub(crate) result_settled: bool,
    pub(crate) harvest: Option<HarvestResult>,
    pub(crate) started: Option<StartedInfo>,

    pub(crate) stdout: StdoutFlow,
    pub(crate) response: Option<ExecuteResponse>,
    pub(crate) cleanup_queue: VecDeque<Call>,
    pub(crate) report: Report,
}

impl Execution {
    /// Starts an execution at `now_ms`.
    ///
    /// `cfg` is the call's config (timeouts, caps, Pod and Secret shape); `backend` is the
    /// backend's own config, used for the cache mode and the abandoned-pod cutoff (the
    /// TypeScript's `this.cfg`). The first actions are ready at once (the cache PVC reads or
    /// the Secret create; or, for an unsupported language, the response and `Done`).
    pub fn new(
        cfg: &SpawnerConfig,
        backend: &SpawnerConfig,
        req: ExecuteRequest,
        options: ExecuteOptions,
        now_ms: i64,
    ) -> Self {
        let pod_name = pod_name_for(&req.execution_id);
        let secret_name = secret_name_for(&req.execution_id);
        let timeout_ms = cfg.clamp_timeout_ms(req.timeout_ms);
        let stdout = StdoutFlow::new(cfg, &options);
        let mut exec = Execution {
            cfg: cfg.clone(),
            backend: backend.clone(),
            req,
            opts: options,
            timeout_ms,
            pod_name,
            secret_name,
            stage: Stage::Preparing,
            actions: VecDeque::new(),
            next_id: 0,
            calls: HashMap::new(),
            timers: Vec::new(),
            pod_created: false,
            secret_owned: false,
            aborted: false,
            cache: None,
            wait_gone_deadline: 0,
            startup_failure: None,
            pod_source: PodSource::None,
            runner_dead_since: None,
            runner_term: None,
            harvest_progressing: false,
            progress_check_in_flight: false,
            pod_poll_in_flight: false,
            loop_outcome: None,
            runner_killed: None,
            read_deadline: 0,
            result_settled: false,
            harvest: None,
            started: None,
            stdout,
            response: None,
            cleanup_queue: VecDeque::new(),
            report: Report::default(),
        };
        // §1.2 step 1: the dispatcher validated the language already; re-check it.
        if !exec.req.language.is_backend_supported() {
            exec.respond(make_error(ErrorCode::SpawnerUnavailable, "invalid language", 0), now_ms);
            return exec;
        }
        exec.start_preparation(now_ms);
        exec
    }

    /// The result of the call `id`. Replies for unknown or already answered ids are ignored.
    pub fn handle_reply(&mut self, id: CallId, reply: Reply, now_ms: i64) {
        let Some(pending) = self.calls.remove(&id) else {
            return;
        };
        if !self.is_relevant(&pending.purpose) {
            return;
        }
        self.count_reply(&pending, &reply);
        let reply = crate::calls::check_payload(&pending.call, reply);
        // Retries (`withRetry`): only for calls that go through it in the TypeScript.
        let reply = match reply {
            Err(err) if pending.retry_label().is_some() => {
                match self.retry_or_give_up(pending.clone(), err, now_ms) {
                    Some(err) => Err(err),
                    None => return, // a retry is scheduled
                }
            }
            other => other,
        };
        self.dispatch_reply(pending.purpose, reply, now_ms);
    }

    /// An observed state of the watched Pod (the watch's initial state and every change).
    /// Ignored unless the flow is watching (after [`Action::WatchPod`], before
    /// [`Action::StopWatch`] or [`handle_watch_failed`](Self::handle_watch_failed)).
    pub fn handle_pod(&mut self, pod: &Pod, now_ms: i64) {
        if self.pod_source == PodSource::Watch {
            self.on_pod(pod, now_ms);
        }
    }

    /// The watch saw the Pod deleted.
    pub fn handle_pod_gone(&mut self, now_ms: i64) {
        if self.pod_source == PodSource::Watch {
            self.on_pod_gone(now_ms);
        }
    }

    /// The Pod watch cannot be kept up: from now on the flow polls with `ReadPod` every
    /// `POLL_INTERVAL_MS`. Later watch events are ignored.
    pub fn handle_watch_failed(&mut self, now_ms: i64) {
        if self.pod_source != PodSource::Watch {
            return;
        }
        self.report.watch_failed = true;
        self.pod_source = PodSource::Polling;
        self.poll_pod_now(now_ms);
    }

    /// The next chunk of the body of stream `id` (any split). Chunks of closed or unknown
    /// streams are ignored.
    pub fn handle_stdout_chunk(&mut self, id: StreamId, chunk: &[u8], now_ms: i64) {
        if matches!(self.stage, Stage::Running | Stage::Finishing) {
            self.on_stdout_chunk(id, chunk, now_ms);
        }
    }

    /// Stream `id` ended. Ends of closed or unknown streams are ignored.
    pub fn handle_stdout_end(&mut self, id: StreamId, end: StreamEnd, now_ms: i64) {
        if matches!(self.stage, Stage::Running | Stage::Finishing) {
            self.on_stdout_end(id, end, now_ms);
        }
    }

    /// Time passed: call at (or after) [`poll_timeout`](Self::poll_timeout). Calling it
    /// early or often is harmless.
    pub fn handle_timeout(&mut self, now_ms: i64) {
        loop {
            // One due timer at a time, earliest first: each may change what the others mean.
            let due = self
                .timers
                .iter()
                .enumerate()
                .filter(|(_, t)| t.at <= now_ms)
                .min_by_key(|(i, t)| (t.at, *i))
                .map(|(i, _)| i);
            let Some(index) = due else { break };
            let timer = self.timers.remove(index);
            self.on_timer(timer.kind, now_ms);
        }
    }

    /// The caller aborted (the TypeScript `opts.signal`). Idempotent.
    pub fn handle_abort(&mut self, now_ms: i64) {
        if self.aborted || matches!(self.stage, Stage::Cleanup | Stage::Done) {
            self.aborted = true;
            return;
        }
        self.aborted = true;
        match self.stage {
            Stage::Preparing => self.abort_preparation(now_ms),
            // The startup verdict is `preStageFailed` and its stage tail is being read: the
            // TypeScript answers `spawner staging failed: …` whatever the signal says.
            Stage::Starting if self.startup_failure.is_some() => {}
            Stage::Starting => self.respond_cancelled_empty(now_ms),
            Stage::Running => {
                self.report.loop_outcome = Some(LoopOutcome::Aborted);
                self.loop_outcome = Some(LoopOutcome::Aborted);
                self.stop_stdout(now_ms);
                self.respond_assembled(now_ms);
            }
            Stage::Finishing => {
                // §1.9: the result reads go on (the 400 ms re-read sleep is not abortable in
                // the TypeScript) and the cancelled response carries the harvest's outputs,
                // steps and upload stats; stdout is what was accepted so far.
                self.stop_stdout(now_ms);
                self.maybe_finish(now_ms);
            }
            Stage::Cleanup | Stage::Done => {}
        }
    }

    /// The next thing the driver must do, in order; `None` when nothing is pending.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest epoch ms at which [`handle_timeout`](Self::handle_timeout) must be
    /// called; `None` when no timer is armed.
    pub fn poll_timeout(&self) -> Option<i64> {
        self.timers.iter().map(|t| t.at).min()
    }

    /// Whether the execution finished (response emitted and cleanup done). Events after
    /// that are ignored.
    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Where the execution is.
    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// The response, once emitted.
    pub fn response(&self) -> Option<&ExecuteResponse> {
        self.response.as_ref()
    }

    /// Counters and times of what the execution did so far.
    pub fn report(&self) -> Report {
        let mut report = self.report.clone();
        let outcome = self.stdout.acc.finish();
        report.rotations = outcome.rotations;
        report.gaps = outcome.gaps;
        report.stdout_total_bytes = outcome.total_bytes;
        report
    }

    /// The runner's stdout as the flow's accumulator has it now (what the response's stdout
    /// and `truncated.stdout` are made from), for tools that record or check a run.
    pub fn stdout_outcome(&self) -> tale_sandbox_accumulator::Outcome<'_> {
        self.stdout.acc.finish()
    }

    /// Which runner-log read the call `id` is, if its successful reply, handled now, would be
    /// fed to the stdout accumulator (`None` for every other call, and for a stdout read whose
    /// reply would be ignored as stale). For recorders: ask before [`Self::handle_reply`].
    pub fn stdout_read_of(&self, id: CallId) -> Option<StdoutRead> {
        let pending = self.calls.get(&id)?;
        let kind = match pending.purpose {
            Purpose::StdoutPoll => StdoutRead::Poll,
            Purpose::StdoutFinal => StdoutRead::Final,
            _ => return None,
        };
        self.is_relevant(&pending.purpose).then_some(kind)
    }

    /// The deterministic Pod name (`podNameFor(executionId)`).
    pub fn pod_name(&self) -> &str {
        &self.pod_name
    }

    /// The deterministic Secret name (`secretNameFor(executionId)`).
    pub fn secret_name(&self) -> &str {
        &self.secret_name
    }

    /// The clamped timeout of this execution (§1.2 step 2), a JS number (it may be fractional).
    pub fn timeout_ms(&self) -> f64 {
        self.timeout_ms
    }

    // ---- shared helpers ---------------------------------------------------------------

    /// Routes a (final) reply to the phase that asked for it.
    fn dispatch_reply(&mut self, purpose: Purpose, reply: Reply, now_ms: i64) {
        match purpose {
            Purpose::ReadPvc(i) => self.on_read_pvc(i, reply, now_ms),
            Purpose::CreatePvc(i) => self.on_create_pvc(i, reply, now_ms),
            Purpose::CreateSecret => self.on_create_secret(reply, now_ms),
            Purpose::DuplicateReadPod => self.on_duplicate_read_pod(reply, now_ms),
            Purpose::DuplicateDeletePod => self.on_duplicate_delete_pod(reply, now_ms),
            Purpose::WaitGoneReadPod => self.on_wait_gone_read_pod(reply, now_ms),
            Purpose::ReplaceSecret => self.on_replace_secret(reply, now_ms),
            Purpose::CreatePod => self.on_create_pod(reply, now_ms),
            Purpose::PodPoll => self.on_pod_poll(reply, now_ms),
            Purpose::StageTail => self.on_stage_tail(reply, now_ms),
            Purpose::ProgressCheck => self.on_progress_check(reply, now_ms),
            Purpose::HarvestResult => self.on_harvest_result(reply, now_ms),
            Purpose::StdoutPoll => self.on_stdout_poll(reply, now_ms),
            Purpose::StdoutFinal => self.on_stdout_final(reply, now_ms),
            Purpose::StdoutTailCheck => self.on_stdout_tail_check(reply, now_ms),
            Purpose::CleanupPod | Purpose::CleanupSecret => {
                self.on_cleanup_reply(purpose, reply, now_ms)
            }
        }
    }

    /// Routes a due timer.
    fn on_timer(&mut self, kind: TimerKind, now_ms: i64) {
        match kind {
            TimerKind::Retry { purpose, call, attempt } => {
                if self.is_relevant(&purpose) {
                    self.issue_attempt(purpose, call, attempt);
                }
            }
            TimerKind::WaitGoneTick => self.on_wait_gone_tick(now_ms),
            TimerKind::StartupDeadline => self.on_startup_deadline(now_ms),
            TimerKind::PodPollTick => self.poll_pod_now(now_ms),
            TimerKind::RunnerDeadCheck => self.on_runner_dead_check(now_ms),
            TimerKind::Backstop => self.on_backstop(now_ms),
            TimerKind::ResultReread => self.read_harvest_result(),
            TimerKind::StdoutReconnect => self.on_stdout_reconnect(now_ms),
            TimerKind::StdoutPollTick => self.on_stdout_poll_tick(now_ms),
            TimerKind::StdoutDrainDeadline => self.on_stdout_drain_deadline(now_ms),
            TimerKind::StdoutStall => self.on_stdout_stall(now_ms),
            TimerKind::StdoutSettle => self.on_stdout_settle(now_ms),
        }
    }

    /// Whether a reply or retry for `purpose` still matters in the current state.
    fn is_relevant(&self, purpose: &Purpose) -> bool {
        match purpose {
            Purpose::PodPoll => {
                matches!(self.stage, Stage::Starting | Stage::Running)
                    && self.pod_source == PodSource::Polling
                    && self.startup_failure.is_none()
            }
            Purpose::StageTail => self.stage == Stage::Starting && self.startup_failure.is_some(),
            Purpose::ProgressCheck => self.stage == Stage::Running,
            Purpose::HarvestResult => self.stage == Stage::Finishing && !self.result_settled,
            Purpose::StdoutPoll => self.stage == Stage::Running && self.stdout.is_polling(),
            Purpose::StdoutFinal => self.stage == Stage::Finishing && !self.stdout.is_drained(),
            Purpose::StdoutTailCheck => {
                matches!(self.stage, Stage::Running | Stage::Finishing) && !self.stdout.is_drained()
            }
            Purpose::CleanupPod | Purpose::CleanupSecret => self.stage == Stage::Cleanup,
            // The rest create the Secret and the Pod (`Purpose::is_preparing`, the one list).
            preparing => {
                debug_assert!(preparing.is_preparing());
                self.stage == Stage::Preparing
            }
        }
    }

    /// A fresh call id.
    pub(crate) fn next_call_id(&mut self) -> CallId {
        self.next_id += 1;
        CallId(self.next_id)
    }

    /// A fresh stream id.
    pub(crate) fn next_stream_id(&mut self) -> StreamId {
        self.next_id += 1;
        StreamId(self.next_id)
    }

    /// Arms a timer.
    pub(crate) fn set_timer(&mut self, at: i64, kind: TimerKind) {
        self.timers.push(Timer { at, kind });
    }

    /// Disarms every timer matching `pred`.
    pub(crate) fn cancel_timers(&mut self, pred: impl Fn(&TimerKind) -> bool) {
        self.timers.retain(|t| !pred(&t.kind));
    }

    pub(crate) fn warn(&mut self, text: String) {
        self.actions.push_back(Action::Warn(text));
    }

    /// `now - startedAtMs`.
    pub(crate) fn elapsed(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.opts.started_at_ms)
    }

    /// `now_ms` for the contract's `assemble`, which computes `now - startedAtMs` unchecked:
    /// equal to `now_ms` unless that difference would overflow, then the saturated one.
    pub(crate) fn assembly_now(&self, now_ms: i64) -> i64 {
        self.opts.started_at_ms.saturating_add(self.elapsed(now_ms))
    }

    /// `makeError('SPAWNER_UNAVAILABLE', message, elapsed)`.
    pub(crate) fn respond_error(&mut self, message: &str, now_ms: i64) {
        let response = make_error(ErrorCode::SpawnerUnavailable, message, self.elapsed(now_ms));
        self.respond(response, now_ms);
    }

    /// The outer catch (§1.2 step 15) for everything but a duplicate dispatch: cancelled if
    /// the caller aborted, otherwise `spawner internal error: <message>`.
    pub(crate) fn fail_internal(&mut self, message: &str, now_ms: i64) {
        if self.aborted {
            self.respond_cancelled_empty(now_ms);
        } else {
            self.respond_error(&internal_error_message(message), now_ms);
        }
    }

    /// A cancelled response without stdout or harvest (abort before the main loop).
    pub(crate) fn respond_cancelled_empty(&mut self, now_ms: i64) {
        let input = AssembleInput {
            aborted: true,
            started_at_ms: self.opts.started_at_ms,
            now_ms: self.assembly_now(now_ms),
            request_steps: self.req.steps.clone(),
            ..Default::default()
        };
        let response = assemble(&self.cfg, input, self.opts.assemble);
        self.respond(response, now_ms);
    }

    /// Emits the response and starts the cleanup (§1.2 step 16).
    pub(crate) fn respond(&mut self, response: ExecuteResponse, now_ms: i64) {
        if self.response.is_some() {
            return;
        }
        if self.pod_source == PodSource::Watch {
            self.actions.push_back(Action::StopWatch);
        }
        self.pod_source = PodSource::None;
        // The response is built: nothing read from here on is stdout any more.
        let _ = self.stdout.close(&mut self.actions);
        self.timers.clear();
        self.report.responded_at_ms = Some(now_ms);
        self.response = Some(response.clone());
        self.actions.push_back(Action::Respond(Box::new(response)));
        self.stage = Stage::Cleanup;
        self.start_cleanup(now_ms);
    }

    /// A reply's payload as a Pod, or the error a wrong payload amounts to.
    pub(crate) fn expect_pod(reply: Reply) -> Result<Box<Pod>, ApiError> {
        match reply? {
            Payload::Pod(pod) => Ok(pod),
            _ => Err(ApiError::transport("unexpected reply payload (expected a Pod)")),
        }
    }

    /// A reply's payload as log bytes, or the error a wrong payload amounts to.
    pub(crate) fn expect_log(reply: Reply) -> Result<Vec<u8>, ApiError> {
        match reply? {
            Payload::Log(bytes) => Ok(bytes),
            Payload::Empty => Ok(Vec::new()),
            _ => Err(ApiError::transport("unexpected reply payload (expected log bytes)")),
        }
    }
}
