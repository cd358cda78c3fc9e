//! After the main loop (spec §1.8, §1.9): the harvest result-line reads (a 5 s window of
//! re-reads 400 ms apart after `harvestDone`, one read otherwise, a 404 ends it), and the
//! assembly through the contract's `assemble` once both the result and stdout are settled.

use tale_sandbox_contract::constants::RESULT_REREAD_SLEEP_MS;
use tale_sandbox_contract::protocol::{parse_result_line, parse_started_line};
use tale_sandbox_contract::response::{AssembleInput, assemble};

use crate::calls::{Purpose, TimerKind};
use crate::execution::Execution;
use crate::types::{Call, Container, LogParams, LoopOutcome, Reply, Stage};

impl Execution {
    /// One read of the full harvest log.
    pub(crate) fn read_harvest_result(&mut self) {
        if self.stage != Stage::Finishing || self.result_settled {
            return;
        }
        let call = Call::ReadLog {
            pod: self.pod_name.clone(),
            params: LogParams::full(Container::Harvest),
        };
        self.issue(Purpose::HarvestResult, call);
    }

    pub(crate) fn on_harvest_result(&mut self, reply: Reply, now_ms: i64) {
        match Self::expect_log(reply) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                // A malformed line counts as absent, as the TypeScript's parsers return null.
                self.harvest = parse_result_line(&text).ok().flatten();
                if self.started.is_none() {
                    self.started = parse_started_line(&text).ok().flatten();
                }
            }
            Err(err) if err.is_not_found() => {
                self.settle_result(now_ms);
                return;
            }
            Err(err) => self.warn(format!("[sandbox.k8s] failed to read harvest logs: {err}")),
        }
        if self.harvest.is_some() || now_ms >= self.read_deadline {
            self.settle_result(now_ms);
        } else {
            self.set_timer(
                now_ms.saturating_add(RESULT_REREAD_SLEEP_MS as i64),
                TimerKind::ResultReread,
            );
        }
    }

    fn settle_result(&mut self, now_ms: i64) {
        self.result_settled = true;
        if self.harvest.is_none() {
            let outcome = self.loop_outcome.unwrap_or(LoopOutcome::Backstop);
            let id = self.req.execution_id.clone();
            self.warn(format!(
                "[sandbox.k8s] no result line in harvest logs for {id} (loop outcome: {outcome})"
            ));
        }
        self.maybe_finish(now_ms);
    }

    /// Assembles once the result is settled and stdout drained.
    pub(crate) fn maybe_finish(&mut self, now_ms: i64) {
        if self.stage == Stage::Finishing && self.result_settled && self.stdout.is_drained() {
            self.respond_assembled(now_ms);
        }
    }

    /// §1.9 with what is known now (also the abort path of the loop; after an abort in the
    /// result window, once the result reads settled).
    pub(crate) fn respond_assembled(&mut self, now_ms: i64) {
        self.finish_scanner();
        let outcome = self.stdout.acc.finish();
        let stdout = outcome.text().into_owned();
        let stdout_stream_truncated = outcome.truncated || self.stdout.lost;
        let aborted = self.aborted || self.loop_outcome == Some(LoopOutcome::Aborted);
        let input = AssembleInput {
            aborted,
            stdout,
            stdout_stream_truncated,
            started_at_ms: self.opts.started_at_ms,
            now_ms: self.assembly_now(now_ms),
            harvest: self.harvest.clone(),
            started: self.started,
            runner_killed: if aborted { None } else { self.runner_killed.clone() },
            backstop: self.loop_outcome == Some(LoopOutcome::Backstop),
            request_steps: self.req.steps.clone(),
        };
        let response = assemble(&self.cfg, input, self.opts.assemble);
        self.respond(response, now_ms);
    }
}
