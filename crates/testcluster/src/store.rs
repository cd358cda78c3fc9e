//! The object store: pods (each with its kubelet runtime), secrets and PVCs under one
//! resource-version counter, and the pod watch log that watches replay from and subscribe to. It
//! knows the pod runtimes only as values it keeps; it never runs them.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Secret};
use serde::Serialize;
use tokio::sync::broadcast;

use crate::runtime::PodRuntime;
use crate::util::Key;

/// A pod and the simulated kubelet's handle on it.
pub(crate) struct PodEntry {
    pub(crate) pod: Pod,
    pub(crate) runtime: Arc<PodRuntime>,
}

/// Type of a watch event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
    Error,
}

/// A pod change, already serialised as one watch line.
#[derive(Debug)]
pub(crate) struct PodEvent {
    pub(crate) resource_version: u64,
    pub(crate) namespace: String,
    pub(crate) name: String,
    pub(crate) labels: Option<BTreeMap<String, String>>,
    pub(crate) line: Bytes,
}

#[derive(Serialize)]
struct WatchLine<'a, T> {
    #[serde(rename = "type")]
    kind: EventType,
    object: &'a T,
}

/// Serialises one watch event line (`{"type":...,"object":...}\n`).
pub(crate) fn watch_line<T: Serialize>(kind: EventType, object: &T) -> Bytes {
    let mut line = serde_json::to_vec(&WatchLine { kind, object }).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// Events to replay and the live subscription of a new watch.
pub(crate) type WatchStart = (Vec<Arc<PodEvent>>, broadcast::Receiver<Arc<PodEvent>>);

/// All objects. Guarded by one mutex; never held across an `.await`.
pub(crate) struct Store {
    resource_version: u64,
    pub(crate) pods: BTreeMap<Key, PodEntry>,
    pub(crate) secrets: BTreeMap<Key, Secret>,
    pub(crate) pvcs: BTreeMap<Key, PersistentVolumeClaim>,
    history: VecDeque<Arc<PodEvent>>,
    history_capacity: usize,
    /// Events with a resource version at or below this are no longer in `history`.
    compacted_through: u64,
    events: broadcast::Sender<Arc<PodEvent>>,
    /// The same events per pod name, for watches that select one name: with hundreds of them
    /// open, each wakes for its own pod's events only instead of for every event.
    named: HashMap<String, broadcast::Sender<Arc<PodEvent>>>,
}

/// Events kept for a slow single-name watch before it must re-list.
const NAMED_CHANNEL_CAPACITY: usize = 256;

impl Store {
    pub(crate) fn new(history_capacity: usize) -> Self {
        let (events, _) = broadcast::channel(4096);
        Store {
            resource_version: 1,
            pods: BTreeMap::new(),
            secrets: BTreeMap::new(),
            pvcs: BTreeMap::new(),
            history: VecDeque::new(),
            history_capacity: history_capacity.max(1),
            compacted_through: 1,
            events,
            named: HashMap::new(),
        }
    }

    /// The latest resource version (what a list reports).
    pub(crate) fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Takes the next resource version for a change.
    pub(crate) fn next_resource_version(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    /// Records a pod change (the pod's `resourceVersion` must already be the new one) and tells watchers.
    pub(crate) fn publish_pod(&mut self, kind: EventType, pod: &Pod) {
        let meta = &pod.metadata;
        let event = Arc::new(PodEvent {
            resource_version: self.resource_version,
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            labels: meta.labels.clone(),
            line: watch_line(kind, pod),
        });
        if self.history.len() == self.history_capacity
            && let Some(oldest) = self.history.pop_front()
        {
            self.compacted_through = oldest.resource_version;
        }
        self.history.push_back(event.clone());
        // No receivers is fine: nobody is watching.
        if let Some(named) = self.named.get(&event.name) {
            if named.receiver_count() == 0 {
                self.named.remove(&event.name);
            } else {
                let _ = named.send(event.clone());
            }
        }
        let _ = self.events.send(event);
    }

    /// Starts a watch: the events after `since` (None = no history) and a live subscription, taken
    /// atomically so no event is missed or repeated. `Err` when `since` was compacted away.
    /// With `name`, the subscription carries that pod name's events only.
    pub(crate) fn watch_from(
        &mut self,
        since: Option<u64>,
        name: Option<&str>,
    ) -> Result<WatchStart, u64> {
        let replay = match since {
            None => Vec::new(),
            Some(rv) if rv < self.compacted_through => return Err(self.compacted_through),
            Some(rv) => self
                .history
                .iter()
                .filter(|e| e.resource_version > rv && name.is_none_or(|n| n == e.name))
                .cloned()
                .collect(),
        };
        let live = match name {
            None => self.events.subscribe(),
            Some(name) => self
                .named
                .entry(name.to_string())
                .or_insert_with(|| broadcast::channel(NAMED_CHANNEL_CAPACITY).0)
                .subscribe(),
        };
        Ok((replay, live))
    }
}
