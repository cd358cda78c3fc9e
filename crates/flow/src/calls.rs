//! Bookkeeping of API calls and timers: why each call was made (its [`Purpose`]), the
//! `withRetry` policy of the TypeScript client (read-pod / read-log: 3 attempts, 200/400 ms
//! backoff, non-retryable 4xx at once, a warning per failed retryable attempt) applied with
//! the flow's own timers, and the per-call timeouts.

use tale_sandbox_contract::constants::{K8S_API_TIMEOUT_MS, K8S_LOG_TIMEOUT_MS, RETRY_ATTEMPTS};
use tale_sandbox_contract::retry::{RetryDecision, is_retryable, retry_decision};

use crate::execution::Execution;
pub(crate) use crate::types::Call;
use crate::types::{Action, ApiError, Container, Payload, Reply};

/// Why a call was made: where its reply goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// §4.8: read cache PVC `i` (0 pip, 1 npm).
    ReadPvc(usize),
    /// §4.8: create cache PVC `i`.
    CreatePvc(usize),
    /// §1.4 step 1.
    CreateSecret,
    /// §1.4 step 3: who holds our pod name?
    DuplicateReadPod,
    /// §1.4 step 4: delete a terminal or abandoned leftover.
    DuplicateDeletePod,
    /// W16: is the deleted leftover gone yet?
    WaitGoneReadPod,
    /// §1.4 step 5.
    ReplaceSecret,
    /// §1.2 step 8.
    CreatePod,
    /// §1.5 / §1.7 Pod read when the watch failed.
    PodPoll,
    /// §1.6.
    StageTail,
    /// §1.7 step 5: started line after the runner-dead grace.
    ProgressCheck,
    /// §1.8.
    HarvestResult,
    /// Runner-log poll after streaming kept failing.
    StdoutPoll,
    /// Final resume read of the runner log.
    StdoutFinal,
    /// A `tailLines` read proving nothing was written after the stdout taken.
    StdoutTailCheck,
    /// §1.2 step 16.
    CleanupPod,
    /// §1.2 step 16.
    CleanupSecret,
}

impl Purpose {
    /// The calls that create the Secret and the Pod (and settle a duplicate first): their replies
    /// matter only while the execution is still preparing.
    pub(crate) fn is_preparing(&self) -> bool {
        matches!(
            self,
            Purpose::ReadPvc(_)
                | Purpose::CreatePvc(_)
                | Purpose::CreateSecret
                | Purpose::DuplicateReadPod
                | Purpose::DuplicateDeletePod
                | Purpose::WaitGoneReadPod
                | Purpose::ReplaceSecret
                | Purpose::CreatePod
        )
    }
}

/// What a runner-log tail check decides, in rising order of what it settles: a later intent
/// supersedes an earlier one in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TailCheckFor {
    /// The open stream brought nothing for a while: quiet program, or stalled stream?
    Stall,
    /// The stream ended normally before the runner was seen exited: was anything written after
    /// what it brought (a stream ended by a server), or has the runner simply stopped?
    Settle,
    /// No stream is open and the runner has exited (or the loop ended): is stdout complete?
    End,
}

/// A call in flight.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) purpose: Purpose,
    pub(crate) call: Call,
    /// 0-based attempt number (retried calls only).
    pub(crate) attempt: u32,
}

impl Pending {
    /// The `withRetry` label, for the calls the TypeScript retries.
    pub(crate) fn retry_label(&self) -> Option<&'static str> {
        // The W16 wait and the runner-log polls repeat by themselves; a retry adds nothing.
        // A failed tail check falls back to a full read, which retries.
        if matches!(
            self.purpose,
            Purpose::WaitGoneReadPod | Purpose::StdoutPoll | Purpose::StdoutTailCheck
        ) {
            return None;
        }
        match self.call {
            Call::ReadPod { .. } => Some("read-pod"),
            Call::ReadLog { .. } => Some("read-log"),
            _ => None,
        }
    }
}

/// A timer.
#[derive(Debug, Clone)]
pub(crate) struct Timer {
    pub(crate) at: i64,
    pub(crate) kind: TimerKind,
}

/// What a timer is for.
#[derive(Debug, Clone)]
pub(crate) enum TimerKind {
    /// `withRetry`'s sleep before attempt `attempt` (0-based).
    Retry { purpose: Purpose, call: Call, attempt: u32 },
    /// W16: read the leftover pod again.
    WaitGoneTick,
    /// §1.5: `STARTUP_BUDGET_MS` ran out.
    StartupDeadline,
    /// Next `ReadPod` poll (watch failed).
    PodPollTick,
    /// §1.7 step 5: the runner-dead grace has passed (strictly).
    RunnerDeadCheck,
    /// §1.7: `timeoutMs + HARVEST_BACKSTOP_MS` after startup.
    Backstop,
    /// §1.8: the 400 ms sleep between result reads.
    ResultReread,
    /// Reopen the runner's follow stream.
    StdoutReconnect,
    /// Next runner-log poll (streaming gave up).
    StdoutPollTick,
    /// Stop waiting for the exited runner's stream to end by itself.
    StdoutDrainDeadline,
    /// Check whether the open stream stalled.
    StdoutStall,
    /// Check again whether anything followed a stream that ended before the runner's exit.
    StdoutSettle,
}

impl TimerKind {
    /// The timers that lead to another read of the runner's log while it is being followed
    /// (reconnect, poll, stall and settle checks): cancelled together when reading stops.
    pub(crate) fn reads_stdout(&self) -> bool {
        matches!(
            self,
            TimerKind::StdoutReconnect
                | TimerKind::StdoutPollTick
                | TimerKind::StdoutStall
                | TimerKind::StdoutSettle
        )
    }
}

/// The per-attempt timeout of a call (`apiTimeout()`): 30 s for logs, 10 s otherwise.
pub(crate) fn timeout_of(call: &Call) -> u64 {
    match call {
        Call::ReadLog { .. } => K8S_LOG_TIMEOUT_MS,
        _ => K8S_API_TIMEOUT_MS,
    }
}

/// A read answered with the wrong payload kind is a transport error (so it is retried like
/// one); creates, replaces and deletes accept any payload.
pub(crate) fn check_payload(call: &Call, reply: Reply) -> Reply {
    match (call, reply) {
        (Call::ReadPod { .. }, Ok(p)) if !matches!(p, Payload::Pod(_)) => {
            Err(ApiError::transport("unexpected reply payload (expected a Pod)"))
        }
        (Call::ReadLog { .. }, Ok(p)) if !matches!(p, Payload::Log(_) | Payload::Empty) => {
            Err(ApiError::transport("unexpected reply payload (expected log bytes)"))
        }
        (_, reply) => reply,
    }
}

impl Execution {
    /// Asks the driver to perform `call` (first attempt).
    pub(crate) fn issue(&mut self, purpose: Purpose, call: Call) {
        self.issue_attempt(purpose, call, 0);
    }

    /// Asks the driver to perform attempt `attempt` of `call`.
    pub(crate) fn issue_attempt(&mut self, purpose: Purpose, call: Call, attempt: u32) {
        let id = self.next_call_id();
        match &call {
            Call::ReadPod { .. } => self.report.pod_reads += 1,
            Call::ReadLog { .. } => self.report.log_reads += 1,
            _ => {}
        }
        let timeout_ms = timeout_of(&call);
        self.calls.insert(id, Pending { purpose, call: call.clone(), attempt });
        self.actions.push_back(Action::Call { id, call, timeout_ms });
    }

    /// Counts log bytes of a reply.
    pub(crate) fn count_reply(&mut self, pending: &Pending, reply: &Reply) {
        if let (Call::ReadLog { params, .. }, Ok(Payload::Log(bytes))) = (&pending.call, reply) {
            let n = bytes.len() as u64;
            match params.container {
                Container::Stage => self.report.log_bytes.stage += n,
                Container::Runner => self.report.log_bytes.runner += n,
                Container::Harvest => self.report.log_bytes.harvest += n,
            }
        }
    }

    /// `withRetry` after a failed attempt: warns for a retryable failure
    /// (`[sandbox.k8s] <label> attempt <n>/3 failed: <message>`) and schedules the next
    /// attempt (`None`), or returns the error to give up with.
    pub(crate) fn retry_or_give_up(
        &mut self,
        pending: Pending,
        err: ApiError,
        now_ms: i64,
    ) -> Option<ApiError> {
        let Some(label) = pending.retry_label() else {
            return Some(err);
        };
        if !is_retryable(err.status) {
            return Some(err);
        }
        self.warn(format!(
            "[sandbox.k8s] {label} attempt {}/{RETRY_ATTEMPTS} failed: {err}",
            pending.attempt + 1
        ));
        match retry_decision(pending.attempt, err.status) {
            RetryDecision::RetryAfterMs(ms) => {
                let kind = TimerKind::Retry {
                    purpose: pending.purpose,
                    call: pending.call,
                    attempt: pending.attempt + 1,
                };
                self.set_timer(now_ms.saturating_add(ms as i64), kind);
                None
            }
            RetryDecision::GiveUp => Some(err),
        }
    }
}
