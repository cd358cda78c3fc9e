//! Shared helpers of the integration tests: an embedded test cluster, a backend
//! pointed at it through a kubeconfig file, sandbox-shaped requests and objects.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Secret};
use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::pod::{SandboxPodInput, build_sandbox_pod};
use tale_sandbox_contract::secret::build_exec_secret;
use tale_sandbox_contract::wire::ExecuteRequest;
use tale_sandbox_execute::{ClientOptions, KubeApi, KubernetesBackend};
use tale_sandbox_testcluster::{ClusterConfig, MetricsSnapshot, TestCluster};

/// The namespace every test uses (the config default).
pub const NS: &str = "tale-sandbox";

/// A running cluster and a backend talking to it.
pub struct Harness {
    pub cluster: TestCluster,
    pub backend: KubernetesBackend,
    pub cfg: SpawnerConfig,
    kubeconfig: PathBuf,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A name unique within this test process.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Logs of the code under test go to the test output (shown on failure).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
}

impl Harness {
    /// A cluster with `config` and a backend with the default config.
    pub async fn start(config: ClusterConfig) -> Harness {
        Self::start_with(config, SpawnerConfig::default()).await
    }

    /// A cluster with `config` and a backend with `cfg`, built the way production
    /// builds it (a kubeconfig file through `ClientOptions`).
    pub async fn start_with(config: ClusterConfig, cfg: SpawnerConfig) -> Harness {
        init_tracing();
        let cluster = TestCluster::start(config).await.expect("cluster starts");
        let kubeconfig = std::env::temp_dir().join(format!("{}.kubeconfig", unique("tale-exec")));
        cluster.write_kubeconfig(&kubeconfig).expect("kubeconfig written");
        let options = ClientOptions { kubeconfig: Some(kubeconfig.clone()), ..Default::default() };
        let backend =
            KubernetesBackend::new_with_env(cfg.clone(), options, |_| None).await.expect("backend");
        Harness { cluster, backend, cfg, kubeconfig }
    }

    /// A second backend on the same cluster (another replica).
    pub async fn replica(&self) -> KubernetesBackend {
        let options =
            ClientOptions { kubeconfig: Some(self.kubeconfig.clone()), ..Default::default() };
        KubernetesBackend::new_with_env(self.cfg.clone(), options, |_| None).await.expect("backend")
    }

    pub fn api(&self) -> &KubeApi {
        self.backend.api()
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.cluster.metrics()
    }

    /// Waits (bounded) until the cluster has no pod and no secret left.
    pub async fn assert_cleaned_up(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let m = self.metrics();
            if m.live_pods == 0 && m.live_secrets == 0 {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("left behind: {} pods, {} secrets", m.live_pods, m.live_secrets);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Number of requests the cluster answered on `route` with `code` (any code when `None`).
    pub fn requests(&self, route: &str, code: Option<u16>) -> u64 {
        self.metrics()
            .requests
            .iter()
            .filter(|r| r.route == route && code.is_none_or(|c| r.code == c))
            .map(|r| r.count)
            .sum()
    }
}

/// A single-script python request.
pub fn request(execution_id: &str) -> ExecuteRequest {
    ExecuteRequest::from_json(&format!(
        r#"{{"executionId":"{execution_id}","organizationId":"org-1","language":"python","entryPath":"main.py",
            "outputUploadSlots":[],"outputUrlEndpoint":"http://platform/ep1","reportUploadedEndpoint":"http://platform/ep2"}}"#
    ))
    .expect("valid request")
}

/// The pod `execute` would create for `execution_id`, started at `started_at_ms`.
pub fn sandbox_pod(cfg: &SpawnerConfig, execution_id: &str, started_at_ms: i64) -> Pod {
    let req = request(execution_id);
    let input =
        SandboxPodInput::from_request(&req, cfg.variant, started_at_ms, None).expect("input");
    build_sandbox_pod(cfg, &input).expect("pod")
}

/// The Secret `execute` would create for `execution_id`.
pub fn sandbox_secret(cfg: &SpawnerConfig, execution_id: &str, started_at_ms: i64) -> Secret {
    build_exec_secret(cfg, &request(execution_id), 30_000.0, started_at_ms)
}
