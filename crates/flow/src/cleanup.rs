//! Cleanup (spec §1.2 step 16), on every path after the response: delete the Pod if this
//! execution created it, then the Secret if the Pod was created or the Secret is owned.
//! Sequential like the TypeScript; a 404 is silent, other errors are warnings; then `Done`.

use crate::calls::Purpose;
use crate::execution::Execution;
use crate::types::{Action, Call, Reply, Stage};

impl Execution {
    pub(crate) fn start_cleanup(&mut self, _now_ms: i64) {
        if self.pod_created {
            self.cleanup_queue.push_back(Call::DeletePod {
                name: self.pod_name.clone(),
                grace_period_seconds: 0,
            });
        }
        if self.pod_created || self.secret_owned {
            self.cleanup_queue.push_back(Call::DeleteSecret { name: self.secret_name.clone() });
        }
        self.next_cleanup();
    }

    fn next_cleanup(&mut self) {
        match self.cleanup_queue.pop_front() {
            Some(call) => {
                let purpose = match call {
                    Call::DeletePod { .. } => Purpose::CleanupPod,
                    _ => Purpose::CleanupSecret,
                };
                self.issue(purpose, call);
            }
            None => {
                self.stage = Stage::Done;
                self.calls.clear();
                self.timers.clear();
                self.actions.push_back(Action::Done);
            }
        }
    }

    pub(crate) fn on_cleanup_reply(&mut self, purpose: Purpose, reply: Reply, _now_ms: i64) {
        if let Err(err) = reply
            && !err.is_not_found()
        {
            let text = match purpose {
                Purpose::CleanupPod => {
                    format!("[sandbox.k8s] delete pod {} failed: {err}", self.pod_name)
                }
                _ => format!("[sandbox.k8s] delete secret {} failed: {err}", self.secret_name),
            };
            self.warn(text);
        }
        self.next_cleanup();
    }
}
