//! The per-pod request log of the `pods/log` route: for every request, its query, status, the
//! faults applied, the bytes sent, how its body ended and when — what a test needs to replay the
//! exact sequence of reads a client made when its result looks wrong. Kept per pod (also after the
//! pod is gone), at most [`MAX_PER_POD`] requests each; served by
//! `GET /sim/v1/namespaces/{ns}/pods/{pod}/log-requests`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::faults::Fault;
use crate::util::{Key, lock};

/// Requests kept per pod; later ones are counted in [`PodLogRequests::dropped`] only.
pub(crate) const MAX_PER_POD: usize = 4096;

/// Now, in milliseconds since the Unix epoch (with a fraction: microseconds matter here).
pub(crate) fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// How a logged request's response ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum LogRequestEnd {
    /// Answered without a log body (an error status, injected or not).
    Refused,
    /// The connection was closed without a response (`reset` fault).
    Reset,
    /// The log body ended because the log endpoint ended it: the file was drained (a plain read)
    /// or the container exited and its log was drained (a follow stream).
    Eof,
    /// A `cutBody` fault ended the body cleanly before the log endpoint ended it.
    Cut,
    /// The body was aborted mid-way (an abrupt `cutBody`, or an error).
    Aborted,
    /// The client went away before the body ended.
    ClientGone,
}

/// One request of the `pods/log` route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRequest {
    /// Order of arrival among all `pods/log` requests of the cluster (from 1).
    pub seq: u64,
    /// The container the request read (as asked, or the one picked when the pod has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The raw query string.
    pub query: String,
    /// When the request arrived, in milliseconds since the Unix epoch.
    pub started_at_ms: f64,
    /// When its response ended (or was refused).
    pub ended_at_ms: f64,
    /// HTTP status (0: reset without a response).
    pub status: u16,
    /// The faults applied to it, as in the fault plan.
    pub faults: Vec<Fault>,
    /// Body bytes handed to the connection.
    pub bytes_sent: u64,
    /// Body bytes the log endpoint rendered (more than sent when a fault cut the body).
    pub bytes_rendered: u64,
    /// The file generation and record index where the read started (after `sinceTime` or
    /// `tailLines` picked its start: the first record it could serve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<(u64, usize)>,
    /// The file generation and record index after the last record rendered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_position: Option<(u64, usize)>,
    /// The current file's generation and record count when the read started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_at_start: Option<(u64, usize)>,
    /// How the response ended.
    pub end: LogRequestEnd,
}

/// One rotation of a container's log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRotation {
    /// The container.
    pub container: String,
    /// The generation of the file that was rotated away (the new `0.log` has the next).
    pub generation: u64,
    /// Records the rotated file held.
    pub records: usize,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: f64,
}

/// The request log of one pod (`GET /sim/v1/namespaces/{ns}/pods/{pod}/log-requests`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodLogRequests {
    /// Its `pods/log` requests in the order they ended.
    pub requests: Vec<LogRequest>,
    /// Requests not kept (past [`MAX_PER_POD`]).
    pub dropped: u64,
    /// Rotations of its containers' logs, oldest first (empty once the pod is gone).
    pub rotations: Vec<LogRotation>,
    /// When each container exited, in milliseconds since the Unix epoch.
    pub exits: BTreeMap<String, f64>,
}

/// Every pod's requests.
#[derive(Default)]
pub(crate) struct LogRequestLog {
    pods: Mutex<BTreeMap<Key, (Vec<LogRequest>, u64)>>,
    next_seq: Mutex<u64>,
}

impl LogRequestLog {
    /// Starts the entry of a request that just arrived.
    pub(crate) fn begin(&self, pod: Key, container: Option<String>, query: String) -> Probe {
        let seq = {
            let mut next = lock(&self.next_seq);
            *next += 1;
            *next
        };
        Probe(Arc::new(Mutex::new(Pending {
            pod,
            entry: LogRequest {
                seq,
                container,
                query,
                started_at_ms: now_ms(),
                ended_at_ms: 0.0,
                status: 0,
                faults: Vec::new(),
                bytes_sent: 0,
                bytes_rendered: 0,
                start: None,
                end_position: None,
                file_at_start: None,
                end: LogRequestEnd::Refused,
            },
            log_ended: false,
            finished: false,
        })))
    }

    fn keep(&self, pod: Key, entry: LogRequest) {
        let mut pods = lock(&self.pods);
        let (requests, dropped) = pods.entry(pod).or_default();
        if requests.len() < MAX_PER_POD {
            requests.push(entry);
        } else {
            *dropped += 1;
        }
    }

    /// The requests kept for a pod, and how many were not.
    pub(crate) fn of(&self, pod: &Key) -> (Vec<LogRequest>, u64) {
        lock(&self.pods).get(pod).cloned().unwrap_or_default()
    }
}

struct Pending {
    pod: Key,
    entry: LogRequest,
    /// The log endpoint's own body ended (not a fault's cut).
    log_ended: bool,
    finished: bool,
}

/// The entry of one request while it is answered: the guard fills in status and faults and counts
/// what the connection got; the log handler adds what it rendered and where in the log.
#[derive(Clone)]
pub(crate) struct Probe(Arc<Mutex<Pending>>);

impl Probe {
    /// The faults decided for the request.
    pub(crate) fn set_faults(&self, faults: &[Fault]) {
        lock(&self.0).entry.faults = faults.to_vec();
    }

    /// The container the handler picked.
    pub(crate) fn set_container(&self, container: &str) {
        lock(&self.0).entry.container = Some(container.to_string());
    }

    /// Where the read starts, and the current file then.
    pub(crate) fn started(&self, start: (u64, usize), file: (u64, usize)) {
        let mut p = lock(&self.0);
        p.entry.start = Some(start);
        p.entry.file_at_start = Some(file);
    }

    /// The handler rendered `bytes` more, up to `position`.
    pub(crate) fn rendered(&self, bytes: u64, position: (u64, usize)) {
        let mut p = lock(&self.0);
        p.entry.bytes_rendered += bytes;
        p.entry.end_position = Some(position);
    }

    /// The handler's body ended by itself.
    pub(crate) fn log_ended(&self) {
        lock(&self.0).log_ended = true;
    }

    /// The connection got `bytes` more.
    pub(crate) fn sent(&self, bytes: u64) {
        lock(&self.0).entry.bytes_sent += bytes;
    }

    /// Ends the entry (once) and keeps it in `log`. `end` is how the body ended as the connection
    /// saw it; a clean end before the handler's own end is a fault's cut.
    pub(crate) fn finish(&self, log: &LogRequestLog, status: u16, end: LogRequestEnd) {
        let (pod, entry) = {
            let mut p = lock(&self.0);
            if p.finished {
                return;
            }
            p.finished = true;
            p.entry.status = status;
            p.entry.end = match end {
                LogRequestEnd::Eof if !p.log_ended => LogRequestEnd::Cut,
                other => other,
            };
            p.entry.ended_at_ms = now_ms();
            (p.pod.clone(), p.entry.clone())
        };
        log.keep(pod, entry);
    }
}
