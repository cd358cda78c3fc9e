//! State shared by the API server, the simulated kubelet and the control endpoints.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff;
use tale_sandbox_kubelet_logs::Timestamp;
use tokio::sync::watch;

use crate::config::ClusterConfig;
use crate::faults::FaultInjector;
use crate::metrics::Metrics;
use crate::scenario::Scenario;
use crate::store::{EventType, Key, Store};

/// Annotation that keys scenarios.
pub const EXECUTION_ID_ANNOTATION: &str = "tale.dev/execution-id";

pub(crate) struct Shared {
    pub(crate) config: ClusterConfig,
    store: Mutex<Store>,
    pub(crate) scenarios: Mutex<HashMap<String, Scenario>>,
    pub(crate) default_scenario: Mutex<Scenario>,
    pub(crate) faults: Mutex<FaultInjector>,
    pub(crate) metrics: Metrics,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Base URL (`http://127.0.0.1:<port>`), set once the listener is bound.
    pub(crate) address: String,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the state stays usable and
/// one failed request must not take the whole cluster down.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn new(config: ClusterConfig, shutdown: watch::Receiver<bool>, address: String) -> Self {
        Shared {
            store: Mutex::new(Store::new(config.watch_history)),
            scenarios: Mutex::new(HashMap::new()),
            default_scenario: Mutex::new(config.default_scenario.clone()),
            faults: Mutex::new(FaultInjector::new(config.faults.clone())),
            metrics: Metrics::default(),
            shutdown,
            address,
            config,
        }
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// Changes a stored pod, bumps its resource version and tells watchers. False if the pod is gone.
    pub(crate) fn update_pod(&self, key: &Key, change: impl FnOnce(&mut Pod)) -> bool {
        let mut store = self.store();
        let rv = store.resource_version() + 1;
        let Some(entry) = store.pods.get_mut(key) else { return false };
        change(&mut entry.pod);
        entry.pod.metadata.resource_version = Some(rv.to_string());
        let pod = entry.pod.clone();
        store.next_resource_version();
        store.publish_pod(EventType::Modified, &pod);
        true
    }

    /// The scenario of a pod: by its execution id, else the default.
    pub(crate) fn scenario_for(&self, pod: &Pod) -> Scenario {
        let id = pod.metadata.annotations.as_ref().and_then(|a| a.get(EXECUTION_ID_ANNOTATION));
        if let Some(scenario) = id.and_then(|id| lock(&self.scenarios).get(id).cloned()) {
            return scenario;
        }
        lock(&self.default_scenario).clone()
    }
}

/// Now, for CRI log records.
pub(crate) fn log_now() -> Timestamp {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_unix_nanos(nanos)
}

/// Now, for object metadata and statuses (serialised with second precision).
pub(crate) fn api_now() -> Time {
    Time(jiff::Timestamp::now())
}
