//! The Kubernetes calls of the execute path (spec §8.2), each a single attempt
//! with its own timeout (§8.3), all failing with one error type that keeps the
//! split the flow decides on (§8.4): the HTTP status of a non-2xx answer, or no
//! status at all for a transport error, a timeout or an undecodable body.
//!
//! Retries are not made here: the flow decides which calls are retried, how
//! often and after how long, so every method sends exactly one request.
//!
//! Besides the one-shot calls there are two long-lived reads: [`KubeApi::follow_log`]
//! (a `follow=true&timestamps=true` log stream delivered as raw byte chunks,
//! with how it ended) and [`KubeApi::watch_pod`] (`kube::runtime::watcher` on one
//! pod name, with kube's default backoff between re-watches).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::io::AsyncBufReadExt as _;
use futures_util::{Stream, StreamExt as _};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, LogParams, PostParams};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use kube::{Api, Client};
use tale_sandbox_contract::constants::{K8S_API_TIMEOUT_MS, K8S_LOG_TIMEOUT_MS};

/// A failed Kubernetes call.
///
/// `status` is the HTTP status of a non-2xx answer; `None` means the call got
/// no answer it could use (connection error, timeout, undecodable body), which
/// the flow treats as retryable. The message never contains the sandbox token
/// or Secret contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status of a non-2xx response; `None` for transport errors, timeouts and decode errors.
    pub status: Option<u16>,
    /// What happened, fit for a log line.
    pub message: String,
}

impl ApiError {
    /// An error without an HTTP status (transport, timeout, decode).
    pub fn no_status(message: impl Into<String>) -> Self {
        ApiError { status: None, message: message.into() }
    }

    /// Whether the server answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }

    /// Whether the server answered 409.
    pub fn is_conflict(&self) -> bool {
        self.status == Some(409)
    }

    fn timed_out(what: &str, timeout: Duration) -> Self {
        ApiError::no_status(format!("{what} timed out after {}ms", timeout.as_millis()))
    }

    fn from_kube(err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => ApiError {
                status: Some(status.code),
                message: if status.message.is_empty() {
                    format!("HTTP {} {}", status.code, status.reason)
                } else {
                    status.message
                },
            },
            other => ApiError::no_status(error_chain(&other)),
        }
    }

    fn from_watcher(err: watcher::Error) -> Self {
        match err {
            watcher::Error::InitialListFailed(e)
            | watcher::Error::WatchStartFailed(e)
            | watcher::Error::WatchFailed(e) => ApiError::from_kube(e),
            watcher::Error::WatchError(status) => ApiError::from_kube(kube::Error::Api(status)),
            other => ApiError::no_status(error_chain(&other)),
        }
    }
}

/// `err: cause: cause ...`, skipping causes that repeat the text before them.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

/// Parameters of a one-shot log read (spec §8.2). Everything but the
/// container is optional; `since_time_ms` is rounded down to the second
/// because the API takes whole seconds and rounding up would skip records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogRequest {
    /// `container=`.
    pub container: String,
    /// `tailLines=`.
    pub tail_lines: Option<i64>,
    /// `limitBytes=`.
    pub limit_bytes: Option<i64>,
    /// `sinceTime=` as epoch milliseconds (sent as whole seconds, rounded down).
    pub since_time_ms: Option<i64>,
    /// `timestamps=true`.
    pub timestamps: bool,
}

impl LogRequest {
    /// A read of the whole current log of `container`.
    pub fn container(container: impl Into<String>) -> Self {
        LogRequest { container: container.into(), ..Default::default() }
    }

    fn params(&self) -> LogParams {
        LogParams {
            container: Some(self.container.clone()),
            tail_lines: self.tail_lines,
            limit_bytes: self.limit_bytes,
            since_time: self.since_time_ms.and_then(floor_to_second),
            timestamps: self.timestamps,
            ..Default::default()
        }
    }
}

/// Epoch ms → a `Timestamp` on a whole second at or before it. kube rounds
/// `sinceTime` to the nearest second, which could move it past records the
/// caller still needs; a whole second is left alone.
fn floor_to_second(ms: i64) -> Option<Timestamp> {
    Timestamp::from_second(ms.div_euclid(1000)).ok()
}

/// How a follow stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowEnd {
    /// The body ended cleanly: the container exited and its log was drained,
    /// or a server timed the stream out (the two look the same to a client).
    Eof,
    /// The body broke off (connection reset, incomplete chunked body, ...).
    Cut(ApiError),
}

/// An open `follow=true&timestamps=true` log stream. Read it with
/// [`LogFollow::next_chunk`] until it reports its end.
pub struct LogFollow {
    reader: std::pin::Pin<Box<dyn futures_util::io::AsyncBufRead + Send>>,
    ended: bool,
}

impl LogFollow {
    /// The next chunk of raw log bytes as the server sent them (timestamps
    /// included), or how the stream ended. After an end it keeps answering `Err(FollowEnd::Eof)`.
    pub async fn next_chunk(&mut self) -> Result<Bytes, FollowEnd> {
        if self.ended {
            return Err(FollowEnd::Eof);
        }
        match self.reader.as_mut().fill_buf().await {
            Ok([]) => {
                self.ended = true;
                Err(FollowEnd::Eof)
            }
            Ok(buf) => {
                let chunk = Bytes::copy_from_slice(buf);
                let len = buf.len();
                self.reader.as_mut().consume(len);
                Ok(chunk)
            }
            Err(e) => {
                self.ended = true;
                Err(FollowEnd::Cut(ApiError::no_status(format!(
                    "log stream cut: {}",
                    error_chain(&e)
                ))))
            }
        }
    }
}

/// What the pod watcher saw.
#[derive(Debug, Clone)]
pub enum PodEvent {
    /// The pod as a watch event reports it (added or modified).
    Applied(Box<Pod>),
    /// The pod as a (re-)list found it, when the watch starts or restarts.
    Listed(Box<Pod>),
    /// The pod was deleted, or a re-list no longer contains it.
    Deleted,
    /// The watch failed; the watcher retries by itself after a backoff.
    Error(ApiError),
}

/// The namespace-bound Kubernetes calls of the execute path.
#[derive(Clone)]
pub struct KubeApi {
    client: Client,
    namespace: String,
    pods: Api<Pod>,
    secrets: Api<Secret>,
    pvcs: Api<PersistentVolumeClaim>,
    /// Strings that must never appear in an error message (the sandbox token).
    redact: Arc<Vec<String>>,
    timeouts: Timeouts,
}

/// Per-call timeouts (spec §8.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Every control-plane call (`K8S_API_TIMEOUT_MS`, 10 s).
    pub api: Duration,
    /// One-shot log reads and opening a follow stream (`K8S_LOG_TIMEOUT_MS`, 30 s).
    pub log: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            api: Duration::from_millis(K8S_API_TIMEOUT_MS),
            log: Duration::from_millis(K8S_LOG_TIMEOUT_MS),
        }
    }
}

impl std::fmt::Debug for KubeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApi").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

impl KubeApi {
    /// Calls in `namespace` through `client`.
    pub fn new(client: Client, namespace: &str) -> Self {
        KubeApi {
            pods: Api::namespaced(client.clone(), namespace),
            secrets: Api::namespaced(client.clone(), namespace),
            pvcs: Api::namespaced(client.clone(), namespace),
            client,
            namespace: namespace.to_string(),
            redact: Arc::new(Vec::new()),
            timeouts: Timeouts::default(),
        }
    }

    /// Uses these per-call timeouts instead of the spec's 10 s / 30 s.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Removes these strings (e.g. the sandbox token) from every error message.
    /// Empty strings are ignored.
    pub fn with_redacted(mut self, secrets: impl IntoIterator<Item = String>) -> Self {
        let mut list: Vec<String> = self.redact.as_ref().clone();
        list.extend(secrets.into_iter().filter(|s| !s.is_empty()));
        self.redact = Arc::new(list);
        self
    }

    /// The namespace every call goes to.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn clean(&self, mut err: ApiError, extra: &[&str]) -> ApiError {
        redact(
            &mut err.message,
            self.redact.iter().map(String::as_str).chain(extra.iter().copied()),
        );
        err
    }

    /// One attempt of `call`, bounded by `timeout`.
    async fn call<T>(
        &self,
        what: &str,
        timeout: Duration,
        call: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, ApiError> {
        match tokio::time::timeout(timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.clean(ApiError::from_kube(e), &[])),
            Err(_) => Err(ApiError::timed_out(what, timeout)),
        }
    }

    /// `GET pods?limit=<limit>&labelSelector=<selector>` (init/health: `limit=1`; sweep: the label selector).
    pub async fn list_pods(
        &self,
        label_selector: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<Pod>, ApiError> {
        let lp = list_params(label_selector, limit);
        let list = self.call("list pods", self.timeouts.api, self.pods.list(&lp)).await?;
        Ok(list.items)
    }

    /// `GET secrets?labelSelector=<selector>`.
    pub async fn list_secrets(
        &self,
        label_selector: Option<&str>,
    ) -> Result<Vec<Secret>, ApiError> {
        let lp = list_params(label_selector, None);
        let list = self.call("list secrets", self.timeouts.api, self.secrets.list(&lp)).await?;
        Ok(list.items)
    }

    /// `POST secrets`. The Secret's values are kept out of the error message.
    pub async fn create_secret(&self, secret: &Secret) -> Result<(), ApiError> {
        let result = self
            .call(
                "create secret",
                self.timeouts.api,
                self.secrets.create(&PostParams::default(), secret),
            )
            .await;
        result.map(drop).map_err(|e| self.clean(e, &secret_values(secret)))
    }

    /// `PUT secrets/{name}` without a resourceVersion: an unconditional update.
    pub async fn replace_secret(&self, name: &str, secret: &Secret) -> Result<(), ApiError> {
        let mut body = secret.clone();
        body.metadata.resource_version = None;
        let result = self
            .call(
                "replace secret",
                self.timeouts.api,
                self.secrets.replace(name, &PostParams::default(), &body),
            )
            .await;
        result.map(drop).map_err(|e| self.clean(e, &secret_values(secret)))
    }

    /// `DELETE secrets/{name}`.
    pub async fn delete_secret(&self, name: &str) -> Result<(), ApiError> {
        self.call(
            "delete secret",
            self.timeouts.api,
            self.secrets.delete(name, &DeleteParams::default()),
        )
        .await
        .map(drop)
    }

    /// `POST pods`.
    pub async fn create_pod(&self, pod: &Pod) -> Result<Pod, ApiError> {
        self.call("create pod", self.timeouts.api, self.pods.create(&PostParams::default(), pod))
            .await
    }

    /// `GET pods/{name}`.
    pub async fn read_pod(&self, name: &str) -> Result<Pod, ApiError> {
        self.call("read pod", self.timeouts.api, self.pods.get(name)).await
    }

    /// `DELETE pods/{name}` with `gracePeriodSeconds=0`: the sandbox has nothing to flush.
    pub async fn delete_pod(&self, name: &str) -> Result<(), ApiError> {
        self.delete_pod_with_grace(name, 0).await
    }

    /// `DELETE pods/{name}` with the given `gracePeriodSeconds` (negative values count as 0).
    pub async fn delete_pod_with_grace(
        &self,
        name: &str,
        grace_period_seconds: i64,
    ) -> Result<(), ApiError> {
        let grace = u32::try_from(grace_period_seconds).unwrap_or(0);
        self.call(
            "delete pod",
            self.timeouts.api,
            self.pods.delete(name, &DeleteParams::default().grace_period(grace)),
        )
        .await
        .map(drop)
    }

    /// `GET pods/{name}/log` read to the end as raw bytes (the kubelet may cut
    /// `limitBytes` inside a UTF-8 character, so no decoding happens here).
    pub async fn read_log(&self, name: &str, req: &LogRequest) -> Result<Bytes, ApiError> {
        let lp = req.params();
        let read = async {
            let request = kube::core::Request::new(self.pods.resource_url())
                .logs(name, &lp)
                .map_err(kube::Error::BuildRequest)?;
            let mut reader = self.client.request_stream(request).await?;
            let mut body = Vec::new();
            futures_util::io::AsyncReadExt::read_to_end(&mut reader, &mut body)
                .await
                .map_err(kube::Error::ReadEvents)?;
            Ok(Bytes::from(body))
        };
        self.call("read log", self.timeouts.log, read).await
    }

    /// `GET persistentvolumeclaims/{name}`.
    pub async fn read_pvc(&self, name: &str) -> Result<PersistentVolumeClaim, ApiError> {
        self.call("read pvc", self.timeouts.api, self.pvcs.get(name)).await
    }

    /// `POST persistentvolumeclaims`.
    pub async fn create_pvc(&self, pvc: &PersistentVolumeClaim) -> Result<(), ApiError> {
        self.call("create pvc", self.timeouts.api, self.pvcs.create(&PostParams::default(), pvc))
            .await
            .map(drop)
    }

    /// Opens `GET pods/{name}/log?container=<c>&follow=true&timestamps=true[&sinceTime=...]`.
    /// Opening (until the response head) is bounded by the log timeout; the
    /// body then runs until the container's log ends or the stream breaks.
    pub async fn follow_log(
        &self,
        name: &str,
        container: &str,
        since_time_ms: Option<i64>,
    ) -> Result<LogFollow, ApiError> {
        let lp = LogParams {
            follow: true,
            timestamps: true,
            ..LogRequest { container: container.to_string(), since_time_ms, ..Default::default() }
                .params()
        };
        let reader = self
            .call("open log stream", self.timeouts.log, self.pods.log_stream(name, &lp))
            .await?;
        Ok(LogFollow { reader: Box::pin(reader), ended: false })
    }

    /// Watches the pod `name` (field selector `metadata.name=<name>`) with
    /// kube's default backoff. The stream never ends by itself; drop it to stop.
    /// A re-list that no longer contains the pod is reported as [`PodEvent::Deleted`].
    pub fn watch_pod(&self, name: &str) -> impl Stream<Item = PodEvent> + Send + use<> {
        let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
        let redacted = self.redact.clone();
        let mut listed_since_init = false;
        watcher(self.pods.clone(), config).default_backoff().filter_map(move |event| {
            let out = match event {
                Ok(watcher::Event::Apply(pod)) => Some(PodEvent::Applied(Box::new(pod))),
                Ok(watcher::Event::Delete(_)) => Some(PodEvent::Deleted),
                Ok(watcher::Event::Init) => {
                    listed_since_init = false;
                    None
                }
                Ok(watcher::Event::InitApply(pod)) => {
                    listed_since_init = true;
                    Some(PodEvent::Listed(Box::new(pod)))
                }
                Ok(watcher::Event::InitDone) => (!listed_since_init).then_some(PodEvent::Deleted),
                Err(e) => {
                    let mut err = ApiError::from_watcher(e);
                    redact(&mut err.message, redacted.iter().map(String::as_str));
                    Some(PodEvent::Error(err))
                }
            };
            std::future::ready(out)
        })
    }
}

fn list_params(label_selector: Option<&str>, limit: Option<u32>) -> ListParams {
    let mut lp = ListParams::default();
    if let Some(selector) = label_selector {
        lp = lp.labels(selector);
    }
    if let Some(limit) = limit {
        lp = lp.limit(limit);
    }
    lp
}

/// The values of a Secret, to scrub from error messages.
fn secret_values(secret: &Secret) -> Vec<&str> {
    let string_data = secret.string_data.iter().flat_map(|m| m.values());
    string_data.map(String::as_str).filter(|v| v.len() >= 8).collect()
}

/// Replaces every non-empty secret in `message` with `[redacted]` (the sandbox token, the exec
/// Secret's values): no error or warning may carry them.
fn redact<'a>(message: &mut String, secrets: impl IntoIterator<Item = &'a str>) {
    for secret in secrets {
        if !secret.is_empty() && message.contains(secret) {
            *message = message.replace(secret, "[redacted]");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_time_is_floored_to_the_second() {
        assert_eq!(floor_to_second(1_700_000_000_999).unwrap().to_string(), "2023-11-14T22:13:20Z");
        assert_eq!(floor_to_second(1_700_000_000_000).unwrap().to_string(), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn status_errors_keep_their_code_and_others_have_none() {
        let status = kube::core::Status::failure("pods \"x\" not found", "NotFound").with_code(404);
        let err = ApiError::from_kube(kube::Error::Api(status.boxed()));
        assert_eq!(err.status, Some(404));
        assert!(err.is_not_found());
        assert_eq!(err.message, "pods \"x\" not found");
        let err = ApiError::from_kube(kube::Error::LinesCodecMaxLineLengthExceeded);
        assert_eq!(err.status, None);
    }
}
