//! The HTTP control endpoints (`/sim/v1/...`): scenarios, faults, metrics, and actions on pods and
//! container logs. Each handler decodes its request and calls the matching action of `crate::sim`;
//! never authenticated, never faulted (the guard in `api` lets them through).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tale_sandbox_kubelet_logs::Stream;

use super::common::{QueryParams, json, read_body};
use super::status::ApiError;
use crate::faults::FaultPlan;
use crate::scenario::{ContainerExit, Scenario};
use crate::sim::SimError;
use crate::state::Shared;
use crate::util::lock;

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
pub(crate) async fn put_scenario(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Body,
) -> SimResult {
    let scenario: Scenario = decode(&read_body(body).await?, "scenario")?;
    shared.sim_set_scenario(&id, scenario)?;
    Ok(no_content())
}

/// `GET /sim/v1/scenarios/{executionId}`
pub(crate) async fn get_scenario(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> SimResult {
    let scenario = lock(&shared.scenarios).get(&id).cloned();
    scenario.map(|s| json(StatusCode::OK, &s)).ok_or_else(|| ApiError::not_found("scenarios", &id))
}

/// `DELETE /sim/v1/scenarios/{executionId}`
pub(crate) async fn delete_scenario(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> SimResult {
    lock(&shared.scenarios)
        .remove(&id)
        .map(|_| no_content())
        .ok_or_else(|| ApiError::not_found("scenarios", &id))
}

/// `PUT /sim/v1/default-scenario`
pub(crate) async fn put_default_scenario(
    State(shared): State<Arc<Shared>>,
    body: Body,
) -> SimResult {
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
pub(crate) async fn log_info(
    State(shared): State<Arc<Shared>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
) -> SimResult {
    Ok(json(StatusCode::OK, &shared.sim_log_info(&ns, &pod, &container)?))
}

/// `GET /sim/v1/namespaces/{ns}/pods/{pod}/log-requests`: the pod's `pods/log` requests (also once
/// the pod is gone), with its containers' rotations and exits.
pub(crate) async fn log_requests(
    State(shared): State<Arc<Shared>>,
    Path((ns, pod)): Path<(String, String)>,
) -> Response {
    json(StatusCode::OK, &shared.sim_log_requests(&ns, &pod))
}

/// `GET /sim/v1/namespaces/{ns}/pods/{pod}/containers/{container}/truth`: the true stream, raw.
pub(crate) async fn true_stream(
    State(shared): State<Arc<Shared>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
) -> SimResult {
    let bytes = shared.sim_true_stream(&ns, &pod, &container)?;
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/octet-stream")], bytes)
        .into_response())
}

/// `POST /sim/v1/namespaces/{ns}/pods/{pod}/containers/{container}/rotate`
pub(crate) async fn rotate(
    State(shared): State<Arc<Shared>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
) -> SimResult {
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
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "stream must be stdout or stderr, got {other:?}"
            )));
        }
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
pub(crate) async fn evict(
    State(shared): State<Arc<Shared>>,
    Path((ns, pod)): Path<(String, String)>,
    body: Body,
) -> SimResult {
    let bytes = read_body(body).await?;
    let eviction: Eviction = if bytes.iter().all(u8::is_ascii_whitespace) {
        Eviction::default()
    } else {
        decode(&bytes, "eviction")?
    };
    shared.sim_evict(&ns, &pod, eviction.message)?;
    Ok(no_content())
}

/// `POST /sim/v1/namespaces/{ns}/pods/{pod}/release/{name}`
pub(crate) async fn release(
    State(shared): State<Arc<Shared>>,
    Path((ns, pod, name)): Path<(String, String, String)>,
) -> SimResult {
    shared.sim_release(&ns, &pod, &name)?;
    Ok(no_content())
}
