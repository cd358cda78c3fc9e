//! `execute` end to end against the embedded test cluster: every outcome of
//! the spec's table (§1.3) that a scenario can produce, duplicate dispatch,
//! cancellation and abort at each stage, a dropped future, log rotation, cut
//! follow streams, and API faults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Harness, NS, request, unique};
use base64::Engine as _;
use tale_sandbox_contract::names::{pod_name_for, secret_name_for};
use tale_sandbox_contract::wire::{ErrorCode, ExecuteResponse, ExecutionStatus, Phase};
use tale_sandbox_execute::{ExecuteOptions, ExecuteOutcome, KubernetesBackend, now_ms};
use tale_sandbox_flow::Tuning;
use tale_sandbox_testcluster::{
    ClusterConfig, ContainerExit, Fault, FaultPlan, FaultRule, HarvestScenario, InitScenario,
    OutputStep, RunnerScenario, Scenario, Waiting,
};

fn stdout_of(response: &ExecuteResponse) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(&response.stdout_base64).expect("base64")
}

fn options() -> ExecuteOptions {
    let mut opts = ExecuteOptions::new(now_ms());
    // Tests do not need to wait 2 s for an exited runner's stream.
    opts.tuning = Tuning { stdout_drain_ms: 500, ..Tuning::default() };
    opts
}

async fn execute(
    backend: &KubernetesBackend,
    h: &Harness,
    id: &str,
    opts: ExecuteOptions,
) -> ExecuteOutcome {
    tokio::time::timeout(Duration::from_secs(60), backend.execute(&h.cfg, request(id), opts))
        .await
        .expect("execute finishes within 60 s")
}

fn rule(route: &str, fault: Fault) -> FaultRule {
    FaultRule {
        route: route.into(),
        name: None,
        container: None,
        probability: None,
        on_requests: None,
        max_times: None,
        fault,
    }
}

fn plan(rules: Vec<FaultRule>) -> FaultPlan {
    FaultPlan { seed: 7, rules }
}

/// Waits until the pod of `id` exists (and, with `running`, its runner runs).
async fn wait_for_pod(h: &Harness, id: &str, running: bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(pod) = h.api().read_pod(&pod_name_for(id)).await {
            let runner_running = pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.name == "runner"))
                .and_then(|c| c.state.as_ref())
                .is_some_and(|s| s.running.is_some());
            if !running || runner_running {
                return;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "pod of {id} never showed up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Keeps the pod visible for a moment after `execute` deleted it, so the
/// cluster's truth endpoint can still be read.
fn lingering(mut scenario: Scenario) -> Scenario {
    scenario.termination_linger_ms = Some(1_500);
    scenario
}

/// What the runner really wrote, from the cluster (across rotations).
fn truth(h: &Harness, id: &str) -> Vec<u8> {
    h.cluster.true_stream(NS, &pod_name_for(id), "runner").expect("pod still lingering")
}

fn waiting_runner(output: Vec<OutputStep>) -> Scenario {
    let mut steps = output;
    steps.push(OutputStep::WaitRelease { name: "go".into() });
    Scenario::runner_output(steps, 0)
}

#[tokio::test]
async fn happy_path_stdout_is_byte_exact_and_callbacks_arrive_in_order() {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("happy");
    let scenario = Scenario::runner_output(
        vec![
            OutputStep::text("PHASE: installing\n"),
            OutputStep::text("PHASE: running\n"),
            OutputStep::text("héllo wörld\n"),
            OutputStep::repeat("line of output\n", 200_000),
            OutputStep::text("no newline at the end"),
        ],
        0,
    );
    h.cluster.set_scenario(&id, lingering(scenario.clone())).unwrap();
    let phases = Arc::new(Mutex::new(Vec::new()));
    let deltas = Arc::new(Mutex::new(String::new()));
    let mut opts = options();
    let p = phases.clone();
    opts.on_phase = Some(Box::new(move |phase| p.lock().unwrap().push(phase)));
    let d = deltas.clone();
    opts.on_stdout_delta = Some(Box::new(move |text| d.lock().unwrap().push_str(&text)));

    let outcome = execute(&h.backend, &h, &id, opts).await;
    let r = &outcome.response;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    assert_eq!(r.exit_code, Some(0));
    assert_eq!(r.error_code, None);
    assert!(!r.truncated.stdout);

    let truth = truth(&h, &id);
    assert_eq!(truth, scenario.expected_runner_stdout());
    let expected: Vec<u8> = String::from_utf8(truth)
        .unwrap()
        .replace("PHASE: installing\n", "")
        .replace("PHASE: running\n", "")
        .into_bytes();
    assert_eq!(stdout_of(r), expected);
    assert_eq!(*phases.lock().unwrap(), vec![Phase::Installing, Phase::Running]);
    assert_eq!(deltas.lock().unwrap().as_bytes(), expected.as_slice());

    let report = &outcome.report;
    assert!(report.flow.log_bytes.runner >= expected.len() as u64, "{report:?}");
    assert!(report.harvest_to_response_ms.is_some(), "{report:?}");
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn staging_failure_carries_the_stage_log_tail() {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("stage");
    let scenario = Scenario {
        stage: InitScenario {
            output: vec![OutputStep::text(
                "fetching code\nerror: download of main.py failed (403)\n",
            )],
            exit_code: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    h.cluster.set_scenario(&id, scenario).unwrap();
    let r = execute(&h.backend, &h, &id, options()).await.response;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error_code, Some(ErrorCode::SpawnerUnavailable));
    assert_eq!(r.exit_code, None);
    assert_eq!(
        r.error_message.as_deref(),
        Some(
            "spawner staging failed: pre-stage failed (exit 1): Error: fetching code\nerror: download of main.py failed (403)"
        )
    );
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn image_error_fails_the_start() {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("image");
    let scenario = Scenario {
        runner: RunnerScenario {
            waiting: Some(Waiting { reason: "ImagePullBackOff".into(), message: None }),
            ..Default::default()
        },
        ..Default::default()
    };
    h.cluster.set_scenario(&id, scenario).unwrap();
    let r = execute(&h.backend, &h, &id, options()).await.response;
    assert_eq!(r.error_code, Some(ErrorCode::SpawnerUnavailable));
    assert_eq!(r.error_message.as_deref(), Some("runner cannot start: ImagePullBackOff"));
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn user_non_zero_exit_is_a_runtime_error_with_stderr() {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("exit3");
    let mut scenario = Scenario::runner_output(vec![OutputStep::text("partial\n")], 3);
    scenario.runner.stderr = "Traceback: boom\n".into();
    h.cluster.set_scenario(&id, scenario).unwrap();
    let r = execute(&h.backend, &h, &id, options()).await.response;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.exit_code, Some(3));
    assert_eq!(r.error_code, Some(ErrorCode::RuntimeError));
    assert_eq!(stdout_of(&r), b"partial\n");
    let stderr = base64::engine::general_purpose::STANDARD.decode(&r.stderr_base64).unwrap();
    assert_eq!(stderr, b"Traceback: boom\n");
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn user_timeout_is_reported_by_the_harvest_as_124() {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("timeout");
    let scenario = Scenario {
        runner: RunnerScenario {
            output: vec![OutputStep::text("working...\n")],
            hang: true,
            ..Default::default()
        },
        harvest: HarvestScenario { runner_timeout_ms: 500, ..Default::default() },
        ..Default::default()
    };
    h.cluster.set_scenario(&id, scenario).unwrap();
    let r = execute(&h.backend, &h, &id, options()).await.response;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.exit_code, Some(124));
    assert_eq!(r.error_code, Some(ErrorCode::Timeout));
    assert_eq!(stdout_of(&r), b"working...\n");
    h.assert_cleaned_up().await;
}

/// The runner is OOM-killed; the harvest never prints its started line in the
/// grace period (fixed at `RUNNER_DEAD_GRACE_MS`, 10 s), so the flow classifies
/// from the runner's terminated state.
#[tokio::test]
async fn runner_oom_killed() {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("oom");
    let scenario = Scenario {
        runner: RunnerScenario {
            output: vec![OutputStep::text("allocating\n")],
            killed: Some(ContainerExit { exit_code: 137, reason: Some("OOMKilled".into()) }),
            ..Default::default()
        },
        harvest: HarvestScenario { runner_timeout_ms: 60_000, ..Default::default() },
        ..Default::default()
    };
    h.cluster.set_scenario(&id, scenario).unwrap();
    let outcome = execute(&h.backend, &h, &id, options()).await;
    let r = outcome.response;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.exit_code, Some(137));
    assert_eq!(r.error_code, Some(ErrorCode::Oom));
    assert_eq!(
        r.error_message.as_deref(),
        Some("Runner container OOM-killed (memory limit exceeded)")
    );
    assert_eq!(stdout_of(&r), b"allocating\n");
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn duplicate_dispatch_on_another_replica_is_refused_and_leaves_the_owner_alone() {
    let h = Harness::start(ClusterConfig::default()).await;
    let other = h.replica().await;
    let id = unique("dup");
    h.cluster.set_scenario(&id, waiting_runner(vec![OutputStep::text("owner\n")])).unwrap();

    let owner = {
        let backend = h.backend.clone();
        let cfg = h.cfg.clone();
        let id = id.clone();
        tokio::spawn(async move { backend.execute(&cfg, request(&id), options()).await })
    };
    wait_for_pod(&h, &id, true).await;

    let r = execute(&other, &h, &id, options()).await.response;
    assert_eq!(r.error_code, Some(ErrorCode::SpawnerUnavailable));
    assert_eq!(
        r.error_message.as_deref(),
        Some(
            format!(
                "executionId already has a live pod ({}) \u{2014} duplicate dispatch",
                pod_name_for(&id)
            )
            .as_str()
        )
    );
    // The duplicate deleted nothing.
    h.api().read_pod(&pod_name_for(&id)).await.expect("owner's pod still there");
    assert_eq!(h.metrics().live_secrets, 1);

    h.cluster.release(NS, &pod_name_for(&id), "go").unwrap();
    let owned = owner.await.unwrap().response;
    assert_eq!(owned.status, ExecutionStatus::Completed, "{owned:?}");
    assert_eq!(stdout_of(&owned), b"owner\n");
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn pod_conflict_after_a_fresh_secret_is_refused_without_cleanup() {
    let h = Harness::start(ClusterConfig::default()).await;
    let other = h.replica().await;
    let id = unique("conflict");
    h.cluster.set_scenario(&id, waiting_runner(vec![])).unwrap();
    let owner = {
        let backend = h.backend.clone();
        let cfg = h.cfg.clone();
        let id = id.clone();
        tokio::spawn(async move { backend.execute(&cfg, request(&id), options()).await })
    };
    wait_for_pod(&h, &id, true).await;
    // The owner's Secret vanished (say, an operator): the second replica's Secret
    // create succeeds and only the pod create conflicts.
    h.api().delete_secret(&secret_name_for(&id)).await.unwrap();

    let r = execute(&other, &h, &id, options()).await.response;
    assert_eq!(r.error_code, Some(ErrorCode::SpawnerUnavailable));
    assert_eq!(
        r.error_message.as_deref(),
        Some(format!("executionId {id} already has a live pod on another replica").as_str())
    );
    assert_eq!(
        (h.metrics().live_pods, h.metrics().live_secrets),
        (1, 1),
        "nothing deleted by the loser"
    );

    h.cluster.release(NS, &pod_name_for(&id), "go").unwrap();
    assert_eq!(owner.await.unwrap().response.status, ExecutionStatus::Completed);
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn remote_cancel_makes_the_owner_report_a_lost_harvest() {
    let h = Harness::start(ClusterConfig::default()).await;
    let other = h.replica().await;
    let id = unique("remote");
    h.cluster.set_scenario(&id, waiting_runner(vec![OutputStep::text("before cancel\n")])).unwrap();
    let owner = {
        let backend = h.backend.clone();
        let cfg = h.cfg.clone();
        let id = id.clone();
        tokio::spawn(async move { backend.execute(&cfg, request(&id), options()).await })
    };
    wait_for_pod(&h, &id, true).await;
    assert!(other.cancel(&id).await);
    let r = owner.await.unwrap().response;
    assert_eq!(r.status, ExecutionStatus::Failed, "{r:?}");
    assert_eq!(r.error_code, Some(ErrorCode::HarvestReadFailed));
    h.assert_cleaned_up().await;
}

/// Where to abort: before anything, while the pod is pending, while the runner
/// runs, while the harvest uploads.
#[derive(Debug, Clone, Copy)]
enum AbortAt {
    Immediately,
    Startup,
    Running,
    Harvesting,
}

async fn abort_at(at: AbortAt) {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("abort");
    let scenario = match at {
        AbortAt::Immediately | AbortAt::Startup => {
            Scenario { schedule_delay_ms: 60_000, ..Default::default() }
        }
        AbortAt::Running => waiting_runner(vec![OutputStep::text("some output\n")]),
        AbortAt::Harvesting => Scenario {
            runner: RunnerScenario {
                output: vec![OutputStep::text("done\n")],
                ..Default::default()
            },
            harvest: HarvestScenario {
                output: vec![OutputStep::WaitRelease { name: "upload".into() }],
                ..Default::default()
            },
            ..Default::default()
        },
    };
    h.cluster.set_scenario(&id, scenario).unwrap();
    let opts = options();
    let cancel = opts.cancel.clone();
    if matches!(at, AbortAt::Immediately) {
        cancel.cancel();
    }
    let run = {
        let backend = h.backend.clone();
        let cfg = h.cfg.clone();
        let id = id.clone();
        tokio::spawn(async move { backend.execute(&cfg, request(&id), opts).await })
    };
    match at {
        AbortAt::Immediately => {}
        AbortAt::Startup => wait_for_pod(&h, &id, false).await,
        AbortAt::Running => wait_for_pod(&h, &id, true).await,
        AbortAt::Harvesting => {
            // Until the harvest has printed its started line (the runner is done).
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            loop {
                let log = h
                    .api()
                    .read_log(
                        &pod_name_for(&id),
                        &tale_sandbox_execute::LogRequest::container("harvest"),
                    )
                    .await
                    .unwrap_or_default();
                if log.windows(8).any(|w| w == b"STARTED_") {
                    break;
                }
                assert!(tokio::time::Instant::now() < deadline);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    cancel.cancel();
    let outcome =
        tokio::time::timeout(Duration::from_secs(20), run).await.expect("abort answers").unwrap();
    let r = outcome.response;
    assert_eq!(r.status, ExecutionStatus::Cancelled, "{at:?}: {r:?}");
    assert_eq!(r.error_code, Some(ErrorCode::Cancelled));
    assert_eq!(r.error_message.as_deref(), Some("Execution cancelled by client"));
    assert!(outcome.report.cancelled_by_caller);
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn abort_immediately() {
    abort_at(AbortAt::Immediately).await;
}

#[tokio::test]
async fn abort_during_startup() {
    abort_at(AbortAt::Startup).await;
}

#[tokio::test]
async fn abort_while_running() {
    abort_at(AbortAt::Running).await;
}

#[tokio::test]
async fn abort_while_harvesting() {
    abort_at(AbortAt::Harvesting).await;
}

#[tokio::test]
async fn dropping_the_future_still_cleans_up() {
    let h = Harness::start(ClusterConfig::default()).await;
    for running in [false, true] {
        let id = unique("drop");
        let scenario = if running {
            waiting_runner(vec![])
        } else {
            Scenario { schedule_delay_ms: 60_000, ..Default::default() }
        };
        h.cluster.set_scenario(&id, scenario).unwrap();
        let fut = h.backend.execute(&h.cfg, request(&id), options());
        let waiter = wait_for_pod(&h, &id, running);
        tokio::select! {
            _ = fut => panic!("finished before the pod was up"),
            () = waiter => {}
        }
        // `fut` is dropped here, mid-execution.
        h.assert_cleaned_up().await;
    }
}

/// A follow stream continues into the new file after a rotation, but (like the
/// kubelet) skips whole files when two rotations happen between two of its
/// reads: the log must rotate slower than the stream is served, even on a
/// loaded machine (a 64 KiB log rotating every 10 ms lost data under load).
#[tokio::test]
async fn stdout_is_exact_across_log_rotations() {
    let config = ClusterConfig {
        max_log_size: 256 * 1024,
        rotation_period: Duration::from_millis(50),
        ..Default::default()
    };
    let h = Harness::start(config).await;
    let id = unique("rotate");
    let mut step = tale_sandbox_testcluster::RepeatStep {
        pattern: "rotating line with some text 0123456789\n".into(),
        total_bytes: 1 << 20,
        chunk_bytes: 8 * 1024,
        bytes_per_second: 1 << 20,
        ..Default::default()
    };
    step.stream = tale_sandbox_testcluster::OutputStream::Stdout;
    h.cluster
        .set_scenario(&id, lingering(Scenario::runner_output(vec![OutputStep::Repeat(step)], 0)))
        .unwrap();
    // The default stream drain: a cut stream's reconnects need their backoff.
    let outcome = execute(&h.backend, &h, &id, ExecuteOptions::new(now_ms())).await;
    let r = &outcome.response;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    let truth = truth(&h, &id);
    assert_eq!(truth.len(), 1 << 20);
    assert!(
        stdout_of(r) == truth,
        "stdout differs from the truth ({} vs {} bytes), truncated {:?}, {:?}",
        stdout_of(r).len(),
        truth.len(),
        r.truncated,
        outcome.report
    );
    assert!(!r.truncated.stdout);
    let rotations = h.metrics().rotations;
    assert!(rotations >= 2, "only {rotations} rotations");
    eprintln!("rotation run: {rotations} rotations, report {:?}", outcome.report);
    h.assert_cleaned_up().await;
}

/// A resume asks for `sinceTime` at a whole second and gets that whole second
/// again, so a stream cut every MiB only makes progress when less than a MiB
/// (with timestamps) is written per second: the runner writes 512 KiB/s.
#[tokio::test]
async fn stdout_is_exact_when_the_follow_stream_is_cut_every_mebibyte() {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("cut");
    let total: u64 = 2 << 20;
    h.cluster
        .set_faults(plan(vec![FaultRule {
            container: Some("runner".into()),
            ..rule("pods.log", Fault::CutBody { after_bytes: 1 << 20, abrupt: true })
        }]))
        .unwrap();
    let step = tale_sandbox_testcluster::RepeatStep {
        pattern: format!("{}\n", "a long line that the cut will split somewhere. ".repeat(5)),
        total_bytes: total,
        chunk_bytes: 16 * 1024,
        bytes_per_second: 512 << 10,
        ..Default::default()
    };
    h.cluster
        .set_scenario(&id, lingering(Scenario::runner_output(vec![OutputStep::Repeat(step)], 0)))
        .unwrap();
    // The default stream drain: a cut stream's reconnects need their backoff.
    let outcome = execute(&h.backend, &h, &id, ExecuteOptions::new(now_ms())).await;
    let r = &outcome.response;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    let truth = truth(&h, &id);
    assert_eq!(truth.len() as u64, total);
    assert!(
        stdout_of(r) == truth,
        "stdout differs from the truth ({} vs {} bytes), {:?}, {:?}",
        stdout_of(r).len(),
        truth.len(),
        outcome.report,
        h.metrics().requests
    );
    // 2 MiB with prefixes is more than 2 MiB rendered: at least two streams were cut.
    let cuts: u64 =
        h.metrics().faults.iter().filter(|f| f.kind == "cutBody").map(|f| f.count).sum();
    assert!(cuts >= 2, "{:?}", h.metrics().faults);
    assert!(outcome.report.flow.stdout_reconnects >= 2, "{:?}", outcome.report);
    eprintln!("cut run: report {:?}", outcome.report);
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn pvc_cache_mode_creates_the_claims_once_per_organization() {
    let mut cfg = tale_sandbox_contract::config::SpawnerConfig::default();
    cfg.k8s.cache_mode = tale_sandbox_contract::config::CacheMode::Pvc;
    let h = Harness::start_with(ClusterConfig::default(), cfg).await;
    for _ in 0..2 {
        let id = unique("pvc");
        h.cluster
            .set_scenario(&id, Scenario::runner_output(vec![OutputStep::text("cached\n")], 0))
            .unwrap();
        let r = execute(&h.backend, &h, &id, options()).await.response;
        assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    }
    let m = h.metrics();
    assert_eq!(m.live_pvcs, 2, "pip and npm claims, kept across executions");
    assert_eq!(m.requests_with("pvcs.create", 201), 2);
    h.assert_cleaned_up().await;
}

/// The sandbox token must not reach a response when the Secret cannot be created.
#[tokio::test]
async fn the_sandbox_token_never_reaches_a_response() {
    let cfg = tale_sandbox_contract::config::SpawnerConfig {
        sandbox_token: Some("sbx-token-that-must-not-leak".into()),
        ..Default::default()
    };
    let h = Harness::start_with(ClusterConfig::default(), cfg).await;
    let id = unique("token");
    h.cluster.set_faults(plan(vec![rule("secrets.create", Fault::Status { code: 500 })])).unwrap();
    let r = execute(&h.backend, &h, &id, options()).await.response;
    assert_eq!(r.error_code, Some(ErrorCode::SpawnerUnavailable));
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("sbx-token-that-must-not-leak"), "{json}");
    h.assert_cleaned_up().await;
}
