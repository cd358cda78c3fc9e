//! Pod status: routing each observation — from the watch, or from `ReadPod` polls every
//! `POLL_INTERVAL_MS` once the watch failed — to startup or the main loop, and a deleted
//! Pod (watch deletion or 404) to "pod deleted during startup" or `podGone`.

use tale_sandbox_contract::constants::POLL_INTERVAL_MS;
use tale_sandbox_contract::k8s_openapi::api::core::v1::Pod;
use tale_sandbox_contract::reap::POD_DELETED_DURING_STARTUP;

use crate::calls::{Purpose, TimerKind};
use crate::execution::{Execution, PodSource};
use crate::types::{Call, LoopOutcome, Reply, Stage};

impl Execution {
    /// Pod status, from the watch or a poll.
    pub(crate) fn on_pod(&mut self, pod: &Pod, now_ms: i64) {
        match self.stage {
            Stage::Starting => self.on_startup_pod(pod, now_ms),
            Stage::Running => self.on_running_pod(pod, now_ms),
            _ => {}
        }
    }

    /// The Pod is gone (watch deletion or a 404 on a poll).
    pub(crate) fn on_pod_gone(&mut self, now_ms: i64) {
        match self.stage {
            Stage::Starting if self.startup_failure.is_none() => {
                self.respond_error(POD_DELETED_DURING_STARTUP, now_ms)
            }
            Stage::Running => self.end_loop(LoopOutcome::PodGone, now_ms),
            _ => {}
        }
    }

    /// Handles a reply to a Pod poll (watch failed) in startup or the main loop.
    pub(crate) fn on_pod_poll(&mut self, reply: Reply, now_ms: i64) {
        self.pod_poll_in_flight = false;
        match Self::expect_pod(reply) {
            Ok(pod) => self.on_pod(&pod, now_ms),
            Err(err) if err.is_not_found() => {
                self.on_pod_gone(now_ms);
                return;
            }
            Err(err) => {
                let text = if self.stage == Stage::Starting {
                    format!(
                        "[sandbox.k8s] pod read failed during startup (will keep polling): {err}"
                    )
                } else {
                    format!("[sandbox.k8s] pod read failed mid-run (will keep polling): {err}")
                };
                self.warn(text);
            }
        }
        if matches!(self.stage, Stage::Starting | Stage::Running)
            && self.pod_source == PodSource::Polling
            && self.startup_failure.is_none()
        {
            self.set_timer(now_ms.saturating_add(POLL_INTERVAL_MS as i64), TimerKind::PodPollTick);
        }
    }

    /// Issues a `ReadPod` poll now (watch failed), unless one is in flight.
    pub(crate) fn poll_pod_now(&mut self, _now_ms: i64) {
        if self.pod_poll_in_flight
            || self.pod_source != PodSource::Polling
            || !matches!(self.stage, Stage::Starting | Stage::Running)
            || self.startup_failure.is_some()
        {
            return;
        }
        self.pod_poll_in_flight = true;
        self.cancel_timers(|k| matches!(k, TimerKind::PodPollTick));
        let call = Call::ReadPod { name: self.pod_name.clone() };
        self.issue(Purpose::PodPoll, call);
    }
}
