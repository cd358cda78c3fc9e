//! Pod watches: `GET .../pods?watch=true&resourceVersion=N`. Replays the store's watch log after N
//! (or the current pods as `ADDED` without N), then streams live events through the selectors; a
//! compacted N or a watcher that falls behind gets an `Expired` error event, as from an apiserver.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::stream;
use k8s_openapi::api::core::v1::Pod;
use tokio::sync::broadcast::error::RecvError;

use super::common::QueryParams;
use super::status::ApiError;
use crate::metrics::GaugeGuard;
use crate::selector::{FieldSelector, LabelSelector};
use crate::state::Shared;
use crate::store::{EventType, PodEvent, watch_line};

struct Filter {
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn admits(&self, event: &PodEvent) -> bool {
        self.namespace.as_ref().is_none_or(|ns| ns == &event.namespace)
            && self.labels.matches(event.labels.as_ref())
            && self.fields.matches(&event.namespace, &event.name)
    }
}

fn expired_line(message: String) -> Bytes {
    watch_line(EventType::Error, &ApiError::expired(message).status())
}

struct WatchState {
    shared: Arc<Shared>,
    pending: std::collections::VecDeque<Bytes>,
    live: tokio::sync::broadcast::Receiver<Arc<PodEvent>>,
    filter: Filter,
    deadline: Option<tokio::time::Instant>,
    done: bool,
    _open: GaugeGuard,
}

async fn next_line(state: &mut WatchState) -> Option<Bytes> {
    if let Some(line) = state.pending.pop_front() {
        return Some(line);
    }
    let mut shutdown = state.shared.shutdown.clone();
    while !state.done {
        let deadline = async {
            match state.deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            received = state.live.recv() => match received {
                Ok(event) if state.filter.admits(&event) => return Some(event.line.clone()),
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    // Like an apiserver whose watch cache moved on: the client must re-list.
                    state.done = true;
                    return Some(expired_line("too old resource version: the watch fell behind".into()));
                }
                Err(RecvError::Closed) => state.done = true,
            },
            _ = deadline => state.done = true,
            _ = shutdown.changed() => state.done = true,
        }
    }
    None
}

/// Starts a pod watch.
pub(crate) fn watch_pods(
    shared: Arc<Shared>,
    namespace: Option<String>,
    query: &QueryParams,
) -> Result<Response, ApiError> {
    let filter =
        Filter { namespace, labels: query.label_selector()?, fields: query.field_selector()? };
    let since = match query.get("resourceVersion") {
        None | Some("") | Some("0") => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid value for resourceVersion: {text:?} is not a resource version"
            ))
        })?),
    };
    let timeout = match query.int("timeoutSeconds")? {
        None => None,
        Some(s) if s < 0 => {
            return Err(ApiError::bad_request(format!(
                "timeoutSeconds must not be negative, got {s}"
            )));
        }
        Some(s) => {
            Some(tokio::time::Instant::now() + Duration::from_secs(u64::try_from(s).unwrap_or(0)))
        }
    };
    let (pending, live) = {
        let mut store = shared.store();
        let (replay, live) = match store.watch_from(since, filter.fields.single_name()) {
            Ok(started) => started,
            Err(compacted) => {
                let line = expired_line(format!(
                    "too old resource version: {} ({compacted})",
                    since.unwrap_or(0)
                ));
                let body = Body::from(line);
                return Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body)
                    .into_response());
            }
        };
        let mut pending: std::collections::VecDeque<Bytes> = std::collections::VecDeque::new();
        if since.is_none() {
            // No resource version: the current state first, as synthetic ADDED events.
            for entry in store.pods.values() {
                let pod: &Pod = &entry.pod;
                let meta = &pod.metadata;
                let event = PodEvent {
                    resource_version: 0,
                    namespace: meta.namespace.clone().unwrap_or_default(),
                    name: meta.name.clone().unwrap_or_default(),
                    labels: meta.labels.clone(),
                    line: Bytes::new(),
                };
                if filter.admits(&event) {
                    pending.push_back(watch_line(EventType::Added, pod));
                }
            }
        }
        pending.extend(replay.iter().filter(|e| filter.admits(e)).map(|e| e.line.clone()));
        (pending, live)
    };
    let state = WatchState {
        _open: shared.metrics.watch_opened(),
        shared,
        pending,
        live,
        filter,
        deadline: timeout,
        done: false,
    };
    let body = stream::unfold(state, |mut state| async move {
        next_line(&mut state).await.map(|line| (Ok::<Bytes, std::io::Error>(line), state))
    });
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], Body::from_stream(body))
        .into_response())
}
