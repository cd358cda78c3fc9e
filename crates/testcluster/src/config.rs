//! Settings of a test cluster: what [`crate::TestCluster::start`] and the `tale-testcluster` flags
//! configure. `ClusterConfig::default()` is a kubelet with its default log settings behind an API
//! server on an ephemeral port, over TLS, without a token.

use std::time::Duration;

use tale_sandbox_kubelet_logs::{DEFAULT_MAX_SIZE_BYTES, LogConfig};

use crate::faults::FaultPlan;
use crate::scenario::Scenario;

/// Everything that can be configured when a cluster starts. `Default` gives kubelet defaults.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Port on 127.0.0.1 (0 = an ephemeral port).
    pub port: u16,
    /// Serve plain HTTP instead of HTTPS (`--insecure-http`). By default the cluster makes a CA and a
    /// server certificate at start and serves TLS; over plain HTTP kubectl refuses to send a token.
    pub plain_http: bool,
    /// When set, every request except the `/sim/v1` control routes must carry
    /// `Authorization: Bearer <token>`; others get a 401 `Status` (as an apiserver with anonymous
    /// authentication off answers, `/version` and health checks included).
    pub token: Option<String>,
    /// Namespace written into kubeconfigs and used by [`crate::TestCluster::kube_client`].
    pub default_namespace: String,
    /// How container logs are written and kept (`containerLogMaxFiles` = `log.max_files`).
    pub log: LogConfig,
    /// `containerLogMonitorInterval`: how often the size of every running container's `0.log` is checked.
    pub rotation_period: Duration,
    /// `containerLogMaxSize`: a checked `0.log` at least this big is rotated.
    pub max_log_size: u64,
    /// `true` (kubelet ≥ 1.29): follow streams continue into the new file after a rotation; `false`:
    /// they stop receiving data and end when the container exits.
    pub follow_continues_after_rotation: bool,
    /// Model kubernetes#126564: bytes a follow stream had not read when its file rotated are lost.
    pub follow_loses_unread_on_rotation: bool,
    /// How long a deleted pod stays visible (with `deletionTimestamp`) before it disappears.
    pub termination_linger: Duration,
    /// The scenario for pods whose execution id has none.
    pub default_scenario: Scenario,
    /// Fault injection plan in force from the start.
    pub faults: FaultPlan,
    /// How many pod watch events are kept for watches that resume from a `resourceVersion`.
    pub watch_history: usize,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            port: 0,
            plain_http: false,
            token: None,
            default_namespace: "default".to_string(),
            log: LogConfig { keep_history: true, ..LogConfig::default() },
            rotation_period: Duration::from_secs(10),
            max_log_size: DEFAULT_MAX_SIZE_BYTES,
            follow_continues_after_rotation: true,
            follow_loses_unread_on_rotation: false,
            termination_linger: Duration::ZERO,
            default_scenario: Scenario::default(),
            faults: FaultPlan::default(),
            watch_history: 10_000,
        }
    }
}
