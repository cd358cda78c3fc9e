//! What the simulated kubelet holds for each pod it runs: the containers' logs and the signals that
//! reach them from outside (kill, stop, release of `waitRelease` steps). These are plain values with
//! no knowledge of the cluster around them; the kubelet's lifecycle drives them and the store keeps
//! them next to their pods.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::Pod;
use tale_sandbox_kubelet_logs::{ContainerLog, LogConfig, Stream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::log_requests::now_ms;
use crate::scenario::{ContainerExit, Scenario};
use crate::util::{Key, lock, log_now};

/// Why a pod's containers are being stopped from outside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// The pod was deleted.
    Deleted,
    /// The pod was evicted, with this message.
    Evicted(String),
}

/// Which records of one container's log files reads served: per file generation, the end of the
/// records served, and the record lengths of every rotated file (kept at its rotation).
#[derive(Default)]
struct Served {
    ends: std::collections::BTreeMap<u64, usize>,
    rotated: std::collections::BTreeMap<u64, Vec<u64>>,
    /// Every rotation: the generation rotated away, its records, when (ms since the epoch).
    rotations: Vec<(u64, usize, f64)>,
}

/// One container: its log and the signals the kubelet and the control endpoints send it.
pub(crate) struct ContainerRuntime {
    pub(crate) name: String,
    pub(crate) init: bool,
    log: Mutex<ContainerLog>,
    served: Mutex<Served>,
    changed: watch::Sender<u64>,
    kill: watch::Sender<Option<ContainerExit>>,
}

impl ContainerRuntime {
    fn new(name: String, init: bool, config: LogConfig) -> Self {
        let log = match ContainerLog::new(config) {
            Ok(log) => log,
            // The cluster validates the log configuration at start; defaults are the safe fallback.
            Err(_) => ContainerLog::new(LogConfig::default())
                .unwrap_or_else(|_| unreachable!("default config is valid")),
        };
        ContainerRuntime {
            name,
            init,
            log: Mutex::new(log),
            served: Mutex::default(),
            changed: watch::channel(0).0,
            kill: watch::channel(None).0,
        }
    }

    /// The container wrote `bytes` to `stream` now.
    pub(crate) fn write(&self, stream: Stream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        lock(&self.log).write(log_now(), stream, bytes);
        self.notify();
    }

    /// The container exited: the log is complete and follow streams end once drained.
    pub(crate) fn close(&self) {
        {
            let mut log = lock(&self.log);
            if log.is_exited() {
                return;
            }
            log.close(log_now());
        }
        self.notify();
    }

    /// The container log manager's periodic check for this container.
    pub(crate) fn maybe_rotate(&self, max_size: u64) -> bool {
        let rotated = {
            let mut log = lock(&self.log);
            let rotated = !log.is_exited() && log.maybe_rotate(max_size);
            if rotated {
                self.note_rotated(&log);
            }
            rotated
        };
        if rotated {
            self.notify();
        }
        rotated
    }

    /// Rotates now (control endpoint), whatever the size. False if the container already exited.
    pub(crate) fn rotate_now(&self) -> bool {
        let rotated = {
            let mut log = lock(&self.log);
            let running = !log.is_exited();
            if running {
                log.rotate();
                self.note_rotated(&log);
            }
            running
        };
        if rotated {
            self.notify();
        }
        rotated
    }

    /// Keeps the record lengths of the file just rotated, to tell later which of its bytes no
    /// read ever served.
    fn note_rotated(&self, log: &ContainerLog) {
        let generation = log.generation() - 1;
        if let Some(lengths) = log.record_lengths(generation) {
            let mut served = lock(&self.served);
            served.rotations.push((generation, lengths.len(), now_ms()));
            served.rotated.insert(generation, lengths);
        }
    }

    /// Every rotation of this log so far: the generation rotated away, its records, and when (ms
    /// since the Unix epoch).
    pub(crate) fn rotations(&self) -> Vec<(u64, usize, f64)> {
        lock(&self.served).rotations.clone()
    }

    /// A read served the records of file `generation` before index `end`.
    pub(crate) fn note_served(&self, generation: u64, end: usize) {
        let mut served = lock(&self.served);
        let at = served.ends.entry(generation).or_default();
        *at = (*at).max(end);
    }

    /// Records and bytes (as the true stream counts them) at the end of rotated files that no
    /// read served before, or after, their rotation: what no client of the log API can ever see.
    pub(crate) fn unserved(&self) -> (u64, u64) {
        let served = lock(&self.served);
        let mut records = 0u64;
        let mut bytes = 0u64;
        for (generation, lengths) in &served.rotated {
            let from = served.ends.get(generation).copied().unwrap_or(0).min(lengths.len());
            records += (lengths.len() - from) as u64;
            bytes += lengths[from..].iter().sum::<u64>();
        }
        (records, bytes)
    }

    fn notify(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Runs `f` with the log locked. Never await inside.
    pub(crate) fn with_log<R>(&self, f: impl FnOnce(&ContainerLog) -> R) -> R {
        f(&lock(&self.log))
    }

    /// A receiver that changes whenever the log does.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Asks the running container to die with `exit`.
    pub(crate) fn request_kill(&self, exit: ContainerExit) {
        self.kill.send_replace(Some(exit));
    }

    /// Resolves when a kill was requested.
    pub(crate) async fn killed(&self) -> ContainerExit {
        let mut rx = self.kill.subscribe();
        loop {
            if let Some(exit) = rx.borrow_and_update().clone() {
                return exit;
            }
            if rx.changed().await.is_err() {
                // The sender lives as long as `self`; this is unreachable while we are borrowed.
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The kubelet's side of one pod.
pub(crate) struct PodRuntime {
    pub(crate) key: Key,
    pub(crate) scenario: Scenario,
    pub(crate) containers: Vec<Arc<ContainerRuntime>>,
    stop: watch::Sender<Option<StopReason>>,
    releases: watch::Sender<HashSet<String>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl PodRuntime {
    /// Runtime for a pod as stored (init containers first, then containers).
    pub(crate) fn new(key: Key, pod: &Pod, scenario: Scenario, log: LogConfig) -> Self {
        let spec = pod.spec.as_ref();
        let init = spec
            .and_then(|s| s.init_containers.as_ref())
            .into_iter()
            .flatten()
            .map(|c| (c.name.clone(), true));
        let main = spec
            .map(|s| s.containers.iter())
            .into_iter()
            .flatten()
            .map(|c| (c.name.clone(), false));
        let containers = init
            .chain(main)
            .map(|(name, init)| Arc::new(ContainerRuntime::new(name, init, log)))
            .collect();
        PodRuntime {
            key,
            scenario,
            containers,
            stop: watch::channel(None).0,
            releases: watch::channel(HashSet::new()).0,
            task: Mutex::new(None),
        }
    }

    /// The container named `name`.
    pub(crate) fn container(&self, name: &str) -> Option<&Arc<ContainerRuntime>> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// Keeps the handle of the kubelet task running this pod, so that [`PodRuntime::abort`] can end it.
    pub(crate) fn attach_task(&self, handle: JoinHandle<()>) {
        *lock(&self.task) = Some(handle);
    }

    /// Stops the pod's containers (delete or evict). Only the first reason counts.
    pub(crate) fn stop(&self, reason: StopReason) {
        self.stop.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(reason);
                true
            } else {
                false
            }
        });
    }

    /// Resolves with the first stop reason.
    pub(crate) async fn stopped(&self) -> StopReason {
        let mut rx = self.stop.subscribe();
        loop {
            if let Some(reason) = rx.borrow_and_update().clone() {
                return reason;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Releases `WaitRelease { name }` steps (now and in the future).
    pub(crate) fn release(&self, name: &str) {
        self.releases.send_modify(|set| {
            set.insert(name.to_string());
        });
    }

    pub(crate) async fn wait_release(&self, name: &str) {
        let mut rx = self.releases.subscribe();
        loop {
            if rx.borrow_and_update().contains(name) {
                return;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Ends the kubelet task at once (server shutdown) and closes every log so streams end.
    pub(crate) fn abort(&self) {
        if let Some(handle) = lock(&self.task).take() {
            handle.abort();
        }
        for container in &self.containers {
            container.close();
        }
    }
}
