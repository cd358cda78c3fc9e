//! An embedded Kubernetes test cluster: a real HTTP server speaking the Kubernetes REST API for the
//! resources the sandbox service uses (pods, `pods/log`, secrets, PVCs, discovery), with a simulated
//! kubelet behind it whose container logs follow the kubelet's real behaviour (CRI records, 16 KiB
//! partial lines, periodic rotation, follow streams across rotation) via [`tale_sandbox_kubelet_logs`].
//!
//! Three ways to use it:
//! - in-process from Rust tests: [`TestCluster::start`] on an ephemeral port, then
//!   [`TestCluster::kube_client`] or [`TestCluster::kubeconfig`];
//! - as a binary: `tale-testcluster --port 8080 --kubeconfig /tmp/kubeconfig`, then
//!   `kubectl --kubeconfig /tmp/kubeconfig get pods`;
//! - from Node tests: spawn the binary and read the `listening on` line it prints.
//!
//! What each pod does is a [`Scenario`] (set per execution id — the pod annotation
//! `tale.dev/execution-id` — or as the default), and faults are injected per route by a seeded
//! [`FaultPlan`]. [`MetricsSnapshot`] counts requests, log bytes served and live objects.
//!
//! This crate never depends on the service's own crates: it is the independent truth they are tested
//! against.
#![warn(missing_docs)]

mod api;
mod config;
mod faults;
mod kubelet;
mod metrics;
mod scenario;
mod selector;
mod server;
mod sim;
mod state;
mod store;

use std::path::Path;
use std::sync::Arc;

use tale_sandbox_kubelet_logs::Stream;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use api::KUBERNETES_VERSION;
pub use config::ClusterConfig;
pub use faults::{Fault, FaultPlan, FaultRule};
pub use metrics::{FaultCount, LogBytes, MetricsSnapshot, RequestCount};
pub use scenario::{
    ContainerExit, HarvestScenario, InitScenario, LineSpec, OutputStep, OutputStream, RESULT_MARKER, RepeatStep,
    RunnerScenario, STARTED_MARKER, Scenario, Waiting, WriteStep,
};
pub use selector::{FieldSelector, LabelSelector};
pub use sim::{ContainerLogInfo, RotatedFileInfoJson, SimError};
pub use state::EXECUTION_ID_ANNOTATION;
pub use tale_sandbox_kubelet_logs as kubelet_logs;

use state::Shared;

/// Why the cluster could not start.
#[derive(Debug)]
pub enum StartError {
    /// The configuration is inconsistent.
    Config(String),
    /// The listener could not be bound.
    Bind(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(why) => write!(f, "invalid test cluster configuration: {why}"),
            StartError::Bind(e) => write!(f, "cannot listen on 127.0.0.1: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A running test cluster. Dropping it shuts it down (connections close, log streams end).
pub struct TestCluster {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    port: u16,
    tasks: Vec<JoinHandle<()>>,
}

fn validate(config: &ClusterConfig) -> Result<(), StartError> {
    tale_sandbox_kubelet_logs::ContainerLog::new(config.log).map_err(|e| StartError::Config(e.to_string()))?;
    config.faults.validate().map_err(StartError::Config)?;
    config.default_scenario.validate().map_err(StartError::Config)?;
    if config.rotation_period.is_zero() {
        return Err(StartError::Config("rotation_period must be positive".into()));
    }
    if let Some(token) = &config.token
        && (token.is_empty() || token.chars().any(char::is_whitespace)) {
            return Err(StartError::Config("token must be non-empty and without whitespace".into()));
        }
    Ok(())
}

impl TestCluster {
    /// Starts a cluster on 127.0.0.1 (port from the config; 0 = ephemeral) on the current tokio runtime.
    pub async fn start(config: ClusterConfig) -> Result<TestCluster, StartError> {
        validate(&config)?;
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await.map_err(StartError::Bind)?;
        let port = listener.local_addr().map_err(StartError::Bind)?.port();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared::new(config, shutdown_rx, format!("http://127.0.0.1:{port}")));
        let router = api::router(shared.clone());
        let tasks = vec![
            tokio::spawn(server::serve(listener, router, shared.clone())),
            tokio::spawn(kubelet::rotation_monitor(shared.clone())),
        ];
        Ok(TestCluster { shared, shutdown, port, tasks })
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The API server URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.shared.address
    }

    /// The configuration the cluster runs with.
    pub fn config(&self) -> &ClusterConfig {
        &self.shared.config
    }

    /// A kubeconfig (JSON, which every YAML kubeconfig reader accepts) with one cluster `tale-testcluster`
    /// (plain HTTP, marked `insecure-skip-tls-verify` because @kubernetes/client-node requires that for
    /// `http://` servers), one user (with the bearer token if configured) and a current context in the
    /// default namespace.
    pub fn kubeconfig(&self) -> String {
        let mut user = serde_json::json!({});
        if let Some(token) = &self.shared.config.token {
            user["token"] = serde_json::Value::String(token.clone());
        }
        let config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            // Plain HTTP: `insecure-skip-tls-verify` changes nothing for kubectl or kube-rs, but
            // @kubernetes/client-node refuses an http server without it.
            "clusters": [{"name": "tale-testcluster", "cluster": {"server": self.url(), "insecure-skip-tls-verify": true}}],
            "users": [{"name": "tale-testcluster", "user": user}],
            "contexts": [{"name": "tale-testcluster", "context": {
                "cluster": "tale-testcluster", "user": "tale-testcluster",
                "namespace": self.shared.config.default_namespace}}],
            "current-context": "tale-testcluster",
        });
        serde_json::to_string_pretty(&config).unwrap_or_default()
    }

    /// Writes [`TestCluster::kubeconfig`] to `path`.
    pub fn write_kubeconfig(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// A `kube::Client` for this cluster, built from [`TestCluster::kubeconfig`].
    pub async fn kube_client(&self) -> Result<kube::Client, Box<dyn std::error::Error + Send + Sync>> {
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&self.kubeconfig())?;
        let options = kube::config::KubeConfigOptions::default();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// Sets the scenario for pods annotated with `tale.dev/execution-id: <execution_id>` (pods created
    /// from now on).
    pub fn set_scenario(&self, execution_id: &str, scenario: Scenario) -> Result<(), SimError> {
        self.shared.sim_set_scenario(execution_id, scenario)
    }

    /// Sets the scenario for pods without a scenario of their own.
    pub fn set_default_scenario(&self, scenario: Scenario) -> Result<(), SimError> {
        self.shared.sim_set_default_scenario(scenario)
    }

    /// Replaces the fault plan (and restarts its random sequence from the plan's seed).
    pub fn set_faults(&self, plan: FaultPlan) -> Result<(), SimError> {
        self.shared.sim_set_faults(plan)
    }

    /// All counters now.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.sim_metrics()
    }

    /// The state of a container's log files.
    pub fn log_info(&self, namespace: &str, pod: &str, container: &str) -> Result<ContainerLogInfo, SimError> {
        self.shared.sim_log_info(namespace, pod, container)
    }

    /// Everything the container wrote, as the log API renders it without timestamps, across rotations.
    pub fn true_stream(&self, namespace: &str, pod: &str, container: &str) -> Result<Vec<u8>, SimError> {
        self.shared.sim_true_stream(namespace, pod, container)
    }

    /// Rotates the container's log now, whatever its size.
    pub fn rotate_log(&self, namespace: &str, pod: &str, container: &str) -> Result<(), SimError> {
        self.shared.sim_rotate(namespace, pod, container)
    }

    /// Makes a running container write `bytes` (one pipe write).
    pub fn write_log(&self, namespace: &str, pod: &str, container: &str, stream: Stream, bytes: &[u8]) -> Result<(), SimError> {
        self.shared.sim_write(namespace, pod, container, stream, bytes)
    }

    /// Kills a container (e.g. exit 137, `OOMKilled`).
    pub fn kill_container(&self, namespace: &str, pod: &str, container: &str, exit: ContainerExit) -> Result<(), SimError> {
        self.shared.sim_kill(namespace, pod, container, exit)
    }

    /// Evicts a pod now.
    pub fn evict(&self, namespace: &str, pod: &str, message: Option<String>) -> Result<(), SimError> {
        self.shared.sim_evict(namespace, pod, message)
    }

    /// Releases the pod's `WaitRelease { name }` output steps.
    pub fn release(&self, namespace: &str, pod: &str, name: &str) -> Result<(), SimError> {
        self.shared.sim_release(namespace, pod, name)
    }

    /// Stops serving: the listener closes, open connections and streams end, pods stop.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
        let runtimes: Vec<_> = self.shared.store().pods.values().map(|e| e.runtime.clone()).collect();
        for runtime in runtimes {
            runtime.abort();
        }
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.shutdown();
        for task in &self.tasks {
            task.abort();
        }
    }
}
