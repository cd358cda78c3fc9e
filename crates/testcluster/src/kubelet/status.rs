//! Pod status as the kubelet reports it: container states and ids, the phase computed from them
//! (restartPolicy Never), conditions, IPs. Pure functions on `Pod` values; the lifecycle applies them
//! through the store.

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};

use crate::util::api_now;

pub(crate) const NODE_NAME: &str = "testcluster-node";
const NODE_IP: &str = "127.0.0.1";

fn pod_ip(pod: &Pod) -> String {
    // Stable per pod, inside 10.244.0.0/16 like a kind cluster's pod network (never contacted).
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let hash = uid.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("10.244.{}.{}", (hash >> 8) % 256, hash % 254 + 1)
}

pub(crate) fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(ContainerStateWaiting { reason: Some(reason.to_string()), message }),
        ..ContainerState::default()
    }
}

pub(crate) fn running() -> ContainerState {
    ContainerState {
        running: Some(ContainerStateRunning { started_at: Some(api_now()) }),
        ..ContainerState::default()
    }
}

/// Whether a pod's status shows the named container as having started (running or terminated): the
/// condition for serving its log.
pub(crate) fn container_has_started(pod: &Pod, name: &str) -> Option<Result<(), String>> {
    let status = pod.status.as_ref();
    let all = status
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .chain(status.and_then(|s| s.container_statuses.as_ref()).into_iter().flatten());
    let found = all.into_iter().find(|c| c.name == name)?;
    let state = found.state.as_ref();
    if state.is_some_and(|s| s.running.is_some() || s.terminated.is_some()) {
        return Some(Ok(()));
    }
    let reason = state
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.clone())
        .unwrap_or_else(|| "ContainerCreating".to_string());
    Some(Err(reason))
}

fn status_mut(pod: &mut Pod) -> &mut PodStatus {
    pod.status.get_or_insert_with(PodStatus::default)
}

fn set_condition(
    pod: &mut Pod,
    kind: &str,
    value: bool,
    reason: Option<&str>,
    message: Option<String>,
) {
    let now = api_now();
    let conditions = status_mut(pod).conditions.get_or_insert_with(Vec::new);
    let wanted = if value { "True" } else { "False" };
    match conditions.iter_mut().find(|c| c.type_ == kind) {
        Some(c) if c.status == wanted => {}
        Some(c) => {
            c.status = wanted.to_string();
            c.last_transition_time = Some(now);
            c.reason = reason.map(str::to_string);
            c.message = message;
        }
        None => conditions.push(PodCondition {
            type_: kind.to_string(),
            status: wanted.to_string(),
            last_transition_time: Some(now),
            reason: reason.map(str::to_string),
            message,
            ..PodCondition::default()
        }),
    }
}

/// The pod cannot be scheduled: stays `Pending` with `PodScheduled=False`.
pub(crate) fn mark_unschedulable(pod: &mut Pod, message: &str) {
    status_mut(pod).phase = Some("Pending".to_string());
    set_condition(pod, "PodScheduled", false, Some("Unschedulable"), Some(message.to_string()));
}

/// The pod is bound to the node: IPs, start time, and a `waiting` status for every container.
pub(crate) fn mark_scheduled(pod: &mut Pod) {
    let ip = pod_ip(pod);
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.node_name = Some(NODE_NAME.to_string());
    let status_of = |c: &k8s_openapi::api::core::v1::Container, reason: &str| ContainerStatus {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        image_id: String::new(),
        ready: false,
        restart_count: 0,
        started: Some(false),
        state: Some(waiting(reason, None)),
        ..ContainerStatus::default()
    };
    let init: Vec<ContainerStatus> =
        spec.init_containers.iter().flatten().map(|c| status_of(c, "PodInitializing")).collect();
    let main_reason = if init.is_empty() { "ContainerCreating" } else { "PodInitializing" };
    let main: Vec<ContainerStatus> =
        spec.containers.iter().map(|c| status_of(c, main_reason)).collect();
    let status = status_mut(pod);
    status.phase = Some("Pending".to_string());
    status.host_ip = Some(NODE_IP.to_string());
    status.host_ips = Some(vec![HostIP { ip: NODE_IP.to_string() }]);
    status.pod_ip = Some(ip.clone());
    status.pod_ips = Some(vec![PodIP { ip }]);
    status.start_time = Some(api_now());
    status.qos_class = Some("Burstable".to_string());
    status.init_container_statuses = (!init.is_empty()).then_some(init);
    status.container_statuses = Some(main);
    set_condition(pod, "PodScheduled", true, None, None);
    set_condition(pod, "Initialized", false, Some("ContainersNotInitialized"), None);
    set_condition(pod, "Ready", false, Some("ContainersNotReady"), None);
}

fn container_status_mut<'a>(pod: &'a mut Pod, name: &str) -> Option<&'a mut ContainerStatus> {
    let status = pod.status.as_mut()?;
    let in_init = status.init_container_statuses.iter_mut().flatten();
    let in_main = status.container_statuses.iter_mut().flatten();
    in_init.chain(in_main).find(|c| c.name == name)
}

fn container_id(pod: &Pod, name: &str) -> String {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let seed = format!("{uid}/{name}");
    let a = seed
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let b = a.rotate_left(29).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!("containerd://{a:016x}{b:016x}{a:016x}{b:016x}")
}

/// Sets one container's state and recomputes the pod phase.
pub(crate) fn set_container_state(pod: &mut Pod, name: &str, state: ContainerState) {
    let id = container_id(pod, name);
    if let Some(c) = container_status_mut(pod, name) {
        let started = state.running.is_some() || state.terminated.is_some();
        if started {
            c.container_id = Some(id);
        }
        c.started = Some(state.running.is_some());
        c.ready = state.running.is_some();
        c.state = Some(state);
    }
    recompute_phase(pod);
}

/// The running container terminated now (`started_at` copied from its running state).
pub(crate) fn terminate_container(
    pod: &mut Pod,
    name: &str,
    exit_code: i32,
    reason: &str,
    message: Option<String>,
) {
    let started_at = container_status_mut(pod, name)
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.running.as_ref())
        .and_then(|r| r.started_at.clone());
    let container_id = container_id(pod, name);
    let terminated = ContainerStateTerminated {
        exit_code,
        reason: Some(reason.to_string()),
        message,
        started_at,
        finished_at: Some(api_now()),
        container_id: Some(container_id),
        ..ContainerStateTerminated::default()
    };
    set_container_state(
        pod,
        name,
        ContainerState { terminated: Some(terminated), ..ContainerState::default() },
    );
}

/// The named container's state, if the pod has a status for it.
pub(crate) fn container_state(pod: &Pod, name: &str) -> Option<ContainerState> {
    let status = pod.status.as_ref()?;
    let in_init = status.init_container_statuses.iter().flatten();
    let in_main = status.container_statuses.iter().flatten();
    in_init.chain(in_main).find(|c| c.name == name).and_then(|c| c.state.clone())
}

/// Terminal pod failure with a reason (eviction).
pub(crate) fn fail_pod(pod: &mut Pod, reason: &str, message: &str) {
    let status = status_mut(pod);
    status.phase = Some("Failed".to_string());
    status.reason = Some(reason.to_string());
    status.message = Some(message.to_string());
    set_condition(pod, "Ready", false, Some("PodFailed"), None);
}

fn exit_code(c: &ContainerStatus) -> Option<i32> {
    c.state.as_ref()?.terminated.as_ref().map(|t| t.exit_code)
}

fn is_running(c: &ContainerStatus) -> bool {
    c.state.as_ref().is_some_and(|s| s.running.is_some())
}

/// The phase from the container states (restartPolicy Never).
fn recompute_phase(pod: &mut Pod) {
    let Some(status) = pod.status.as_ref() else { return };
    if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
        return;
    }
    let init: Vec<&ContainerStatus> = status.init_container_statuses.iter().flatten().collect();
    let main: Vec<&ContainerStatus> = status.container_statuses.iter().flatten().collect();
    let init_failed = init.iter().any(|c| exit_code(c).is_some_and(|code| code != 0));
    let init_done = init.iter().all(|c| exit_code(c) == Some(0));
    let all_main_exited = !main.is_empty() && main.iter().all(|c| exit_code(c).is_some());
    let all_main_started = main.iter().all(|c| is_running(c) || exit_code(c).is_some());
    let any_main_failed = main.iter().any(|c| exit_code(c).is_some_and(|code| code != 0));
    let all_ready = main.iter().all(|c| is_running(c));
    let phase = if init_failed || (all_main_exited && any_main_failed) {
        "Failed"
    } else if all_main_exited {
        "Succeeded"
    } else if init_done && all_main_started {
        "Running"
    } else {
        "Pending"
    };
    status_mut(pod).phase = Some(phase.to_string());
    if init_done {
        set_condition(pod, "Initialized", true, None, None);
    }
    set_condition(
        pod,
        "Ready",
        phase == "Running" && all_ready,
        (!all_ready).then_some("ContainersNotReady"),
        None,
    );
}
