//! Waiting for the runner to start (spec §1.5) and the stage-log tail of a staging failure
//! (§1.6). Pod status comes from the watch (or 500 ms polls once it failed); the 180 s
//! budget is a timer. The verdict on each observed Pod is the contract's
//! `classify_startup` (which includes W15).

use tale_sandbox_contract::constants::{
    STAGE_TAIL_LIMIT_BYTES, STAGE_TAIL_LINES, STARTUP_BUDGET_MS,
};
use tale_sandbox_contract::k8s_openapi::api::core::v1::Pod;
use tale_sandbox_contract::reap::{
    StartupState, classify_startup, staging_failed_message, startup_timeout_message,
};

use crate::calls::{Purpose, TimerKind};
use crate::execution::{Execution, PodSource};
use crate::types::{Action, Call, Container, LogParams, Reply, Stage};

impl Execution {
    /// The Pod exists: watch it and arm the startup budget.
    pub(crate) fn start_startup(&mut self, now_ms: i64) {
        self.stage = Stage::Starting;
        self.pod_source = PodSource::Watch;
        self.actions.push_back(Action::WatchPod { name: self.pod_name.clone() });
        self.set_timer(now_ms.saturating_add(STARTUP_BUDGET_MS), TimerKind::StartupDeadline);
    }

    pub(crate) fn on_startup_pod(&mut self, pod: &Pod, now_ms: i64) {
        if self.startup_failure.is_some() {
            return; // the stage tail is being read; the verdict is already known
        }
        match classify_startup(pod) {
            StartupState::Pending => {}
            StartupState::Started => {
                self.cancel_timers(|k| matches!(k, TimerKind::StartupDeadline));
                self.start_main_loop(now_ms);
                // The same observation may already show the run finished (a fast program).
                self.on_running_pod(pod, now_ms);
            }
            StartupState::Failed(message) => self.respond_error(&message, now_ms),
            StartupState::PreStageFailed(message) => {
                // The real fetch error is in the stage container's log: read its tail before
                // the cleanup deletes the pod.
                self.startup_failure = Some(message);
                self.cancel_timers(|k| {
                    matches!(k, TimerKind::StartupDeadline | TimerKind::PodPollTick)
                });
                let params = LogParams {
                    container: Container::Stage,
                    tail_lines: Some(STAGE_TAIL_LINES),
                    limit_bytes: Some(STAGE_TAIL_LIMIT_BYTES),
                    timestamps: false,
                    since_time: None,
                };
                self.issue(
                    Purpose::StageTail,
                    Call::ReadLog { pod: self.pod_name.clone(), params },
                );
            }
        }
    }

    pub(crate) fn on_stage_tail(&mut self, reply: Reply, now_ms: i64) {
        let tail = match Self::expect_log(reply) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            Err(err) => {
                self.warn(format!("[sandbox.k8s] stage log read failed: {err}"));
                None
            }
        };
        let message = self.startup_failure.take().unwrap_or_default();
        let text = staging_failed_message(&message, tail.as_deref());
        self.respond_error(&text, now_ms);
    }

    pub(crate) fn on_startup_deadline(&mut self, now_ms: i64) {
        if self.stage == Stage::Starting && self.startup_failure.is_none() {
            self.respond_error(&startup_timeout_message(), now_ms);
        }
    }
}
