//! `KubernetesBackend`: the Kubernetes execution backend's public API (spec
//! §1.10–§1.12 and `execute`, §1.2), the Rust counterpart of the TypeScript
//! `K8sBackend`. Every decision about pods and secrets comes from the contract
//! crate; `execute` hands the request to the flow and its driver.

use std::sync::Arc;

use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::constants::ANNOTATION_EXECUTION_ID;
use tale_sandbox_contract::constants::SANDBOX_LABEL_SELECTOR;
use tale_sandbox_contract::names::{pod_name_for, secret_name_for};
use tale_sandbox_contract::reap::{SweepOptions, should_reap_pod, should_reap_secret};
use tale_sandbox_contract::wire::{ExecuteRequest, HealthResult};
use tale_sandbox_flow::{Execution, Tuning};
use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, KubeApi};
use crate::client::{ClientError, ClientOptions, make_client};
use crate::driver::{
    Callbacks, ExecuteOutcome, PhaseCallback, StdoutDeltaCallback, drive_recorded, now_ms,
};
use crate::record::record_path;

/// Why the backend could not be created or initialised.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// `init()` could not list pods (fatal at boot).
    #[error(
        "k8s backend init: cannot list pods in namespace {namespace} (check ServiceAccount RBAC + NODE_EXTRA_CA_CERTS for CA trust under Bun): {source}"
    )]
    Init {
        /// The namespace the backend works in.
        namespace: String,
        /// The failed list call.
        source: ApiError,
    },
    /// No Kubernetes client could be built.
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl BackendError {
    /// A stable code for callers that branch on the kind of failure
    /// (`K8S_INIT_FAILED`, `K8S_CLIENT_CONFIG`).
    pub fn code(&self) -> &'static str {
        match self {
            BackendError::Init { .. } => "K8S_INIT_FAILED",
            BackendError::Client(_) => "K8S_CLIENT_CONFIG",
        }
    }
}

/// The options of one `execute` call (spec §3.5 `ExecuteOptions`).
pub struct ExecuteOptions {
    /// The caller's abort signal (a local cancel).
    pub cancel: CancellationToken,
    /// Wall-clock epoch ms at which the dispatcher started the execution;
    /// drives `durationMs` and `timing`.
    pub started_at_ms: i64,
    /// `onPhase`.
    pub on_phase: Option<PhaseCallback>,
    /// `onStdoutDelta`.
    pub on_stdout_delta: Option<StdoutDeltaCallback>,
    /// The flow's own timing knobs (stream drain, reconnect backoff, ...).
    pub tuning: Tuning,
    /// Record the runner-log responses into this file (or `<dir>/<executionId>.record.json`
    /// for an existing directory); unset: the environment variable `TALE_SANDBOX_RECORD`
    /// decides, as a path of the same kind. Off by default. See [`crate::record`].
    pub record: Option<std::path::PathBuf>,
}

impl ExecuteOptions {
    /// A fresh cancellation token, no callbacks, default tuning.
    pub fn new(started_at_ms: i64) -> Self {
        ExecuteOptions {
            cancel: CancellationToken::new(),
            started_at_ms,
            on_phase: None,
            on_stdout_delta: None,
            tuning: Tuning::default(),
            record: None,
        }
    }
}

impl std::fmt::Debug for ExecuteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecuteOptions")
            .field("cancelled", &self.cancel.is_cancelled())
            .field("started_at_ms", &self.started_at_ms)
            .field("on_phase", &self.on_phase.is_some())
            .field("on_stdout_delta", &self.on_stdout_delta.is_some())
            .field("tuning", &self.tuning)
            .field("record", &self.record)
            .finish()
    }
}

/// The Kubernetes execution backend: one Pod and one Secret per execution in
/// `cfg.k8s.namespace`.
#[derive(Debug, Clone)]
pub struct KubernetesBackend {
    cfg: Arc<SpawnerConfig>,
    api: KubeApi,
}

impl KubernetesBackend {
    /// A backend with a client built from `options` and the process
    /// environment (spec §8.1).
    pub async fn new(cfg: SpawnerConfig, options: ClientOptions) -> Result<Self, BackendError> {
        Self::new_with_env(cfg, options, |name| std::env::var(name).ok()).await
    }

    /// Like [`KubernetesBackend::new`] with the environment given as a function.
    pub async fn new_with_env(
        cfg: SpawnerConfig,
        options: ClientOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, BackendError> {
        let client = make_client(&options, env).await?;
        Ok(Self::from_client(cfg, client))
    }

    /// A backend on an existing client. The client should have kube's retry
    /// layer switched off (`kube::Config::default_retry = false`, as
    /// [`make_client`] does): retries are the flow's decision.
    pub fn from_client(cfg: SpawnerConfig, client: kube::Client) -> Self {
        let api = KubeApi::new(client, &cfg.k8s.namespace).with_redacted(cfg.sandbox_token.clone());
        KubernetesBackend { cfg: Arc::new(cfg), api }
    }

    /// The backend on an existing [`KubeApi`] (e.g. with shorter timeouts).
    pub fn from_api(cfg: SpawnerConfig, api: KubeApi) -> Self {
        let api = api.with_redacted(cfg.sandbox_token.clone());
        KubernetesBackend { cfg: Arc::new(cfg), api }
    }

    /// `kind`: always `kubernetes`.
    pub fn kind(&self) -> &'static str {
        "kubernetes"
    }

    /// The backend's own configuration.
    pub fn config(&self) -> &SpawnerConfig {
        &self.cfg
    }

    /// The API layer the backend calls through.
    pub fn api(&self) -> &KubeApi {
        &self.api
    }

    /// `init()` (spec §1.12): checks that pods can be listed, then logs the
    /// egress reminder and, with Docker-in-container, the DinD warning.
    pub async fn init(&self) -> Result<(), BackendError> {
        self.api.list_pods(None, Some(1)).await.map_err(|source| BackendError::Init {
            namespace: self.cfg.k8s.namespace.clone(),
            source,
        })?;
        tracing::warn!(
            "[sandbox.k8s] egress isolation requires an operator-applied default-deny NetworkPolicy on tale.sandbox/role in (runtime, session) pods + the egress proxy; verify before running untrusted workloads."
        );
        if self.cfg.docker_in_container {
            tracing::warn!(
                "[sandbox.k8s] DOCKER-IN-CONTAINER enabled (tier={}): requires RuntimeClass '{}' installed on the nodes (sysbox-deploy-k8s / kata-deploy) + the in-pod egress fence; UNVALIDATED until the operator confirms node prereqs. Pod NetworkPolicy does not contain inner DinD egress.",
                runtime_tier_name(&self.cfg),
                // The TypeScript interpolates a missing class as `null`.
                self.cfg.k8s.runtime_class_name.as_deref().unwrap_or("null"),
            );
        }
        Ok(())
    }

    /// `health()` (spec §1.12): the same list call as `init`.
    pub async fn health(&self) -> HealthResult {
        match self.api.list_pods(None, Some(1)).await {
            Ok(_) => HealthResult::for_namespace(&self.cfg.k8s.namespace),
            Err(e) => HealthResult::Unhealthy { error: e.message },
        }
    }

    /// `warmImage()`: nothing to do, the kubelet pulls images per pod.
    pub async fn warm_image(&self) {}

    /// `shutdown()`: nothing to release. In-flight executions finish (or are
    /// cancelled) through their own tokens.
    pub async fn shutdown(&self) {}

    /// `execute(cfg, req, opts)` (spec §1.2): runs the request as a Pod and
    /// returns its response with a report. Never fails: execution-level
    /// failures are responses. `cfg` decides timeouts, caps and the Pod and
    /// Secret shapes; the backend's own config the cache mode and the
    /// abandoned-pod cutoff, as in the TypeScript.
    ///
    /// Dropping the future aborts the execution; its pod and Secret are still
    /// deleted, by a background task.
    pub async fn execute(
        &self,
        cfg: &SpawnerConfig,
        req: ExecuteRequest,
        opts: ExecuteOptions,
    ) -> ExecuteOutcome {
        let mut flow_options = tale_sandbox_flow::ExecuteOptions::new(opts.started_at_ms);
        flow_options.emit_phases = opts.on_phase.is_some();
        flow_options.emit_stdout_deltas = opts.on_stdout_delta.is_some();
        flow_options.tuning = opts.tuning;
        let record =
            record_path(opts.record.as_deref(), |name| std::env::var(name).ok(), &req.execution_id)
                .map(|path| (path, cfg.stdout_max_bytes));
        let exec = Execution::new(cfg, &self.cfg, req, flow_options, now_ms());
        let api = self.api.clone().with_redacted(cfg.sandbox_token.clone());
        let callbacks =
            Callbacks { on_phase: opts.on_phase, on_stdout_delta: opts.on_stdout_delta };
        drive_recorded(exec, api, opts.started_at_ms, opts.cancel, callbacks, record).await
    }

    /// `cancel(executionId)` (spec §1.10), the remote cancel: deletes the pod
    /// (true iff that DELETE succeeded), then the Secret.
    pub async fn cancel(&self, execution_id: &str) -> bool {
        let found = self.delete_pod(&pod_name_for(execution_id)).await;
        self.delete_secret(&secret_name_for(execution_id)).await;
        found
    }

    /// `sweepOrphans(opts)` (spec §1.11): deletes the pods and Secrets the
    /// contract's `should_reap_*` select; returns how many were selected
    /// (counted even when a delete failed, as in the TypeScript).
    pub async fn sweep_orphans(&self, opts: &SweepOptions<'_>) -> usize {
        let is_live = opts.is_live;
        self.sweep_orphans_with(opts.stale_before_ms, |ids| {
            std::future::ready(ids.iter().map(|id| is_live(id)).collect())
        })
        .await
    }

    /// [`Self::sweep_orphans`] with the liveness answered in batches, for a
    /// caller whose `isLive` cannot be called from the runtime (a JS function
    /// called on its own thread): after each list (pods, then Secrets),
    /// `live_batch` gets the `tale.dev/execution-id` of every listed object
    /// that has a name (`""` without one), in list order, and answers
    /// whether each is live. The reap decisions are still the contract's
    /// `should_reap_*`, asked with those answers. A missing answer counts as
    /// live (never reaped).
    pub async fn sweep_orphans_with<F, Fut>(&self, stale_before_ms: i64, mut live_batch: F) -> usize
    where
        F: FnMut(Vec<String>) -> Fut,
        Fut: std::future::Future<Output = Vec<bool>>,
    {
        let now = now_ms();
        let mut removed = 0;
        let pods = match self.api.list_pods(Some(SANDBOX_LABEL_SELECTOR), None).await {
            Ok(pods) => pods,
            Err(e) => {
                tracing::warn!("[sandbox.k8s] sweep pod list failed: {e}");
                return 0;
            }
        };
        let pods: Vec<_> = pods
            .iter()
            .filter_map(|pod| {
                let name = pod.metadata.name.as_deref().filter(|n| !n.is_empty())?;
                Some((name, pod))
            })
            .collect();
        let live =
            live_batch(pods.iter().map(|(_, pod)| execution_id_of(&pod.metadata)).collect()).await;
        for (i, (name, pod)) in pods.iter().enumerate() {
            let answer = live.get(i).copied().unwrap_or(true);
            let reap = should_reap_pod(
                pod,
                &SweepOptions { stale_before_ms, is_live: &|_: &str| answer },
                &self.cfg,
                now,
            );
            if !reap {
                continue;
            }
            self.delete_pod(name).await;
            let execution_id = execution_id_of(&pod.metadata);
            if !execution_id.is_empty() {
                self.delete_secret(&secret_name_for(&execution_id)).await;
            }
            removed += 1;
        }
        let secrets = match self.api.list_secrets(Some(SANDBOX_LABEL_SELECTOR)).await {
            Ok(secrets) => secrets,
            Err(e) => {
                tracing::warn!("[sandbox.k8s] sweep secret list failed: {e}");
                return removed;
            }
        };
        let secrets: Vec<_> = secrets
            .iter()
            .filter_map(|secret| {
                let name = secret.metadata.name.as_deref().filter(|n| !n.is_empty())?;
                Some((name, secret))
            })
            .collect();
        let live = live_batch(
            secrets.iter().map(|(_, secret)| execution_id_of(&secret.metadata)).collect(),
        )
        .await;
        for (i, (name, secret)) in secrets.iter().enumerate() {
            let answer = live.get(i).copied().unwrap_or(true);
            let reap = should_reap_secret(
                secret,
                &SweepOptions { stale_before_ms, is_live: &|_: &str| answer },
                &self.cfg,
                now,
            );
            if !reap {
                continue;
            }
            self.delete_secret(name).await;
            removed += 1;
        }
        removed
    }

    /// `deletePod`: true on success; 404 is silent, other errors are warned.
    async fn delete_pod(&self, name: &str) -> bool {
        match self.api.delete_pod(name).await {
            Ok(()) => true,
            Err(e) if e.is_not_found() => false,
            Err(e) => {
                tracing::warn!("[sandbox.k8s] delete pod {name} failed: {e}");
                false
            }
        }
    }

    /// `deleteSecret`: 404 is silent, other errors are warned.
    async fn delete_secret(&self, name: &str) {
        match self.api.delete_secret(name).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => tracing::warn!("[sandbox.k8s] delete secret {name} failed: {e}"),
        }
    }
}

/// The `tale.dev/execution-id` annotation of an object, `""` when absent (as
/// `annotations[...] ?? ''` reads it).
fn execution_id_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_EXECUTION_ID))
        .cloned()
        .unwrap_or_default()
}

/// `cfg.runtimeTier` as the TypeScript prints it.
fn runtime_tier_name(cfg: &SpawnerConfig) -> String {
    serde_json::to_value(cfg.runtime_tier)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
