//! The life of one pod as its scenario scripts it: scheduling, the init container, then runner and
//! harvest together (the harvest learning the runner's exit code as the real one does, through the
//! exit-code file), the end — or a stop from outside (delete, eviction) that kills what still runs.

use std::future::pending;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use tale_sandbox_kubelet_logs::Stream;
use tokio::sync::watch;
use tokio::time::{sleep, sleep_until, timeout};

use super::status::{self, container_state, set_container_state, terminate_container, waiting};
use crate::runtime::{ContainerRuntime, PodRuntime, StopReason};
use crate::scenario::{
    AutoResult, AutoStarted, AutoUploadStats, ContainerExit, LineSpec, OutputStep, RESULT_MARKER,
    STARTED_MARKER, Waiting,
};
use crate::state::Shared;

/// What the harvest learns about the runner through the shared workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunnerOutcome {
    /// The wrapper wrote this exit code to the exit-code file.
    Exited(i32),
    /// The container died before the wrapper could write the file.
    Killed,
}

const DEFAULT_EVICTION_MESSAGE: &str =
    "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. ";

/// Runs a pod to its end, or until it is deleted or evicted.
pub(crate) async fn run_pod(shared: Arc<Shared>, runtime: Arc<PodRuntime>) {
    let stopped = tokio::select! {
        _ = lifecycle(&shared, &runtime) => None,
        reason = runtime.stopped() => Some(reason),
    };
    if let Some(reason) = stopped {
        kill_running_containers(&shared, &runtime, &reason);
    }
    for container in &runtime.containers {
        container.close();
    }
}

fn update(shared: &Shared, runtime: &PodRuntime, change: impl FnOnce(&mut Pod)) {
    shared.update_pod(&runtime.key, change);
}

fn kill_running_containers(shared: &Shared, runtime: &PodRuntime, reason: &StopReason) {
    update(shared, runtime, |pod| {
        for container in &runtime.containers {
            if container_state(pod, &container.name).is_some_and(|s| s.running.is_some()) {
                terminate_container(pod, &container.name, 137, "Error", None);
            }
        }
        if let StopReason::Evicted(message) = reason {
            status::fail_pod(pod, "Evicted", message);
        }
    });
    for container in &runtime.containers {
        container.close();
    }
}

async fn lifecycle(shared: &Arc<Shared>, runtime: &Arc<PodRuntime>) {
    let scenario = &runtime.scenario;
    sleep(Duration::from_millis(scenario.schedule_delay_ms)).await;
    if let Some(message) = &scenario.unschedulable {
        update(shared, runtime, |pod| status::mark_unschedulable(pod, message));
        return pending().await;
    }
    update(shared, runtime, status::mark_scheduled);
    match scenario.evict_after_ms {
        None => run_containers(shared, runtime).await,
        Some(after) => {
            tokio::select! {
                _ = run_containers(shared, runtime) => {}
                _ = sleep(Duration::from_millis(after)) => {
                    let message = scenario.eviction_message.clone().unwrap_or_else(|| DEFAULT_EVICTION_MESSAGE.to_string());
                    runtime.stop(StopReason::Evicted(message));
                    pending::<()>().await;
                }
            }
        }
    }
}

/// Waits in `waiting` forever when the scenario says the container cannot start.
async fn start_container(
    shared: &Shared,
    runtime: &PodRuntime,
    container: &ContainerRuntime,
    delay_ms: u64,
    stuck: &Option<Waiting>,
) {
    sleep(Duration::from_millis(delay_ms)).await;
    if let Some(stuck) = stuck {
        update(shared, runtime, |pod| {
            set_container_state(pod, &container.name, waiting(&stuck.reason, stuck.message.clone()))
        });
        return pending().await;
    }
    update(shared, runtime, |pod| set_container_state(pod, &container.name, status::running()));
}

fn finish_container(
    shared: &Shared,
    runtime: &PodRuntime,
    container: &ContainerRuntime,
    exit_code: i32,
    reason: Option<String>,
) {
    let reason =
        reason.unwrap_or_else(|| if exit_code == 0 { "Completed".into() } else { "Error".into() });
    container.close();
    update(shared, runtime, |pod| {
        terminate_container(pod, &container.name, exit_code, &reason, None)
    });
}

async fn run_containers(shared: &Arc<Shared>, runtime: &Arc<PodRuntime>) {
    let stage = &runtime.scenario.stage;
    let init_started = Instant::now();
    for container in runtime.containers.iter().filter(|c| c.init) {
        start_container(shared, runtime, container, stage.start_delay_ms, &stage.waiting).await;
        let killed = tokio::select! {
            _ = run_steps(runtime, container, &stage.output) => None,
            exit = container.killed() => Some(exit),
        };
        let (code, reason) = match killed {
            Some(exit) => (exit.exit_code, exit.reason),
            None => (stage.exit_code, stage.reason.clone()),
        };
        finish_container(shared, runtime, container, code, reason);
        if code != 0 {
            return;
        }
    }
    let stage_ms = u64::try_from(init_started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (outcome_tx, outcome_rx) = watch::channel(None);
    let mains = runtime.containers.iter().filter(|c| !c.init).map(|container| {
        let outcome_tx = &outcome_tx;
        let outcome_rx = outcome_rx.clone();
        async move {
            if container.name == "harvest" {
                run_harvest(shared, runtime, container, outcome_rx, stage_ms).await;
            } else {
                let reports = container.name == "runner";
                run_runner(shared, runtime, container, reports.then_some(outcome_tx)).await;
            }
        }
    });
    futures_util::future::join_all(mains).await;
}

async fn run_runner(
    shared: &Shared,
    runtime: &PodRuntime,
    container: &ContainerRuntime,
    outcome: Option<&watch::Sender<Option<RunnerOutcome>>>,
) {
    let scenario = &runtime.scenario.runner;
    start_container(shared, runtime, container, scenario.start_delay_ms, &scenario.waiting).await;
    let work = async {
        run_steps(runtime, container, &scenario.output).await;
        if scenario.hang {
            pending::<()>().await;
        }
        scenario.killed.clone()
    };
    let end: Option<ContainerExit> = tokio::select! {
        killed_by_scenario = work => killed_by_scenario,
        exit = container.killed() => Some(exit),
    };
    match end {
        None => {
            if let Some(tx) = outcome {
                tx.send_replace(Some(RunnerOutcome::Exited(scenario.user_exit_code)));
            }
            finish_container(shared, runtime, container, 0, None);
        }
        Some(exit) => {
            if let Some(tx) = outcome {
                tx.send_replace(Some(RunnerOutcome::Killed));
            }
            finish_container(shared, runtime, container, exit.exit_code, exit.reason);
        }
    }
}

/// Waits for the runner's exit-code file; `None` if it is never written.
async fn exit_code_file(mut outcome: watch::Receiver<Option<RunnerOutcome>>) -> i32 {
    loop {
        if let Some(RunnerOutcome::Exited(code)) = *outcome.borrow_and_update() {
            return code;
        }
        if outcome.changed().await.is_err() {
            return pending().await;
        }
    }
}

fn protocol_line(marker: &str, spec: &LineSpec, auto: impl FnOnce() -> Vec<u8>) -> Option<Vec<u8>> {
    let json = match spec {
        LineSpec::None => return None,
        LineSpec::Raw(text) => return Some(text.clone().into_bytes()),
        LineSpec::Auto => auto(),
        LineSpec::Json(value) => serde_json::to_vec(value).unwrap_or_default(),
    };
    let mut line = Vec::with_capacity(marker.len() + 2 + json.len());
    line.extend_from_slice(marker.as_bytes());
    line.push(b' ');
    line.extend(json);
    line.push(b'\n');
    Some(line)
}

async fn run_harvest(
    shared: &Shared,
    runtime: &PodRuntime,
    container: &ContainerRuntime,
    outcome: watch::Receiver<Option<RunnerOutcome>>,
    stage_ms: u64,
) {
    let scenario = &runtime.scenario.harvest;
    let runner = &runtime.scenario.runner;
    start_container(shared, runtime, container, scenario.start_delay_ms, &scenario.waiting).await;
    let work = async {
        let wait =
            timeout(Duration::from_millis(scenario.runner_timeout_ms), exit_code_file(outcome))
                .await;
        let (exit_code, timed_out) = match wait {
            Ok(code) => (code, false),
            Err(_) => (124, true),
        };
        let started = protocol_line(STARTED_MARKER, &scenario.started_line, || {
            serde_json::to_vec(&AutoStarted { exit_code, timed_out }).unwrap_or_default()
        });
        if let Some(line) = started {
            container.write(Stream::Stdout, &line);
        }
        run_steps(runtime, container, &scenario.output).await;
        sleep(Duration::from_millis(scenario.result_delay_ms)).await;
        let result = protocol_line(RESULT_MARKER, &scenario.result_line, || {
            let result = AutoResult {
                exit_code,
                stderr: &runner.stderr,
                stderr_truncated: false,
                output_files: [],
                truncated_files: 0,
                upload_stats: AutoUploadStats { attempted: 0, succeeded: 0, failures: [] },
                quota_exhausted: false,
                upload_failed: false,
                report_failed: false,
                read_failed: false,
                stage_ms,
                harvest_ms: scenario.result_delay_ms,
                upload_ms: scenario.result_delay_ms,
            };
            serde_json::to_vec(&result).unwrap_or_default()
        });
        if let Some(line) = result {
            container.write(Stream::Stdout, &line);
        }
        if scenario.hang {
            pending::<()>().await;
        }
    };
    let end = tokio::select! {
        _ = work => None,
        exit = container.killed() => Some(exit),
    };
    match end {
        None => finish_container(shared, runtime, container, scenario.exit_code, None),
        Some(exit) => finish_container(shared, runtime, container, exit.exit_code, exit.reason),
    }
}

/// Performs a container's output steps.
async fn run_steps(runtime: &PodRuntime, container: &ContainerRuntime, steps: &[OutputStep]) {
    for step in steps {
        match step {
            OutputStep::Write(write) => {
                container.write(write.stream.into(), &write.bytes().unwrap_or_default())
            }
            OutputStep::Repeat(repeat) => {
                let started = tokio::time::Instant::now();
                let chunk =
                    usize::try_from(repeat.chunk_bytes.max(1)).unwrap_or(usize::MAX).min(1 << 20);
                let mut buffer = Vec::with_capacity(chunk);
                let mut written = 0u64;
                while written < repeat.total_bytes {
                    let n = chunk
                        .min(usize::try_from(repeat.total_bytes - written).unwrap_or(usize::MAX));
                    buffer.clear();
                    repeat.fill(written, n, &mut buffer);
                    container.write(repeat.stream.into(), &buffer);
                    written += n as u64;
                    if repeat.bytes_per_second > 0 {
                        let due = Duration::from_secs_f64(
                            written as f64 / repeat.bytes_per_second as f64,
                        );
                        sleep_until(started + due).await;
                    } else {
                        // Let log readers run between writes, as a pipe would.
                        tokio::task::yield_now().await;
                    }
                }
            }
            OutputStep::Sleep { ms } => sleep(Duration::from_millis(*ms)).await,
            OutputStep::WaitRelease { name } => runtime.wait_release(name).await,
        }
    }
}
