//! The HTTP API: Kubernetes routes, control routes, and the middleware that authenticates, injects
//! faults and counts every request. Inside, `status` and `validation` are leaves, `common` builds on
//! them, `table` and `watch` on `common`, and the resource handlers on all of these.

mod common;
mod control;
mod discovery;
mod logs;
mod pods;
mod pvcs;
mod secrets;
mod status;
mod table;
mod validation;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bytes::Bytes;
use futures_util::{StreamExt, stream};

pub use discovery::KUBERNETES_VERSION;

use crate::faults::{Fault, RequestTarget};
use crate::log_requests::{LogRequestEnd, Probe};
use crate::state::Shared;
use crate::util::lock;
use common::QueryParams;
use status::ApiError;

/// Marks a response that must not be sent: the connection is closed instead.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ResetConnection;

/// The router with every route and the middleware.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let ns = "/api/v1/namespaces/{namespace}";
    let kubernetes = Router::new()
        .route("/version", get(discovery::version))
        .route("/api", get(discovery::api_versions))
        .route("/apis", get(discovery::api_groups))
        .route("/apis/{*rest}", get(discovery::unknown_api))
        .route("/api/v1", get(discovery::core_v1_resources))
        .route("/api/v1/namespaces", get(discovery::list_namespaces))
        .route(ns, get(discovery::get_namespace))
        .route(&format!("{ns}/pods"), get(pods::list_namespaced).post(pods::create))
        .route("/api/v1/pods", get(pods::list_all))
        .route(&format!("{ns}/pods/{{name}}"), get(pods::get).delete(pods::delete))
        .route(&format!("{ns}/pods/{{name}}/log"), get(logs::pod_log))
        .route(&format!("{ns}/secrets"), get(secrets::list_namespaced).post(secrets::create))
        .route("/api/v1/secrets", get(secrets::list_all))
        .route(
            &format!("{ns}/secrets/{{name}}"),
            get(secrets::get).put(secrets::replace).delete(secrets::delete),
        )
        .route(&format!("{ns}/persistentvolumeclaims"), get(pvcs::list).post(pvcs::create))
        .route(
            &format!("{ns}/persistentvolumeclaims/{{name}}"),
            get(pvcs::get).delete(pvcs::delete),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }));
    let pod = "/sim/v1/namespaces/{namespace}/pods/{pod}";
    let container = "/sim/v1/namespaces/{namespace}/pods/{pod}/containers/{container}";
    let control = Router::new()
        .route("/sim/v1/metrics", get(control::metrics))
        .route(
            "/sim/v1/scenarios/{id}",
            put(control::put_scenario).get(control::get_scenario).delete(control::delete_scenario),
        )
        .route(
            "/sim/v1/default-scenario",
            put(control::put_default_scenario).get(control::get_default_scenario),
        )
        .route("/sim/v1/faults", put(control::put_faults).delete(control::delete_faults))
        .route(&format!("{container}/info"), get(control::log_info))
        .route(&format!("{container}/truth"), get(control::true_stream))
        .route(&format!("{container}/rotate"), post(control::rotate))
        .route(&format!("{container}/write"), post(control::write))
        .route(&format!("{container}/kill"), post(control::kill))
        .route(&format!("{pod}/log-requests"), get(control::log_requests))
        .route(&format!("{pod}/evict"), post(control::evict))
        .route(&format!("{pod}/release/{{name}}"), post(control::release));
    kubernetes
        .merge(control)
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared)
}

async fn fallback() -> ApiError {
    ApiError::no_route()
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::method_not_allowed(method.as_str())
}

/// The name of a route in metrics and fault rules.
fn route_name(method: &Method, matched: Option<&str>, query: Option<&str>) -> &'static str {
    let Some(path) = matched else { return "unmatched" };
    let resource = path.strip_prefix("/api/v1/namespaces/{namespace}").unwrap_or(path);
    let watching = || QueryParams::parse(query).bool("watch").ok().flatten().unwrap_or(false);
    match (resource, method.as_str()) {
        _ if path.starts_with("/sim/") => "sim",
        ("/version", _) => "version",
        ("/api" | "/apis" | "/api/v1" | "/apis/{*rest}", _) => "discovery",
        ("/healthz" | "/livez" | "/readyz", _) => "health",
        ("/api/v1/namespaces" | "", _) => "namespaces",
        ("/pods" | "/api/v1/pods", "GET") if watching() => "pods.watch",
        ("/pods" | "/api/v1/pods", "GET") => "pods.list",
        ("/pods", "POST") => "pods.create",
        ("/pods/{name}", "GET") => "pods.get",
        ("/pods/{name}", "DELETE") => "pods.delete",
        ("/pods/{name}/log", _) => "pods.log",
        ("/secrets" | "/api/v1/secrets", "GET") => "secrets.list",
        ("/secrets", "POST") => "secrets.create",
        ("/secrets/{name}", "GET") => "secrets.get",
        ("/secrets/{name}", "PUT") => "secrets.replace",
        ("/secrets/{name}", "DELETE") => "secrets.delete",
        ("/persistentvolumeclaims", "GET") => "pvcs.list",
        ("/persistentvolumeclaims", "POST") => "pvcs.create",
        ("/persistentvolumeclaims/{name}", "GET") => "pvcs.get",
        ("/persistentvolumeclaims/{name}", "DELETE") => "pvcs.delete",
        _ => "other",
    }
}

/// Routes that need the bearer token when one is configured: everything but the control endpoints,
/// as on an apiserver with anonymous authentication off (unknown paths are refused before they are
/// found missing, so a client without the token learns nothing).
fn needs_token(route: &str, path: &str) -> bool {
    route != "sim" && !path.starts_with("/sim/")
}

fn authorized(shared: &Shared, request: &Request) -> bool {
    let Some(token) = &shared.config.token else { return true };
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| given.trim() == token)
}

/// Bodies of Kubernetes writes must be JSON: protobuf and YAML (which kubectl sends for some commands)
/// are refused with the apiserver's 415.
fn unsupported_media_type(route: &str, request: &Request) -> Option<ApiError> {
    if route == "sim" || !matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH) {
        return None;
    }
    let content_type = request.headers().get(header::CONTENT_TYPE)?.to_str().unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    (essence != "application/json").then(|| ApiError::unsupported_media_type(content_type))
}

/// The object name in a namespaced path (`/api/v1/namespaces/{ns}/{resource}/{name}/...`).
fn object_name(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v1/namespaces/")?.split('/').nth(2).filter(|n| !n.is_empty())
}

/// The namespace in a namespaced path.
fn object_namespace(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v1/namespaces/")?.split('/').next().filter(|n| !n.is_empty())
}

/// The request log's entry for a `pods/log` request (`None` for other routes).
fn log_probe(shared: &Shared, route: &str, request: &Request) -> Option<Probe> {
    if route != "pods.log" {
        return None;
    }
    let path = request.uri().path();
    let pod = (object_namespace(path)?.to_string(), object_name(path)?.to_string());
    let query = request.uri().query().unwrap_or("");
    let container = QueryParams::parse(Some(query)).get("container").map(str::to_string);
    Some(shared.log_requests.begin(pod, container, query.to_string()))
}

/// Keeps a refused request in the request log.
fn refused(shared: &Shared, probe: Option<&Probe>, status: u16, end: LogRequestEnd) {
    if let Some(probe) = probe {
        probe.finish(&shared.log_requests, status, end);
    }
}

async fn guard(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let route = route_name(request.method(), matched.as_deref(), request.uri().query());
    let probe = log_probe(&shared, route, &request);
    if needs_token(route, request.uri().path()) && !authorized(&shared, &request) {
        shared.metrics.count_request(route, 401);
        refused(&shared, probe.as_ref(), 401, LogRequestEnd::Refused);
        return ApiError::unauthorized().into_response();
    }
    if let Some(refusal) = unsupported_media_type(route, &request) {
        shared.metrics.count_request(route, 415);
        refused(&shared, probe.as_ref(), 415, LogRequestEnd::Refused);
        return refusal.into_response();
    }
    let faults = if route == "sim" || route == "health" {
        Vec::new()
    } else {
        let query = QueryParams::parse(request.uri().query());
        let target = RequestTarget {
            route,
            name: object_name(request.uri().path()),
            container: query.get("container"),
        };
        lock(&shared.faults).decide(target)
    };
    for fault in &faults {
        shared.metrics.count_fault(route, fault.kind());
    }
    if let Some(probe) = &probe {
        probe.set_faults(&faults);
    }
    let mut body_faults = Vec::new();
    for fault in faults {
        match fault {
            Fault::Stall { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            Fault::Status { code } => {
                shared.metrics.count_request(route, code);
                refused(&shared, probe.as_ref(), code, LogRequestEnd::Refused);
                return ApiError::internal(code, "injected fault: internal error").into_response();
            }
            Fault::TooManyRequests { retry_after_seconds } => {
                shared.metrics.count_request(route, 429);
                refused(&shared, probe.as_ref(), 429, LogRequestEnd::Refused);
                return ApiError::too_many_requests(retry_after_seconds).into_response();
            }
            Fault::Reset => {
                shared.metrics.count_request(route, 0);
                refused(&shared, probe.as_ref(), 0, LogRequestEnd::Reset);
                let mut response = Response::new(Body::empty());
                response.extensions_mut().insert(ResetConnection);
                return response;
            }
            Fault::CutBody { .. } | Fault::Slow { .. } => body_faults.push(fault),
        }
    }
    if !body_faults.is_empty() {
        request.extensions_mut().insert(logs::BodyFaulted);
    }
    if let Some(probe) = &probe {
        request.extensions_mut().insert(probe.clone());
    }
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    shared.metrics.count_request(route, status);
    for fault in body_faults {
        response = disturb_body(response, fault);
    }
    match probe {
        Some(probe) if response.status().is_success() => watch_body(response, probe, shared),
        probe => {
            refused(&shared, probe.as_ref(), status, LogRequestEnd::Refused);
            response
        }
    }
}

/// Counts what a logged response's body hands to the connection, and keeps the entry when the
/// body ends (or is dropped: the client went away).
fn watch_body(response: Response, probe: Probe, shared: Arc<Shared>) -> Response {
    struct Watched {
        data: axum::body::BodyDataStream,
        probe: Probe,
        shared: Arc<Shared>,
        status: u16,
    }
    impl Drop for Watched {
        fn drop(&mut self) {
            // Only the first end counts: a body that ended or failed already finished the entry.
            self.probe.finish(&self.shared.log_requests, self.status, LogRequestEnd::ClientGone);
        }
    }
    let status = response.status().as_u16();
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let state = Watched { data: body.into_data_stream(), probe, shared, status };
    let body = Body::from_stream(stream::unfold(state, |mut w| async move {
        match w.data.next().await {
            None => {
                w.probe.finish(&w.shared.log_requests, w.status, LogRequestEnd::Eof);
                None
            }
            Some(Ok(chunk)) => {
                w.probe.sent(chunk.len() as u64);
                Some((Ok(chunk), w))
            }
            Some(Err(e)) => {
                w.probe.finish(&w.shared.log_requests, w.status, LogRequestEnd::Aborted);
                Some((Err(std::io::Error::other(e)), w))
            }
        }
    }));
    Response::from_parts(parts, body)
}

/// An error in a body stream makes hyper abort the connection mid-response.
fn abort_error() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "injected fault: body cut")
}

fn disturb_body(response: Response, fault: Fault) -> Response {
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let data = body.into_data_stream();
    let body = match fault {
        Fault::CutBody { after_bytes, abrupt } => {
            let state = (data, after_bytes, false);
            Body::from_stream(stream::unfold(state, move |(mut data, left, done)| async move {
                if done {
                    return None;
                }
                if left == 0 {
                    if !abrupt {
                        return None;
                    }
                    // Give hyper a moment to flush what was sent, so the client sees exactly
                    // `after_bytes` bytes before the connection drops.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    return Some((Err(abort_error()), (data, 0, true)));
                }
                match data.next().await {
                    None => None,
                    Some(Err(e)) => Some((Err(std::io::Error::other(e)), (data, 0, true))),
                    Some(Ok(chunk)) => {
                        let take = usize::try_from(left).unwrap_or(usize::MAX).min(chunk.len());
                        Some((Ok(chunk.slice(..take)), (data, left - take as u64, false)))
                    }
                }
            }))
        }
        Fault::Slow { bytes_per_second } => {
            let piece = usize::try_from((bytes_per_second / 20).max(1)).unwrap_or(usize::MAX);
            let pause = Duration::from_secs_f64(piece as f64 / bytes_per_second.max(1) as f64);
            let state = (data, Bytes::new());
            Body::from_stream(stream::unfold(state, move |(mut data, mut rest)| async move {
                if rest.is_empty() {
                    match data.next().await {
                        None => return None,
                        Some(Err(e)) => {
                            return Some((Err(std::io::Error::other(e)), (data, Bytes::new())));
                        }
                        Some(Ok(chunk)) => rest = chunk,
                    }
                }
                tokio::time::sleep(pause).await;
                let take = piece.min(rest.len());
                let out = rest.split_to(take);
                Some((Ok(out), (data, rest)))
            }))
        }
        _ => Body::from_stream(data),
    };
    Response::from_parts(parts, body)
}
