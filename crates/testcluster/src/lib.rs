//! An embedded Kubernetes test cluster: a real HTTPS server speaking the Kubernetes REST API for the
//! resources the sandbox service uses (pods, `pods/log`, secrets, PVCs, discovery), with a simulated
//! kubelet behind it whose container logs follow the kubelet's real behaviour (CRI records, 16 KiB
//! partial lines, periodic rotation, follow streams across rotation) via [`tale_sandbox_kubelet_logs`].
//!
//! Like a real API server it serves TLS with a certificate of its own CA (made at start, see
//! [`TestCluster::ca_pem`]) and, when configured with a token, refuses requests without it; plain HTTP
//! is one setting away ([`ClusterConfig::plain_http`], `--insecure-http`).
//!
//! Three ways to use it:
//! - in-process from Rust tests: [`TestCluster::start`] on an ephemeral port, then
//!   [`TestCluster::kube_client`] or [`TestCluster::kubeconfig`] (which carries the CA and the token);
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
#![forbid(unsafe_code)]

// The modules form layers: each uses only those listed before it, never one after it.
// Leaves: `util` (key, locking, clocks), `selector`, `scenario`, `faults`, `tls`, then `config`.
mod config;
mod faults;
mod scenario;
mod selector;
mod tls;
mod util;
// Counters and the log route's request log, then what the kubelet holds per pod, the store keeping it with the objects, and the state
// one cluster shares.
mod log_requests;
mod metrics;
mod runtime;
mod state;
mod store;
// What acts on the state: the kubelet, the control actions, the HTTP API, the accept loop.
mod api;
mod kubelet;
mod server;
mod sim;

use std::path::Path;
use std::sync::Arc;

use tale_sandbox_kubelet_logs::Stream;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use api::KUBERNETES_VERSION;
pub use config::ClusterConfig;
pub use faults::{Fault, FaultPlan, FaultRule};
pub use log_requests::{LogRequest, LogRequestEnd, LogRotation, PodLogRequests};
pub use metrics::{FaultCount, FollowSkip, LogBytes, MetricsSnapshot, RequestCount};
pub use scenario::{
    ContainerExit, HarvestScenario, InitScenario, LineSpec, OutputStep, OutputStream,
    RESULT_MARKER, RepeatStep, RunnerScenario, STARTED_MARKER, Scenario, Waiting, WriteStep,
};
pub use selector::{FieldSelector, LabelSelector};
pub use sim::{ContainerLogInfo, RotatedFileInfoJson, SimError};
pub use state::EXECUTION_ID_ANNOTATION;
pub use tale_sandbox_kubelet_logs as kubelet_logs;

use state::Shared;
use tls::TlsIdentity;

/// Why the cluster could not start.
#[derive(Debug)]
pub enum StartError {
    /// The configuration is inconsistent.
    Config(String),
    /// The listener could not be bound.
    Bind(std::io::Error),
    /// The CA or the server certificate could not be made.
    Tls(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(why) => write!(f, "invalid test cluster configuration: {why}"),
            StartError::Bind(e) => write!(f, "cannot listen on 127.0.0.1: {e}"),
            StartError::Tls(why) => write!(f, "cannot set up TLS: {why}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A running test cluster. Dropping it shuts it down (connections close, log streams end).
pub struct TestCluster {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    port: u16,
    /// `None` when the cluster serves plain HTTP.
    tls: Option<TlsIdentity>,
    tasks: Vec<JoinHandle<()>>,
}

fn validate(config: &ClusterConfig) -> Result<(), StartError> {
    tale_sandbox_kubelet_logs::ContainerLog::new(config.log)
        .map_err(|e| StartError::Config(e.to_string()))?;
    config.faults.validate().map_err(StartError::Config)?;
    config.default_scenario.validate().map_err(StartError::Config)?;
    if config.rotation_period.is_zero() {
        return Err(StartError::Config("rotation_period must be positive".into()));
    }
    if let Some(token) = &config.token
        && (token.is_empty() || token.chars().any(char::is_whitespace))
    {
        return Err(StartError::Config("token must be non-empty and without whitespace".into()));
    }
    Ok(())
}

impl TestCluster {
    /// Starts a cluster on 127.0.0.1 (port from the config; 0 = ephemeral) on the current tokio runtime.
    /// Unless [`ClusterConfig::plain_http`] is set, it first makes a new CA and a server certificate
    /// for `127.0.0.1`, `::1` and `localhost`, and serves HTTPS.
    pub async fn start(config: ClusterConfig) -> Result<TestCluster, StartError> {
        validate(&config)?;
        let tls = if config.plain_http {
            None
        } else {
            Some(TlsIdentity::generate().map_err(StartError::Tls)?)
        };
        let listener =
            TcpListener::bind(("127.0.0.1", config.port)).await.map_err(StartError::Bind)?;
        let port = listener.local_addr().map_err(StartError::Bind)?.port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared =
            Arc::new(Shared::new(config, shutdown_rx, format!("{scheme}://127.0.0.1:{port}")));
        let router = api::router(shared.clone());
        let acceptor = tls.as_ref().map(TlsIdentity::acceptor);
        let tasks = vec![
            tokio::spawn(server::serve(listener, router, shared.clone(), acceptor)),
            tokio::spawn(kubelet::rotation_monitor(shared.clone())),
        ];
        Ok(TestCluster { shared, shutdown, port, tls, tasks })
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The API server URL: `https://127.0.0.1:<port>`, or `http://...` with [`ClusterConfig::plain_http`].
    pub fn url(&self) -> &str {
        &self.shared.address
    }

    /// The PEM certificate of the cluster's own CA, which signed its server certificate; `None` over plain
    /// HTTP. Write it to a file for `kubectl --certificate-authority`, `SANDBOX_K8S_CAFILE` or
    /// `NODE_EXTRA_CA_CERTS` (the kubeconfig already carries it).
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(TlsIdentity::ca_pem)
    }

    /// Writes [`TestCluster::ca_pem`] to `path`; an error over plain HTTP, where there is no CA.
    pub fn write_ca_file(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let pem = self
            .ca_pem()
            .ok_or_else(|| std::io::Error::other("the cluster serves plain HTTP: it has no CA"))?;
        std::fs::write(path, pem)
    }

    /// A rustls client configuration that trusts the cluster's CA (and nothing else), for raw HTTPS
    /// requests (`tokio_rustls::TlsConnector::from(config)`, server name `127.0.0.1`); `None` over plain
    /// HTTP.
    pub fn tls_client_config(&self) -> Option<Arc<rustls::ClientConfig>> {
        // Built from a CA this process generated and just validated: it cannot fail in practice.
        self.tls.as_ref().and_then(|tls| tls.client_config().ok())
    }

    /// The configuration the cluster runs with.
    pub fn config(&self) -> &ClusterConfig {
        &self.shared.config
    }

    /// A kubeconfig (JSON, which every YAML kubeconfig reader accepts) with one cluster `tale-testcluster`
    /// (its URL and, over TLS, the CA as `certificate-authority-data`), one user (with the bearer token
    /// if configured) and a current context in the default namespace.
    pub fn kubeconfig(&self) -> String {
        use base64::Engine as _;
        let mut user = serde_json::json!({});
        if let Some(token) = &self.shared.config.token {
            user["token"] = serde_json::Value::String(token.clone());
        }
        let cluster = match self.ca_pem() {
            Some(ca) => serde_json::json!({
                "server": self.url(),
                "certificate-authority-data": base64::engine::general_purpose::STANDARD.encode(ca),
            }),
            // Plain HTTP: `insecure-skip-tls-verify` changes nothing for kubectl or kube-rs, but
            // @kubernetes/client-node refuses an http server without it.
            None => serde_json::json!({"server": self.url(), "insecure-skip-tls-verify": true}),
        };
        let config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "tale-testcluster", "cluster": cluster}],
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

    /// A `kube::Client` for this cluster, built from [`TestCluster::kubeconfig`]: over TLS it trusts the
    /// cluster's CA, and it sends the token if one is configured.
    pub async fn kube_client(
        &self,
    ) -> Result<kube::Client, Box<dyn std::error::Error + Send + Sync>> {
        // kube's rustls connector uses the process-wide provider: make sure there is one (this crate
        // builds rustls with `ring` only; an already installed provider is kept).
        let _ = rustls::crypto::ring::default_provider().install_default();
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

    /// A snapshot of every counter and the live object counts (what `GET /sim/v1/metrics` returns).
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.sim_metrics()
    }

    /// The state of a container's log files.
    pub fn log_info(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<ContainerLogInfo, SimError> {
        self.shared.sim_log_info(namespace, pod, container)
    }

    /// The pod's `pods/log` requests, with its containers' rotations and exits (what
    /// `GET /sim/v1/namespaces/{ns}/pods/{pod}/log-requests` returns): kept also once the pod is
    /// gone, for telling afterwards which reads a client made and how each ended.
    pub fn log_requests(&self, namespace: &str, pod: &str) -> PodLogRequests {
        self.shared.sim_log_requests(namespace, pod)
    }

    /// Everything the container wrote, as the log API renders it without timestamps, across rotations.
    pub fn true_stream(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<Vec<u8>, SimError> {
        self.shared.sim_true_stream(namespace, pod, container)
    }

    /// Rotates the container's log now, whatever its size.
    pub fn rotate_log(&self, namespace: &str, pod: &str, container: &str) -> Result<(), SimError> {
        self.shared.sim_rotate(namespace, pod, container)
    }

    /// Makes a running container write `bytes` (one pipe write).
    pub fn write_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        stream: Stream,
        bytes: &[u8],
    ) -> Result<(), SimError> {
        self.shared.sim_write(namespace, pod, container, stream, bytes)
    }

    /// Kills a container (e.g. exit 137, `OOMKilled`).
    pub fn kill_container(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        exit: ContainerExit,
    ) -> Result<(), SimError> {
        self.shared.sim_kill(namespace, pod, container, exit)
    }

    /// Evicts a pod now.
    pub fn evict(
        &self,
        namespace: &str,
        pod: &str,
        message: Option<String>,
    ) -> Result<(), SimError> {
        self.shared.sim_evict(namespace, pod, message)
    }

    /// Releases the pod's `WaitRelease { name }` output steps.
    pub fn release(&self, namespace: &str, pod: &str, name: &str) -> Result<(), SimError> {
        self.shared.sim_release(namespace, pod, name)
    }

    /// Stops serving: the listener closes, open connections and streams end, pods stop.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
        let runtimes: Vec<_> =
            self.shared.store().pods.values().map(|e| e.runtime.clone()).collect();
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
