//! Pods: create (validated like the apiserver, then handed to the simulated kubelet), get, list (as
//! objects or kubectl Tables), delete (graceful, with an optional lingering termination), and the
//! entry point of watches.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use k8s_openapi::api::core::v1::{Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{DeleteOptions, Time};
use k8s_openapi::jiff;

use super::common::{QueryParams, decode_new, json, paginate, read_body, stamp_new, wants_table};
use super::status::ApiError;
use super::table;
use super::validation::dns1123_label_error;
use super::watch::watch_pods;
use crate::kubelet;
use crate::runtime::{PodRuntime, StopReason};
use crate::state::Shared;
use crate::store::{EventType, PodEntry};
use crate::util::Key;

type ApiResult = Result<Response, ApiError>;

fn validate_spec(pod: &Pod, name: &str) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    match &pod.spec {
        None => causes.push(("spec".to_string(), "Required value".to_string())),
        Some(spec) => {
            if spec.containers.is_empty() {
                causes.push(("spec.containers".to_string(), "Required value".to_string()));
            }
            let mut seen = std::collections::HashSet::new();
            let init = spec.init_containers.iter().flatten().map(|c| ("spec.initContainers", c));
            let main = spec.containers.iter().map(|c| ("spec.containers", c));
            for (i, (path, container)) in init.chain(main).enumerate() {
                let field = format!("{path}[{i}]");
                if let Some(why) = dns1123_label_error(&container.name) {
                    causes.push((format!("{field}.name"), why));
                } else if !seen.insert(container.name.clone()) {
                    causes.push((
                        format!("{field}.name"),
                        format!("Duplicate value: {:?}", container.name),
                    ));
                }
                if container.image.as_deref().is_none_or(str::is_empty) {
                    causes.push((format!("{field}.image"), "Required value".to_string()));
                }
            }
        }
    }
    if causes.is_empty() { Ok(()) } else { Err(ApiError::invalid("Pod", name, causes)) }
}

/// `POST /api/v1/namespaces/{ns}/pods`
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(namespace): Path<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> ApiResult {
    let seed = shared.store().resource_version();
    let (mut pod, name): (Pod, _) =
        decode_new(query.as_deref(), body, "Pod", &namespace, seed).await?;
    validate_spec(&pod, &name)?;
    let key: Key = (namespace.clone(), name.clone());
    let runtime = {
        let mut store = shared.store();
        if store.pods.contains_key(&key) {
            return Err(ApiError::already_exists("pods", &name));
        }
        let rv = store.next_resource_version();
        stamp_new(&mut pod.metadata, &namespace, &name, rv, rv);
        pod.status = Some(PodStatus { phase: Some("Pending".to_string()), ..PodStatus::default() });
        let scenario = shared.scenario_for(&pod);
        let runtime = Arc::new(PodRuntime::new(key.clone(), &pod, scenario, shared.config.log));
        store.publish_pod(EventType::Added, &pod);
        store.pods.insert(key, PodEntry { pod: pod.clone(), runtime: runtime.clone() });
        runtime
    };
    kubelet::start_pod(shared.clone(), runtime);
    Ok(json(StatusCode::CREATED, &pod))
}

/// `GET /api/v1/namespaces/{ns}/pods/{name}`
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let (pod, rv) = {
        let store = shared.store();
        let pod = store.pods.get(&(namespace, name.clone())).map(|e| e.pod.clone());
        (pod.ok_or_else(|| ApiError::not_found("pods", &name))?, store.resource_version())
    };
    if wants_table(&headers) {
        return Ok(json(StatusCode::OK, &table::pods(&[pod], rv, None)));
    }
    Ok(json(StatusCode::OK, &pod))
}

/// `GET /api/v1/namespaces/{ns}/pods` (list or watch).
pub(crate) async fn list_namespaced(
    State(shared): State<Arc<Shared>>,
    Path(namespace): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    list(shared, Some(namespace), QueryParams::parse(query.as_deref()), headers)
}

/// `GET /api/v1/pods` (list or watch, all namespaces).
pub(crate) async fn list_all(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    list(shared, None, QueryParams::parse(query.as_deref()), headers)
}

fn list(
    shared: Arc<Shared>,
    namespace: Option<String>,
    query: QueryParams,
    headers: HeaderMap,
) -> ApiResult {
    if query.bool("watch")?.unwrap_or(false) {
        return watch_pods(shared, namespace, &query);
    }
    let labels = query.label_selector()?;
    let fields = query.field_selector()?;
    let (items, rv) = {
        let store = shared.store();
        let items: Vec<(Key, Pod)> = store
            .pods
            .iter()
            .filter(|(key, entry)| {
                namespace.as_ref().is_none_or(|ns| &key.0 == ns)
                    && labels.matches(entry.pod.metadata.labels.as_ref())
                    && fields.matches(&key.0, &key.1)
            })
            .map(|(key, entry)| (key.clone(), entry.pod.clone()))
            .collect();
        (items, store.resource_version())
    };
    let page = paginate(items, &query)?;
    if wants_table(&headers) {
        return Ok(json(StatusCode::OK, &table::pods(&page.items, rv, page.continue_token)));
    }
    Ok(page.into_list_response(rv))
}

/// The grace period of a delete: query parameter, then body, then the pod's own setting.
fn grace_period(
    query: &QueryParams,
    options: Option<&DeleteOptions>,
    pod: &Pod,
) -> Result<i64, ApiError> {
    let from_query = query.int("gracePeriodSeconds")?;
    let from_body = options.and_then(|o| o.grace_period_seconds);
    let from_pod = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds);
    let grace = from_query.or(from_body).or(from_pod).unwrap_or(30);
    if grace < 0 {
        return Err(ApiError::invalid(
            "DeleteOptions",
            "",
            vec![(
                "gracePeriodSeconds".into(),
                format!("Invalid value: {grace}: must be greater than or equal to 0"),
            )],
        ));
    }
    Ok(grace)
}

fn decode_delete_options(bytes: &[u8]) -> Result<Option<DeleteOptions>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    })?;
    if value.get("kind").and_then(|k| k.as_str()).is_some_and(|k| k != "DeleteOptions") {
        return Err(ApiError::bad_request("the body of a delete must be a DeleteOptions object"));
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("DeleteOptions cannot be decoded: {e}")))
}

/// `DELETE /api/v1/namespaces/{ns}/pods/{name}`: marks the pod terminating (`deletionTimestamp`), kills
/// its containers, and removes it after the configured linger.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Body,
) -> ApiResult {
    let query = QueryParams::parse(query.as_deref());
    query.refuse_dry_run()?;
    let options = decode_delete_options(&read_body(body).await?)?;
    let key: Key = (namespace, name.clone());
    let (pod, runtime, already_terminating) = {
        let mut store = shared.store();
        let rv = store.resource_version() + 1;
        let entry = store.pods.get_mut(&key).ok_or_else(|| ApiError::not_found("pods", &name))?;
        if let Some(uid) =
            options.as_ref().and_then(|o| o.preconditions.as_ref()).and_then(|p| p.uid.as_ref())
            && entry.pod.metadata.uid.as_ref() != Some(uid)
        {
            return Err(ApiError::conflict(
                "pods",
                &name,
                "Precondition failed: UID in precondition does not match the object",
            ));
        }
        if entry.pod.metadata.deletion_timestamp.is_some() {
            (entry.pod.clone(), entry.runtime.clone(), true)
        } else {
            let grace = grace_period(&query, options.as_ref(), &entry.pod)?;
            let deadline = jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_secs(grace))
                .unwrap_or_else(|_| jiff::Timestamp::now());
            entry.pod.metadata.deletion_timestamp = Some(Time(deadline));
            entry.pod.metadata.deletion_grace_period_seconds = Some(grace);
            entry.pod.metadata.resource_version = Some(rv.to_string());
            let pod = entry.pod.clone();
            let runtime = entry.runtime.clone();
            store.next_resource_version();
            store.publish_pod(EventType::Modified, &pod);
            (pod, runtime, false)
        }
    };
    if !already_terminating {
        runtime.stop(StopReason::Deleted);
        let linger = runtime
            .scenario
            .termination_linger_ms
            .map(Duration::from_millis)
            .unwrap_or(shared.config.termination_linger);
        if linger.is_zero() {
            remove_pod(&shared, &key);
        } else {
            let shared = shared.clone();
            tokio::spawn(async move {
                tokio::time::sleep(linger).await;
                remove_pod(&shared, &key);
            });
        }
    }
    Ok(json(StatusCode::OK, &pod))
}

/// Removes a pod from the store for good (watchers see `DELETED`) and ends its kubelet task.
fn remove_pod(shared: &Shared, key: &Key) {
    let runtime = {
        let mut store = shared.store();
        let Some(mut entry) = store.pods.remove(key) else { return };
        let rv = store.next_resource_version();
        entry.pod.metadata.resource_version = Some(rv.to_string());
        store.publish_pod(EventType::Deleted, &entry.pod);
        entry.runtime
    };
    runtime.abort();
}
