//! Control of the simulation: scenarios, faults, metrics and direct actions on pods and container
//! logs (rotate, write, kill, evict, release). The in-process Rust API ([`crate::TestCluster`]) calls
//! these directly; the HTTP control endpoints (`/sim/v1/...`, in `api::control`) translate to them.
//! Nothing here knows HTTP.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tale_sandbox_kubelet_logs::{RotatedFileInfo, Stream};

use crate::faults::{FaultInjector, FaultPlan};
use crate::log_requests::{LogRotation, PodLogRequests};
use crate::metrics::MetricsSnapshot;
use crate::runtime::{ContainerRuntime, PodRuntime, StopReason};
use crate::scenario::{ContainerExit, Scenario};
use crate::state::Shared;
use crate::util::lock;

/// Why a simulation action could not be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// No pod with that namespace and name.
    NoSuchPod(String),
    /// The pod has no container of that name.
    NoSuchContainer(String),
    /// The container has already exited (its log no longer changes).
    ContainerExited(String),
    /// The request itself is malformed.
    Invalid(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::NoSuchPod(name) => write!(f, "no pod {name}"),
            SimError::NoSuchContainer(name) => write!(f, "no container {name}"),
            SimError::ContainerExited(name) => write!(f, "container {name} has exited"),
            SimError::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SimError {}

/// The state of one container's log files, for tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerLogInfo {
    /// Generation of the current `0.log` (= rotations so far).
    pub generation: u64,
    /// Size of the current `0.log` in bytes (CRI format).
    pub current_size: u64,
    /// Records in the current `0.log`.
    pub current_records: usize,
    /// Rotated files still kept.
    pub rotated_files: Vec<RotatedFileInfoJson>,
    /// Length of the true stream (everything the container wrote, as rendered without timestamps).
    pub true_stream_bytes: u64,
    /// Whether the container has exited.
    pub exited: bool,
    /// When it exited, RFC 3339 with nanoseconds (the pod status's `finishedAt` has seconds
    /// only): for measuring how soon a client noticed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited_at: Option<String>,
    /// Records at the end of rotated files that no read of the log API served, before or after
    /// their rotation (a follow stream open across a rotation drains its old file): nothing a
    /// client of the log API can ever see.
    #[serde(default)]
    pub unserved_records: u64,
    /// Those records' bytes, as the true stream counts them.
    #[serde(default)]
    pub unserved_bytes: u64,
}

/// [`RotatedFileInfo`] as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotatedFileInfoJson {
    /// Generation the file had while current.
    pub generation: u64,
    /// Size in bytes (CRI format, as on the node's disk).
    pub size: u64,
    /// CRI records in the file (a partial line counts as one record per piece).
    pub records: usize,
}

impl From<RotatedFileInfo> for RotatedFileInfoJson {
    fn from(info: RotatedFileInfo) -> Self {
        RotatedFileInfoJson { generation: info.generation, size: info.size, records: info.records }
    }
}

impl Shared {
    fn pod_runtime(&self, namespace: &str, pod: &str) -> Result<Arc<PodRuntime>, SimError> {
        let store = self.store();
        let entry = store
            .pods
            .get(&(namespace.to_string(), pod.to_string()))
            .ok_or_else(|| SimError::NoSuchPod(pod.to_string()))?;
        Ok(entry.runtime.clone())
    }

    fn container_runtime(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<Arc<ContainerRuntime>, SimError> {
        self.pod_runtime(namespace, pod)?
            .container(container)
            .cloned()
            .ok_or_else(|| SimError::NoSuchContainer(container.to_string()))
    }

    pub(crate) fn sim_set_scenario(
        &self,
        execution_id: &str,
        scenario: Scenario,
    ) -> Result<(), SimError> {
        scenario.validate().map_err(SimError::Invalid)?;
        lock(&self.scenarios).insert(execution_id.to_string(), scenario);
        Ok(())
    }

    pub(crate) fn sim_set_default_scenario(&self, scenario: Scenario) -> Result<(), SimError> {
        scenario.validate().map_err(SimError::Invalid)?;
        *lock(&self.default_scenario) = scenario;
        Ok(())
    }

    pub(crate) fn sim_set_faults(&self, plan: FaultPlan) -> Result<(), SimError> {
        plan.validate().map_err(SimError::Invalid)?;
        *lock(&self.faults) = FaultInjector::new(plan);
        Ok(())
    }

    pub(crate) fn sim_metrics(&self) -> MetricsSnapshot {
        let (pods, secrets, pvcs) = {
            let store = self.store();
            (store.pods.len(), store.secrets.len(), store.pvcs.len())
        };
        self.metrics.snapshot(pods, secrets, pvcs)
    }

    pub(crate) fn sim_log_info(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<ContainerLogInfo, SimError> {
        let container = self.container_runtime(namespace, pod, container)?;
        let (unserved_records, unserved_bytes) = container.unserved();
        Ok(container.with_log(|log| ContainerLogInfo {
            generation: log.generation(),
            current_size: log.current_size(),
            current_records: log.current_len(),
            rotated_files: log.rotated_files().into_iter().map(Into::into).collect(),
            true_stream_bytes: log.true_stream_len(),
            exited: log.is_exited(),
            exited_at: log.exited_at().map(|t| t.to_rfc3339_nanos()),
            unserved_records,
            unserved_bytes,
        }))
    }

    /// The `pods/log` requests of a pod (also once it is gone), with its containers' rotations
    /// and exits while it is still known.
    pub(crate) fn sim_log_requests(&self, namespace: &str, pod: &str) -> PodLogRequests {
        let key = (namespace.to_string(), pod.to_string());
        let (requests, dropped) = self.log_requests.of(&key);
        let mut out = PodLogRequests { requests, dropped, ..PodLogRequests::default() };
        if let Ok(runtime) = self.pod_runtime(namespace, pod) {
            for container in &runtime.containers {
                for (generation, records, at_ms) in container.rotations() {
                    out.rotations.push(LogRotation {
                        container: container.name.clone(),
                        generation,
                        records,
                        at_ms,
                    });
                }
                if let Some(at) = container.with_log(|log| log.exited_at()) {
                    out.exits.insert(container.name.clone(), at.as_unix_nanos() as f64 / 1e6);
                }
            }
            out.rotations.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms));
        }
        out
    }

    pub(crate) fn sim_true_stream(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<Vec<u8>, SimError> {
        let container = self.container_runtime(namespace, pod, container)?;
        container.with_log(|log| log.true_stream().map(<[u8]>::to_vec)).ok_or_else(|| {
            SimError::Invalid(
                "the cluster keeps no log history (log.keep_history is off)".to_string(),
            )
        })
    }

    pub(crate) fn sim_rotate(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<(), SimError> {
        let runtime = self.container_runtime(namespace, pod, container)?;
        if runtime.rotate_now() {
            Ok(())
        } else {
            Err(SimError::ContainerExited(container.to_string()))
        }
    }

    pub(crate) fn sim_write(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        stream: Stream,
        bytes: &[u8],
    ) -> Result<(), SimError> {
        let runtime = self.container_runtime(namespace, pod, container)?;
        if runtime.with_log(|log| log.is_exited()) {
            return Err(SimError::ContainerExited(container.to_string()));
        }
        runtime.write(stream, bytes);
        Ok(())
    }

    pub(crate) fn sim_kill(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        exit: ContainerExit,
    ) -> Result<(), SimError> {
        self.container_runtime(namespace, pod, container)?.request_kill(exit);
        Ok(())
    }

    pub(crate) fn sim_evict(
        &self,
        namespace: &str,
        pod: &str,
        message: Option<String>,
    ) -> Result<(), SimError> {
        let message =
            message.unwrap_or_else(|| "The node was low on resource: memory. ".to_string());
        self.pod_runtime(namespace, pod)?.stop(StopReason::Evicted(message));
        Ok(())
    }

    pub(crate) fn sim_release(
        &self,
        namespace: &str,
        pod: &str,
        name: &str,
    ) -> Result<(), SimError> {
        self.pod_runtime(namespace, pod)?.release(name);
        Ok(())
    }
}
