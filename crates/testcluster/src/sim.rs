//! Control of the simulation: scenarios, faults, metrics and direct actions on pods and container logs.
//! Shared by the HTTP control endpoints (`/sim/v1/...`) and the in-process Rust API.

use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tale_sandbox_kubelet_logs::{RotatedFileInfo, Stream};

use crate::api::common::{QueryParams, json, read_body};
use crate::api::status::ApiError;
use crate::faults::{FaultInjector, FaultPlan};
use crate::kubelet::{ContainerRuntime, PodRuntime, StopReason};
use crate::metrics::MetricsSnapshot;
use crate::scenario::{ContainerExit, Scenario};
use crate::state::{Shared, lock};

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

impl From<SimError> for ApiError {
    fn from(error: SimError) -> Self {
        match &error {
            SimError::NoSuchPod(name) => ApiError::not_found("pods", name),
            SimError::NoSuchContainer(_) | SimError::ContainerExited(_) | SimError::Invalid(_) => {
                ApiError::bad_request(error.to_string())
            }
        }
    }
}

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
}

/// [`RotatedFileInfo`] as JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotatedFileInfoJson {
    /// Generation the file had while current.
    pub generation: u64,
    /// Size in bytes.
    pub size: u64,
    /// Records.
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
        let entry = store.pods.get(&(namespace.to_string(), pod.to_string())).ok_or_else(|| SimError::NoSuchPod(pod.to_string()))?;
        Ok(entry.runtime.clone())
    }

    fn container_runtime(&self, namespace: &str, pod: &str, container: &str) -> Result<Arc<ContainerRuntime>, SimError> {
        self.pod_runtime(namespace, pod)?
            .container(container)
            .cloned()
            .ok_or_else(|| SimError::NoSuchContainer(container.to_string()))
    }

    pub(crate) fn sim_set_scenario(&self, execution_id: &str, scenario: Scenario) -> Result<(), SimError> {
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

    pub(crate) fn sim_log_info(&self, namespace: &str, pod: &str, container: &str) -> Result<ContainerLogInfo, SimError> {
        let container = self.container_runtime(namespace, pod, container)?;
        Ok(container.with_log(|log| ContainerLogInfo {
            generation: log.generation(),
            current_size: log.current_size(),
            current_records: log.current_len(),
            rotated_files: log.rotated_files().into_iter().map(Into::into).collect(),
            true_stream_bytes: log.true_stream_len(),
            exited: log.is_exited(),
        }))
    }

    pub(crate) fn sim_true_stream(&self, namespace: &str, pod: &str, container: &str) -> Result<Vec<u8>, SimError> {
        let container = self.container_runtime(namespace, pod, container)?;
        container
            .with_log(|log| log.true_stream().map(<[u8]>::to_vec))
            .ok_or_else(|| SimError::Invalid("the cluster keeps no log history (log.keep_history is off)".to_string()))
    }

    pub(crate) fn sim_rotate(&self, namespace: &str, pod: &str, container: &str) -> Result<(), SimError> {
        let runtime = self.container_runtime(namespace, pod, container)?;
        if runtime.rotate_now() { Ok(()) } else { Err(SimError::ContainerExited(container.to_string())) }
    }

    pub(crate) fn sim_write(&self, namespace: &str, pod: &str, container: &str, stream: Stream, bytes: &[u8]) -> Result<(), SimError> {
        let runtime = self.container_runtime(namespace, pod, container)?;
        if runtime.with_log(|log| log.is_exited()) {
            return Err(SimError::ContainerExited(container.to_string()));
        }
        runtime.write(stream, bytes);
        Ok(())
    }

    pub(crate) fn sim_kill(&self, namespace: &str, pod: &str, container: &str, exit: ContainerExit) -> Result<(), SimError> {
        self.container_runtime(namespace, pod, container)?.request_kill(exit);
        Ok(())
    }

    pub(crate) fn sim_evict(&self, namespace: &str, pod: &str, message: Option<String>) -> Result<(), SimError> {
        let message = message.unwrap_or_else(|| "The node was low on resource: memory. ".to_string());
        self.pod_runtime(namespace, pod)?.stop(StopReason::Evicted(message));
        Ok(())
    }

    pub(crate) fn sim_release(&self, namespace: &str, pod: &str, name: &str) -> Result<(), SimError> {
        self.pod_runtime(namespace, pod)?.release(name);
        Ok(())
    }
}

type SimResult = Result<Response, ApiError>;

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("invalid {what}: {e}")))
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /sim/v1/metrics`
pub(crate) async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    json(StatusCode::OK, &shared.sim_metrics())
}

/// `PUT /sim/v1/scenarios/{executionId}`
pub(crate) async fn put_scenario(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Body) -> SimResult {
    let scenario: Scenario = decode(&read_body(body).await?, "scenario")?;
    shared.sim_set_scenario(&id, scenario)?;
    Ok(no_content())
}

/// `GET /sim/v1/scenarios/{executionId}`
pub(crate) async fn get_scenario(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> SimResult {
    let scenario = lock(&shared.scenarios).get(&id).cloned();
    scenario.map(|s| json(StatusCode::OK, &s)).ok_or_else(|| ApiError::not_found("scenarios", &id))
}

/// `DELETE /sim/v1/scenarios/{executionId}`
pub(crate) async fn delete_scenario(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> SimResult {
    lock(&shared.scenarios).remove(&id).map(|_| no_content()).ok_or_else(|| ApiError::not_found("scenarios", &id))
}

/// `PUT /sim/v1/default-scenario`
pub(crate) async fn put_default_scenario(State(shared): State<Arc<Shared>>, body: Body) -> SimResult {
    let scenario: Scenario = decode(&read_body(body).await?, "scenario")?;
    shared.sim_set_default_scenario(scenario)?;
    Ok(no_content())
}

/// `GET /sim/v1/default-scenario`
pub(crate) async fn get_default_scenario(State(shared): State<Arc<Shared>>) -> Response {
    let scenario = lock(&shared.default_scenario).clone();
    json(StatusCode::OK, &scenario)
}

/// `PUT /sim/v1/faults`
pub(crate) async fn put_faults(State(shared): State<Arc<Shared>>, body: Body) -> SimResult {
    let plan: FaultPlan = decode(&read_body(body).await?, "fault plan")?;
    shared.sim_set_faults(plan)?;
    Ok(no_content())
}

/// `DELETE /sim/v1/faults`
pub(crate) async fn delete_faults(State(shared): State<Arc<Shared>>) -> SimResult {
    shared.sim_set_faults(FaultPlan::default())?;
    Ok(no_content())
}

/// `GET /sim/v1/namespaces/{ns}/pods/{pod}/containers/{container}/info`
pub(crate) async fn log_info(State(shared): State<Arc<Shared>>, Path((ns, pod, container)): Path<(String, String, String)>) -> SimResult {
    Ok(json(StatusCode::OK, &shared.sim_log_info(&ns, &pod, &container)?))
}

/// `GET /sim/v1/namespaces/{ns}/pods/{pod}/containers/{container}/truth`: the true stream, raw.
pub(crate) async fn true_stream(State(shared): State<Arc<Shared>>, Path((ns, pod, container)): Path<(String, String, String)>) -> SimResult {
    let bytes = shared.sim_true_stream(&ns, &pod, &container)?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// `POST /sim/v1/namespaces/{ns}/pods/{pod}/containers/{container}/rotate`
pub(crate) async fn rotate(State(shared): State<Arc<Shared>>, Path((ns, pod, container)): Path<(String, String, String)>) -> SimResult {
    shared.sim_rotate(&ns, &pod, &container)?;
    Ok(no_content())
}

/// `POST /sim/v1/namespaces/{ns}/pods/{pod}/containers/{container}/write?stream=stdout|stderr` (raw body).
pub(crate) async fn write(
    State(shared): State<Arc<Shared>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    body: Body,
) -> SimResult {
    let stream = match QueryParams::parse(query.as_deref()).get("stream") {
        None | Some("stdout") => Stream::Stdout,
        Some("stderr") => Stream::Stderr,
        Some(other) => return Err(ApiError::bad_request(format!("stream must be stdout or stderr, got {other:?}"))),
    };
    let bytes = read_body(body).await?;
    shared.sim_write(&ns, &pod, &container, stream, &bytes)?;
    Ok(no_content())
}

/// `POST /sim/v1/namespaces/{ns}/pods/{pod}/containers/{container}/kill` with `{"exitCode":137,"reason":"OOMKilled"}`.
pub(crate) async fn kill(
    State(shared): State<Arc<Shared>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    body: Body,
) -> SimResult {
    let exit: ContainerExit = decode(&read_body(body).await?, "container exit")?;
    shared.sim_kill(&ns, &pod, &container, exit)?;
    Ok(no_content())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Eviction {
    message: Option<String>,
}

/// `POST /sim/v1/namespaces/{ns}/pods/{pod}/evict` with an optional `{"message": ...}`.
pub(crate) async fn evict(State(shared): State<Arc<Shared>>, Path((ns, pod)): Path<(String, String)>, body: Body) -> SimResult {
    let bytes = read_body(body).await?;
    let eviction: Eviction = if bytes.iter().all(u8::is_ascii_whitespace) { Eviction::default() } else { decode(&bytes, "eviction")? };
    shared.sim_evict(&ns, &pod, eviction.message)?;
    Ok(no_content())
}

/// `POST /sim/v1/namespaces/{ns}/pods/{pod}/release/{name}`
pub(crate) async fn release(State(shared): State<Arc<Shared>>, Path((ns, pod, name)): Path<(String, String, String)>) -> SimResult {
    shared.sim_release(&ns, &pod, &name)?;
    Ok(no_content())
}
