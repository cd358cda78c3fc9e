//! The main loop (spec §1.7), event-driven: every observed Pod state is checked at once
//! (harvest terminated or pod terminal → `harvestDone`; runner terminated non-zero → the
//! runner-dead grace), and the timed checks are timers — the backstop deadline
//! `timeoutMs + HARVEST_BACKSTOP_MS` and the end of the strict 10 s grace, after which the
//! harvest log is read for the started line. W12: a failed read there is retried one
//! `POLL_INTERVAL_MS` later instead of declaring the runner dead.

use tale_sandbox_contract::constants::RUNNER_CONTAINER;
use tale_sandbox_contract::constants::{
    HARVEST_BACKSTOP_MS, POLL_INTERVAL_MS, RUNNER_DEAD_GRACE_MS,
};
use tale_sandbox_contract::k8s_openapi::api::core::v1::Pod;
use tale_sandbox_contract::protocol::parse_started_line;
use tale_sandbox_contract::reap::{harvest_done, runner_abnormal_exit};

use crate::calls::{Purpose, TimerKind};
use crate::execution::{Execution, PodSource};
use crate::types::{Action, Call, Container, LogParams, LoopOutcome, Reply, Stage};

/// Whether the runner container terminated (any exit code): its log stream then ends by
/// itself once drained.
fn runner_terminated(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == RUNNER_CONTAINER))
        .and_then(|c| c.state.as_ref())
        .is_some_and(|s| s.terminated.is_some())
}

impl Execution {
    /// The runner started: follow its log and arm the backstop.
    pub(crate) fn start_main_loop(&mut self, now_ms: i64) {
        self.stage = Stage::Running;
        // The TypeScript loops `while (Date.now() < now + timeoutMs + backstop)`: with integer
        // clocks a fractional deadline is first reached at its ceiling. The clamp keeps the
        // timeout finite and at most `maxTimeoutMs`, so the cast cannot saturate.
        let deadline = now_ms
            .saturating_add(self.timeout_ms.ceil() as i64)
            .saturating_add(HARVEST_BACKSTOP_MS);
        self.set_timer(deadline, TimerKind::Backstop);
        self.open_stdout(now_ms);
    }

    pub(crate) fn on_running_pod(&mut self, pod: &Pod, now_ms: i64) {
        if self.stage != Stage::Running {
            return;
        }
        if runner_terminated(pod) {
            self.on_runner_exited(now_ms);
        }
        // §1.7 step 4 (eviction sets phase Failed and lands here too: W11, kept).
        if harvest_done(pod) {
            self.end_loop(LoopOutcome::HarvestDone, now_ms);
            return;
        }
        // §1.7 step 5.
        if self.harvest_progressing {
            return;
        }
        if let Some(term) = runner_abnormal_exit(pod) {
            let since = *self.runner_dead_since.get_or_insert(now_ms);
            self.runner_term = Some(term);
            if now_ms.saturating_sub(since) > RUNNER_DEAD_GRACE_MS {
                self.check_harvest_progress();
            } else if !self.timers.iter().any(|t| matches!(t.kind, TimerKind::RunnerDeadCheck)) {
                // Strictly after the grace, as the TypeScript's `>`.
                self.set_timer(
                    since.saturating_add(RUNNER_DEAD_GRACE_MS + 1),
                    TimerKind::RunnerDeadCheck,
                );
            }
        }
    }

    pub(crate) fn on_runner_dead_check(&mut self, _now_ms: i64) {
        if self.stage == Stage::Running && !self.harvest_progressing && self.runner_term.is_some() {
            self.check_harvest_progress();
        }
    }

    /// Reads the full harvest log for the started line.
    fn check_harvest_progress(&mut self) {
        if self.progress_check_in_flight {
            return;
        }
        self.progress_check_in_flight = true;
        let call = Call::ReadLog {
            pod: self.pod_name.clone(),
            params: LogParams::full(Container::Harvest),
        };
        self.issue(Purpose::ProgressCheck, call);
    }

    pub(crate) fn on_progress_check(&mut self, reply: Reply, now_ms: i64) {
        self.progress_check_in_flight = false;
        match Self::expect_log(reply) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                match parse_started_line(&text) {
                    // The harvest is past its wait and owns its deadlines now.
                    Ok(Some(_)) => self.harvest_progressing = true,
                    _ => {
                        self.runner_killed = self.runner_term.clone();
                        self.end_loop(LoopOutcome::RunnerDead, now_ms);
                    }
                }
            }
            Err(err) => {
                // W12: a read failure proves nothing about the harvest; look again next tick.
                self.warn(format!("[sandbox.k8s] harvest progress check failed: {err}"));
                self.set_timer(
                    now_ms.saturating_add(POLL_INTERVAL_MS as i64),
                    TimerKind::RunnerDeadCheck,
                );
            }
        }
    }

    pub(crate) fn on_backstop(&mut self, now_ms: i64) {
        if self.stage == Stage::Running {
            self.end_loop(LoopOutcome::Backstop, now_ms);
        }
    }

    /// The loop ended (not by an abort): drain stdout and read the result (§1.2 steps 11–14).
    pub(crate) fn end_loop(&mut self, outcome: LoopOutcome, now_ms: i64) {
        if self.stage != Stage::Running {
            return;
        }
        self.stage = Stage::Finishing;
        self.loop_outcome = Some(outcome);
        self.report.loop_outcome = Some(outcome);
        if outcome == LoopOutcome::HarvestDone {
            self.report.harvest_done_at_ms = Some(now_ms);
        }
        self.cancel_timers(|k| {
            matches!(k, TimerKind::Backstop | TimerKind::RunnerDeadCheck | TimerKind::PodPollTick)
        });
        if self.pod_source == PodSource::Watch {
            self.actions.push_back(Action::StopWatch);
        }
        self.pod_source = PodSource::None;
        self.drain_stdout(now_ms);
        if outcome == LoopOutcome::RunnerDead {
            // §1.2 step 13: no harvest read.
            self.result_settled = true;
        } else {
            let window = if outcome == LoopOutcome::HarvestDone {
                tale_sandbox_contract::constants::RESULT_READ_WINDOW_MS
            } else {
                0
            };
            self.read_deadline = now_ms.saturating_add(window);
            self.read_harvest_result();
        }
        self.maybe_finish(now_ms);
    }
}
