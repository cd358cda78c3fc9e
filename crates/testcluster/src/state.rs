//! The state one running cluster shares between the API handlers, the simulated kubelet and the
//! control endpoints: configuration, the object store, scenarios, the fault injector, counters and
//! the shutdown signal. It sits above the store and below everything that acts on it (the kubelet,
//! the control actions in `sim`, the API).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use k8s_openapi::api::core::v1::Pod;
use tokio::sync::watch;

use crate::config::ClusterConfig;
use crate::faults::FaultInjector;
use crate::log_requests::LogRequestLog;
use crate::metrics::Metrics;
use crate::scenario::Scenario;
use crate::store::{EventType, Store};
use crate::util::{Key, lock};

/// The pod annotation whose value picks the pod's scenario (set with `PUT /sim/v1/scenarios/{id}`).
pub const EXECUTION_ID_ANNOTATION: &str = "tale.dev/execution-id";

/// Everything one cluster's tasks share, behind an `Arc`. The store's mutex is never held across an
/// `.await`.
pub(crate) struct Shared {
    pub(crate) config: ClusterConfig,
    store: Mutex<Store>,
    pub(crate) scenarios: Mutex<HashMap<String, Scenario>>,
    pub(crate) default_scenario: Mutex<Scenario>,
    pub(crate) faults: Mutex<FaultInjector>,
    pub(crate) metrics: Metrics,
    /// Every `pods/log` request, per pod.
    pub(crate) log_requests: LogRequestLog,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// Base URL (`https://127.0.0.1:<port>`, or `http://` over plain HTTP), known once the listener
    /// is bound.
    pub(crate) address: String,
}

impl Shared {
    pub(crate) fn new(
        config: ClusterConfig,
        shutdown: watch::Receiver<bool>,
        address: String,
    ) -> Self {
        Shared {
            store: Mutex::new(Store::new(config.watch_history)),
            scenarios: Mutex::new(HashMap::new()),
            default_scenario: Mutex::new(config.default_scenario.clone()),
            faults: Mutex::new(FaultInjector::new(config.faults.clone())),
            metrics: Metrics::default(),
            log_requests: LogRequestLog::default(),
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
