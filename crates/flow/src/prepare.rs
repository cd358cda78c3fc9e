//! Before the Pod exists (spec §1.2 steps 6–8, §1.4, §4.8): the cache PVCs, the exec Secret
//! with its duplicate-dispatch disambiguation, and the Pod create. An abort here waits for
//! the call in flight (its outcome decides what the execution owns) and then answers
//! `cancelled`.

use tale_sandbox_contract::config::CacheMode;
use tale_sandbox_contract::constants::POLL_INTERVAL_MS;
use tale_sandbox_contract::pod::{
    SandboxPodInput, build_cache_pvc, build_sandbox_pod, cache_stores_for,
};
use tale_sandbox_contract::reap::{
    duplicate_execution_message, is_live_duplicate, pod_conflict_message,
};
use tale_sandbox_contract::secret::build_exec_secret;

use crate::calls::{Purpose, TimerKind};
use crate::execution::Execution;
use crate::types::{Call, Reply};

impl Execution {
    /// §1.2 step 6: cache PVCs first when the backend runs in `pvc` mode, then the Secret.
    pub(crate) fn start_preparation(&mut self, now_ms: i64) {
        if self.backend.k8s.cache_mode == CacheMode::Pvc {
            self.cache = Some(cache_stores_for(&self.backend, &self.req.organization_id));
            self.read_pvc(0);
        } else {
            self.create_secret(now_ms);
        }
    }

    fn pvc_name(&self, index: usize) -> String {
        let stores = self.cache.as_ref().expect("cache stores are set in pvc mode");
        if index == 0 { stores.pip.clone() } else { stores.npm.clone() }
    }

    fn read_pvc(&mut self, index: usize) {
        let name = self.pvc_name(index);
        self.issue(Purpose::ReadPvc(index), Call::ReadPvc { name });
    }

    fn pvc_ready(&mut self, index: usize, now_ms: i64) {
        if self.aborted {
            self.respond_cancelled_empty(now_ms);
        } else if index == 0 {
            self.read_pvc(1);
        } else {
            self.create_secret(now_ms);
        }
    }

    pub(crate) fn on_read_pvc(&mut self, index: usize, reply: Reply, now_ms: i64) {
        let name = self.pvc_name(index);
        match reply {
            Ok(_) => self.pvc_ready(index, now_ms),
            Err(err) if err.is_not_found() && !self.aborted => {
                let body = build_cache_pvc(&self.backend, &name);
                self.issue(Purpose::CreatePvc(index), Call::CreatePvc(Box::new(body)));
            }
            Err(err) => {
                self.fail_internal(&format!("k8s cache: failed to read PVC {name}: {err}"), now_ms)
            }
        }
    }

    pub(crate) fn on_create_pvc(&mut self, index: usize, reply: Reply, now_ms: i64) {
        match reply {
            // 409: another execution created it concurrently — just as good.
            Ok(_) => self.pvc_ready(index, now_ms),
            Err(err) if err.is_conflict() => self.pvc_ready(index, now_ms),
            Err(err) => {
                let name = self.pvc_name(index);
                self.fail_internal(
                    &format!("k8s cache: failed to create PVC {name}: {err}"),
                    now_ms,
                )
            }
        }
    }

    fn secret_body(&self) -> Box<tale_sandbox_contract::k8s_openapi::api::core::v1::Secret> {
        Box::new(build_exec_secret(&self.cfg, &self.req, self.timeout_ms, self.opts.started_at_ms))
    }

    /// §1.2 step 7.
    fn create_secret(&mut self, _now_ms: i64) {
        let body = self.secret_body();
        self.issue(Purpose::CreateSecret, Call::CreateSecret(body));
    }

    pub(crate) fn on_create_secret(&mut self, reply: Reply, now_ms: i64) {
        match reply {
            Ok(_) => {
                self.secret_owned = true;
                self.create_pod(now_ms);
            }
            // §1.4 step 3: a name conflict — is a live execution holding it? Asked even after
            // an abort: a live duplicate is reported as such (the TypeScript's catch checks
            // `DuplicateExecutionError` before the signal); otherwise the abort answers next.
            Err(err) if err.is_conflict() => {
                self.issue(
                    Purpose::DuplicateReadPod,
                    Call::ReadPod { name: self.pod_name.clone() },
                );
            }
            Err(err) => self.fail_internal(&err.message, now_ms),
        }
    }

    pub(crate) fn on_duplicate_read_pod(&mut self, reply: Reply, now_ms: i64) {
        match Self::expect_pod(reply) {
            Ok(pod) => {
                if is_live_duplicate(&pod, &self.backend, now_ms) {
                    // The live owner's cleanup deletes the shared-name objects: touch nothing.
                    let message = duplicate_execution_message(&self.pod_name);
                    self.respond_error(&message, now_ms);
                } else if self.aborted {
                    self.respond_cancelled_empty(now_ms);
                } else {
                    let call =
                        Call::DeletePod { name: self.pod_name.clone(), grace_period_seconds: 0 };
                    self.issue(Purpose::DuplicateDeletePod, call);
                }
            }
            Err(err) if err.is_not_found() => self.replace_secret(now_ms),
            Err(err) => self.fail_internal(&err.message, now_ms),
        }
    }

    pub(crate) fn on_duplicate_delete_pod(&mut self, reply: Reply, now_ms: i64) {
        match reply {
            Ok(_) if self.aborted => self.respond_cancelled_empty(now_ms),
            Ok(_) => {
                // W16: a deleted pod can linger while it terminates; creating ours now would
                // 409 and be misreported as another replica's live pod. Wait until it is gone.
                self.wait_gone_deadline = now_ms.saturating_add(self.opts.tuning.pod_gone_wait_ms);
                self.read_leftover_pod();
            }
            Err(err) => {
                if !err.is_not_found() {
                    let name = self.pod_name.clone();
                    self.warn(format!("[sandbox.k8s] delete pod {name} failed: {err}"));
                }
                self.replace_secret(now_ms);
            }
        }
    }

    fn read_leftover_pod(&mut self) {
        self.issue(Purpose::WaitGoneReadPod, Call::ReadPod { name: self.pod_name.clone() });
    }

    pub(crate) fn on_wait_gone_read_pod(&mut self, reply: Reply, now_ms: i64) {
        match reply {
            Err(err) if err.is_not_found() => self.replace_secret(now_ms),
            // Still there (or unknown): look again, within the bound.
            _ if self.aborted => self.respond_cancelled_empty(now_ms),
            _ if now_ms >= self.wait_gone_deadline => self.replace_secret(now_ms),
            _ => self
                .set_timer(now_ms.saturating_add(POLL_INTERVAL_MS as i64), TimerKind::WaitGoneTick),
        }
    }

    pub(crate) fn on_wait_gone_tick(&mut self, now_ms: i64) {
        if self.stage != crate::types::Stage::Preparing {
            return;
        }
        if now_ms >= self.wait_gone_deadline {
            self.replace_secret(now_ms);
        } else {
            self.read_leftover_pod();
        }
    }

    /// §1.4 step 5: an unconditional PUT.
    fn replace_secret(&mut self, now_ms: i64) {
        if self.aborted {
            self.respond_cancelled_empty(now_ms);
            return;
        }
        let call =
            Call::ReplaceSecret { name: self.secret_name.clone(), secret: self.secret_body() };
        self.issue(Purpose::ReplaceSecret, call);
    }

    pub(crate) fn on_replace_secret(&mut self, reply: Reply, now_ms: i64) {
        match reply {
            Ok(_) => {
                self.secret_owned = true;
                self.create_pod(now_ms);
            }
            // Not owned: nothing is deleted (§1.4 step 5).
            Err(err) => self.fail_internal(&err.message, now_ms),
        }
    }

    /// §1.2 step 8.
    fn create_pod(&mut self, now_ms: i64) {
        if self.aborted {
            self.respond_cancelled_empty(now_ms);
            return;
        }
        let input = SandboxPodInput::from_request(
            &self.req,
            self.cfg.variant,
            self.opts.started_at_ms,
            self.cache.clone(),
        );
        let pod = input
            .map_err(|e| e.to_string())
            .and_then(|input| build_sandbox_pod(&self.cfg, &input).map_err(|e| e.to_string()));
        match pod {
            Ok(pod) => self.issue(Purpose::CreatePod, Call::CreatePod(Box::new(pod))),
            // A builder rejection is thrown inside the TypeScript's try: an internal error,
            // and the Secret is deleted.
            Err(message) => self.fail_internal(&message, now_ms),
        }
    }

    pub(crate) fn on_create_pod(&mut self, reply: Reply, now_ms: i64) {
        match reply {
            Ok(_) => {
                self.pod_created = true;
                if self.aborted {
                    self.respond_cancelled_empty(now_ms);
                } else {
                    self.start_startup(now_ms);
                }
            }
            Err(err) if err.is_conflict() => {
                // Another replica won the race for this id; the Secret content is the same and
                // its owner deletes it: no cleanup at all.
                self.secret_owned = false;
                let message = pod_conflict_message(&self.req.execution_id);
                self.respond_error(&message, now_ms);
            }
            Err(err) => self.fail_internal(&err.message, now_ms),
        }
    }

    /// An abort before the Pod exists: if a call is in flight — or between two attempts of
    /// its `withRetry`, whose sleep is not abortable in the TypeScript — its reply decides
    /// (ownership, or a live duplicate, which is reported as such); the reply handlers
    /// check `aborted`. Otherwise (the W16 wait timer) answer now.
    pub(crate) fn abort_preparation(&mut self, now_ms: i64) {
        let retrying = self
            .timers
            .iter()
            .any(|t| matches!(&t.kind, TimerKind::Retry { purpose, .. } if purpose.is_preparing()));
        let in_flight = retrying || self.calls.values().any(|p| p.purpose.is_preparing());
        if !in_flight {
            self.respond_cancelled_empty(now_ms);
        }
    }
}
