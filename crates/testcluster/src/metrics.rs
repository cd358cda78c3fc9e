//! Counters: the ground truth for "bytes fetched per stdout byte" and "nothing leaked" — requests per
//! route and status, log bytes per container, faults injected, rotations, open streams and watches.
//! The live object counts are added by the caller when it takes a snapshot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::util::lock;

/// Namespace, pod and container.
type ContainerKey = (String, String, String);

#[derive(Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    log_bytes: Mutex<BTreeMap<ContainerKey, u64>>,
    /// Files and records skipped, per container.
    follow_skips: Mutex<BTreeMap<ContainerKey, (u64, u64)>>,
    faults: Mutex<BTreeMap<(String, String), u64>>,
    rotations: AtomicU64,
    open_log_streams: Arc<AtomicI64>,
    open_watches: Arc<AtomicI64>,
}

/// Requests answered on one route with one HTTP status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestCount {
    /// The route as named in metrics and fault rules, e.g. `pods.log`, `sim`, `unmatched`.
    pub route: String,
    /// HTTP status code (0 when the connection was reset without a response).
    pub code: u16,
    /// How many requests on `route` were answered with `code` since the cluster started.
    pub count: u64,
}

/// Log body bytes served for one container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogBytes {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod whose log was read.
    pub pod: String,
    /// The container whose log was read (`runner`, `harvest`, `stage`).
    pub container: String,
    /// Bytes of `pods/log` response bodies sent.
    pub bytes: u64,
}

/// What the follow streams of one container never served, though it was written: whole files a
/// stream jumped over (it drains its own rotated file, then reopens `0.log` by path, so a file
/// rotated in between is skipped, as the kubelet does) and, with rotations that drop unread records,
/// those records. No client of the log API can see these; they are the cluster's own account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FollowSkip {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod whose log was followed.
    pub pod: String,
    /// The container whose log was followed.
    pub container: String,
    /// Rotated files a follow stream jumped over.
    pub files: u64,
    /// Records a follow stream never served because their file was rotated before it read them.
    pub records: u64,
}

/// Faults injected on one route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultCount {
    /// The route the faults hit, as named in fault rules (`pods.log`, ...).
    pub route: String,
    /// Fault kind (`status`, `tooManyRequests`, `reset`, `cutBody`, `stall`, `slow`).
    pub kind: String,
    /// How many times this kind of fault was injected on this route.
    pub count: u64,
}

/// A snapshot of every counter (`GET /sim/v1/metrics`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsSnapshot {
    /// Requests per route and status, in route order.
    pub requests: Vec<RequestCount>,
    /// Log bytes served per container.
    pub log_bytes: Vec<LogBytes>,
    /// Faults injected per route and kind.
    pub faults: Vec<FaultCount>,
    /// Log rotations done by the periodic monitor.
    pub rotations: u64,
    /// Per container, what follow streams skipped (see [`FollowSkip`]); only containers with a
    /// skip are listed.
    #[serde(default)]
    pub follow_skips: Vec<FollowSkip>,
    /// `pods/log` responses currently streaming.
    pub open_log_streams: i64,
    /// Pod watches currently open (a watch counts until its response body ends).
    pub open_watches: i64,
    /// Pods stored (terminating ones included).
    pub live_pods: usize,
    /// Secrets in the store now, all namespaces.
    pub live_secrets: usize,
    /// PersistentVolumeClaims in the store now, all namespaces.
    pub live_pvcs: usize,
}

impl MetricsSnapshot {
    /// Requests on `route` with any status.
    pub fn requests_on(&self, route: &str) -> u64 {
        self.requests.iter().filter(|r| r.route == route).map(|r| r.count).sum()
    }

    /// Requests on `route` answered with `code`.
    pub fn requests_with(&self, route: &str, code: u16) -> u64 {
        self.requests.iter().filter(|r| r.route == route && r.code == code).map(|r| r.count).sum()
    }

    /// Log bytes served for one container.
    pub fn log_bytes_of(&self, pod: &str, container: &str) -> u64 {
        self.log_bytes
            .iter()
            .filter(|l| l.pod == pod && l.container == container)
            .map(|l| l.bytes)
            .sum()
    }
}

/// Decrements a gauge when dropped (the stream or watch ended, however it ended).
pub(crate) struct GaugeGuard(Arc<AtomicI64>);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub(crate) fn count_request(&self, route: &str, code: u16) {
        *lock(&self.requests).entry((route.to_string(), code)).or_default() += 1;
    }

    pub(crate) fn count_log_bytes(&self, namespace: &str, pod: &str, container: &str, bytes: u64) {
        *lock(&self.log_bytes)
            .entry((namespace.to_string(), pod.to_string(), container.to_string()))
            .or_default() += bytes;
    }

    pub(crate) fn count_follow_skip(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        files: u64,
        records: u64,
    ) {
        if files == 0 && records == 0 {
            return;
        }
        let mut skips = lock(&self.follow_skips);
        let entry = skips
            .entry((namespace.to_string(), pod.to_string(), container.to_string()))
            .or_default();
        entry.0 += files;
        entry.1 += records;
    }

    pub(crate) fn count_fault(&self, route: &str, kind: &str) {
        *lock(&self.faults).entry((route.to_string(), kind.to_string())).or_default() += 1;
    }

    pub(crate) fn count_rotation(&self) {
        self.rotations.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn log_stream_opened(&self) -> GaugeGuard {
        self.open_log_streams.fetch_add(1, Ordering::Relaxed);
        GaugeGuard(self.open_log_streams.clone())
    }

    pub(crate) fn watch_opened(&self) -> GaugeGuard {
        self.open_watches.fetch_add(1, Ordering::Relaxed);
        GaugeGuard(self.open_watches.clone())
    }

    pub(crate) fn snapshot(
        &self,
        live_pods: usize,
        live_secrets: usize,
        live_pvcs: usize,
    ) -> MetricsSnapshot {
        MetricsSnapshot {
            requests: lock(&self.requests)
                .iter()
                .map(|((route, code), count)| RequestCount {
                    route: route.clone(),
                    code: *code,
                    count: *count,
                })
                .collect(),
            log_bytes: lock(&self.log_bytes)
                .iter()
                .map(|((namespace, pod, container), bytes)| LogBytes {
                    namespace: namespace.clone(),
                    pod: pod.clone(),
                    container: container.clone(),
                    bytes: *bytes,
                })
                .collect(),
            faults: lock(&self.faults)
                .iter()
                .map(|((route, kind), count)| FaultCount {
                    route: route.clone(),
                    kind: kind.clone(),
                    count: *count,
                })
                .collect(),
            rotations: self.rotations.load(Ordering::Relaxed),
            follow_skips: lock(&self.follow_skips)
                .iter()
                .map(|((namespace, pod, container), (files, records))| FollowSkip {
                    namespace: namespace.clone(),
                    pod: pod.clone(),
                    container: container.clone(),
                    files: *files,
                    records: *records,
                })
                .collect(),
            open_log_streams: self.open_log_streams.load(Ordering::Relaxed),
            open_watches: self.open_watches.load(Ordering::Relaxed),
            live_pods,
            live_secrets,
            live_pvcs,
        }
    }
}
