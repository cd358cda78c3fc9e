//! `GET /api/v1/namespaces/{ns}/pods/{name}/log`: the kubelet's log endpoint, behind the apiserver.
//! Validates the query like `PodLogOptions`, picks the container, then streams what a follow cursor
//! over the container's log renders, chunk by chunk, waking on every write.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use tale_sandbox_kubelet_logs::{
    FollowCursor, FollowOptions, FollowStatus, ReadOptions, Timestamp,
};
use tokio::sync::watch;

use super::common::QueryParams;
use super::status::ApiError;
use crate::kubelet::container_has_started;
use crate::log_requests::Probe;
use crate::metrics::GaugeGuard;
use crate::runtime::ContainerRuntime;
use crate::state::Shared;
use crate::util::log_now;

/// Bytes rendered per body chunk (a soft bound: one CRI record more at most).
const CHUNK_BYTES: usize = 64 * 1024;

/// The parsed and validated query of a log request.
struct LogQuery {
    container: Option<String>,
    follow: bool,
    previous: bool,
    read: ReadOptions,
}

fn invalid(field: &str, why: String) -> ApiError {
    ApiError::invalid("PodLogOptions", "", vec![(field.to_string(), why)])
}

fn parse_query(query: &QueryParams) -> Result<LogQuery, ApiError> {
    let follow = query.bool("follow")?.unwrap_or(false);
    let previous = query.bool("previous")?.unwrap_or(false);
    let timestamps = query.bool("timestamps")?.unwrap_or(false);
    query.bool("insecureSkipTLSVerifyBackend")?;
    let since_seconds = query.int("sinceSeconds")?;
    let since_time = match query.get("sinceTime").filter(|t| !t.is_empty()) {
        None => None,
        Some(text) => Some(
            Timestamp::parse_rfc3339(text)
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "invalid value for query parameter sinceTime: {text:?}: {e}"
                    ))
                })?
                // The apiserver passes sinceTime on with second precision.
                .floor_to_second(),
        ),
    };
    let tail_lines = query.int("tailLines")?;
    let limit_bytes = query.int("limitBytes")?;
    if since_seconds.is_some() && since_time.is_some() {
        return Err(invalid(
            "sinceSeconds",
            "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified".into(),
        ));
    }
    if let Some(s) = since_seconds.filter(|&s| s < 1) {
        return Err(invalid("sinceSeconds", format!("Invalid value: {s}: must be greater than 0")));
    }
    if let Some(t) = tail_lines.filter(|&t| t < 0) {
        return Err(invalid(
            "tailLines",
            format!("Invalid value: {t}: must be greater than or equal to 0"),
        ));
    }
    if let Some(l) = limit_bytes.filter(|&l| l < 1) {
        return Err(invalid("limitBytes", format!("Invalid value: {l}: must be greater than 0")));
    }
    match query.get("stream") {
        None | Some("") | Some("All") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "stream {other:?} is not supported by the tale test cluster (only \"All\": stdout and stderr interleaved)"
            )));
        }
    }
    let since_time = since_time.or_else(|| {
        since_seconds.map(|s| log_now().saturating_add_nanos(-s.saturating_mul(1_000_000_000)))
    });
    Ok(LogQuery {
        container: query.get("container").filter(|c| !c.is_empty()).map(str::to_string),
        follow,
        previous,
        read: ReadOptions {
            timestamps,
            since_time,
            tail_lines: tail_lines.map(|t| t as u64),
            limit_bytes: limit_bytes.map(|l| l as u64),
        },
    })
}

/// Which container of the pod a request means, with the apiserver's errors.
fn pick_container(
    pod: &k8s_openapi::api::core::v1::Pod,
    name: &str,
    wanted: Option<String>,
) -> Result<String, ApiError> {
    let spec = pod.spec.clone().unwrap_or_default();
    let main: Vec<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
    let init: Vec<String> = spec.init_containers.iter().flatten().map(|c| c.name.clone()).collect();
    match wanted {
        Some(container) if main.contains(&container) || init.contains(&container) => Ok(container),
        Some(container) => {
            Err(ApiError::bad_request(format!("container {container} is not valid for pod {name}")))
        }
        None if main.len() == 1 => Ok(main[0].clone()),
        None => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}] or one of the init containers: [{}]",
            main.join(" "),
            init.join(" ")
        ))),
    }
}

/// Put on a request whose response body a fault will cut or slow. Its log body is then handed
/// over one record per chunk: a cut at a line end takes no record it does not deliver, so which
/// records were served (see [`ContainerRuntime::note_served`]) stays exact.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyFaulted;

struct LogStream {
    shared: Arc<Shared>,
    container: Arc<ContainerRuntime>,
    cursor: FollowCursor,
    changes: watch::Receiver<u64>,
    follow: bool,
    done: bool,
    /// The soft size of the chunks handed to the body (see [`BodyFaulted`]).
    chunk_bytes: usize,
    namespace: String,
    pod: String,
    /// The request log's entry, if the request is logged.
    probe: Option<Probe>,
    _open: GaugeGuard,
}

async fn next_chunk(state: &mut LogStream) -> Option<Bytes> {
    let mut shutdown = state.shared.shutdown.clone();
    while !state.done {
        // Mark the current version seen before reading, so a write after the read wakes us.
        state.changes.borrow_and_update();
        let mut chunk = Vec::with_capacity(CHUNK_BYTES + 1024);
        let cursor = &mut state.cursor;
        let skipped = (cursor.skipped_files(), cursor.lost_records());
        let status =
            state.container.with_log(|log| cursor.read_into(log, &mut chunk, state.chunk_bytes));
        for (generation, end) in cursor.take_drained() {
            state.container.note_served(generation, end);
        }
        state.container.note_served(cursor.generation(), cursor.next_record());
        state.shared.metrics.count_follow_skip(
            &state.namespace,
            &state.pod,
            &state.container.name,
            cursor.skipped_files() - skipped.0,
            cursor.lost_records() - skipped.1,
        );
        if status == FollowStatus::Finished || (status == FollowStatus::Waiting && !state.follow) {
            state.done = true;
        }
        if let Some(probe) = &state.probe
            && !chunk.is_empty()
        {
            probe.rendered(chunk.len() as u64, (cursor.generation(), cursor.next_record()));
        }
        if !chunk.is_empty() {
            state.shared.metrics.count_log_bytes(
                &state.namespace,
                &state.pod,
                &state.container.name,
                chunk.len() as u64,
            );
            return Some(Bytes::from(chunk));
        }
        if status == FollowStatus::Waiting && !state.done {
            tokio::select! {
                changed = state.changes.changed() => if changed.is_err() { state.done = true },
                _ = shutdown.changed() => state.done = true,
            }
        }
    }
    None
}

/// `GET /api/v1/namespaces/{ns}/pods/{name}/log`
pub(crate) async fn pod_log(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body_faulted: Option<Extension<BodyFaulted>>,
    probe: Option<Extension<Probe>>,
) -> Result<Response, ApiError> {
    let probe = probe.map(|Extension(p)| p);
    let query = parse_query(&QueryParams::parse(query.as_deref()))?;
    let (pod, runtime) = {
        let store = shared.store();
        let entry = store
            .pods
            .get(&(namespace.clone(), name.clone()))
            .ok_or_else(|| ApiError::not_found("pods", &name))?;
        (entry.pod.clone(), entry.runtime.clone())
    };
    let container_name = pick_container(&pod, &name, query.container)?;
    if let Some(probe) = &probe {
        probe.set_container(&container_name);
    }
    if let Some(Err(reason)) = container_has_started(&pod, &container_name) {
        return Err(ApiError::bad_request(format!(
            "container \"{container_name}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    }
    if container_has_started(&pod, &container_name).is_none() {
        // Scheduled pods have a status for every container; before that, nothing has started.
        return Err(ApiError::bad_request(format!(
            "container \"{container_name}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        )));
    }
    if query.previous {
        return Err(ApiError::bad_request(format!(
            "previous terminated container \"{container_name}\" in pod \"{name}\" not found"
        )));
    }
    let container = runtime.container(&container_name).cloned().ok_or_else(|| {
        ApiError::bad_request(format!("container {container_name} is not valid for pod {name}"))
    })?;
    let follow_options = if query.follow {
        FollowOptions {
            continue_after_rotation: shared.config.follow_continues_after_rotation,
            lose_unread_on_rotation: shared.config.follow_loses_unread_on_rotation,
        }
    } else {
        // A plain read has the current file open: it drains that file even if it rotates meanwhile.
        FollowOptions { continue_after_rotation: false, lose_unread_on_rotation: false }
    };
    let cursor = container.with_log(|log| {
        let cursor = FollowCursor::new(log, query.read, follow_options);
        if let Some(probe) = &probe {
            probe.started(
                (cursor.generation(), cursor.next_record()),
                (log.generation(), log.current_len()),
            );
        }
        cursor
    });
    let state = LogStream {
        _open: shared.metrics.log_stream_opened(),
        changes: container.subscribe(),
        shared,
        container,
        cursor,
        follow: query.follow,
        done: false,
        chunk_bytes: if body_faulted.is_some() { 1 } else { CHUNK_BYTES },
        namespace,
        pod: name,
        probe,
    };
    let body = stream::unfold(state, |mut state| async move {
        let chunk = next_chunk(&mut state).await;
        if chunk.is_none()
            && let Some(probe) = &state.probe
        {
            // The body ends by itself here (a fault's cut never asks for this end).
            probe.log_ended();
        }
        chunk.map(|chunk| (Ok::<Bytes, std::io::Error>(chunk), state))
    });
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], Body::from_stream(body))
        .into_response())
}
