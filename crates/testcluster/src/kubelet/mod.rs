//! The simulated kubelet: runs each pod through its scenario (pod and container statuses in the
//! store, output into the container logs of its [`PodRuntime`]) and, as the container log manager,
//! rotates logs that grew past `containerLogMaxSize`. It acts on the shared state and is driven by the
//! API (pod creation) and the control actions.

mod lifecycle;
mod status;

use std::sync::Arc;

use crate::runtime::{ContainerRuntime, PodRuntime};
use crate::state::Shared;

pub(crate) use status::container_has_started;

/// Starts the kubelet task that runs a newly stored pod to its end.
pub(crate) fn start_pod(shared: Arc<Shared>, runtime: Arc<PodRuntime>) {
    let handle = tokio::spawn(lifecycle::run_pod(shared, runtime.clone()));
    runtime.attach_task(handle);
}

/// The container log manager: every `rotation_period`, rotate running containers' logs that reached
/// `max_log_size`.
pub(crate) async fn rotation_monitor(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut ticker = tokio::time::interval(
        shared.config.rotation_period.max(std::time::Duration::from_millis(1)),
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        let containers: Vec<Arc<ContainerRuntime>> = {
            let store = shared.store();
            store.pods.values().flat_map(|entry| entry.runtime.containers.iter().cloned()).collect()
        };
        for container in containers {
            if container.maybe_rotate(shared.config.max_log_size) {
                shared.metrics.count_rotation();
            }
        }
    }
}
