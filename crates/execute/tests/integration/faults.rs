//! API faults on each route the execute path uses (500, 429, connection
//! reset): retried where the spec retries (pod reads, log reads, streams,
//! watches) and reported where it does not (creates, deletes).

use std::time::Duration;

use crate::common::{Harness, request, unique};
use base64::Engine as _;
use tale_sandbox_contract::wire::{ErrorCode, ExecuteResponse, ExecutionStatus};
use tale_sandbox_execute::{ExecuteOptions, ExecuteOutcome, now_ms};
use tale_sandbox_flow::Tuning;
use tale_sandbox_testcluster::{ClusterConfig, Fault, FaultPlan, FaultRule, OutputStep, Scenario};

fn rule(route: &str, on_requests: &[u64], fault: Fault) -> FaultRule {
    FaultRule {
        route: route.into(),
        name: None,
        container: None,
        probability: None,
        on_requests: (!on_requests.is_empty()).then(|| on_requests.to_vec()),
        max_times: None,
        fault,
    }
}

fn on_container(container: &str, rule: FaultRule) -> FaultRule {
    FaultRule { container: Some(container.into()), ..rule }
}

const E500: Fault = Fault::Status { code: 500 };
const E429: Fault = Fault::TooManyRequests { retry_after_seconds: 1 };

/// Runs one execution of a scenario that prints `out\n` under `rules`.
async fn run(rules: Vec<FaultRule>) -> (Harness, ExecuteOutcome) {
    run_for(rules, 0).await
}

/// Like [`run`], with the runner staying alive `runner_ms` after its output.
async fn run_for(rules: Vec<FaultRule>, runner_ms: u64) -> (Harness, ExecuteOutcome) {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("fault");
    let mut steps = vec![OutputStep::text("out\n")];
    if runner_ms > 0 {
        steps.push(OutputStep::Sleep { ms: runner_ms });
    }
    h.cluster.set_scenario(&id, Scenario::runner_output(steps, 0)).unwrap();
    h.cluster.set_faults(FaultPlan { seed: 3, rules }).unwrap();
    let mut opts = ExecuteOptions::new(now_ms());
    opts.tuning = Tuning { stdout_drain_ms: 500, ..Tuning::default() };
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        h.backend.execute(&h.cfg, request(&id), opts),
    )
    .await
    .expect("execute finishes");
    (h, outcome)
}

fn assert_completed(r: &ExecuteResponse) {
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    let stdout = base64::engine::general_purpose::STANDARD.decode(&r.stdout_base64).unwrap();
    assert_eq!(stdout, b"out\n");
}

fn assert_internal_error(r: &ExecuteResponse) {
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error_code, Some(ErrorCode::SpawnerUnavailable));
    let message = r.error_message.as_deref().unwrap_or_default();
    assert!(message.starts_with("spawner internal error: "), "{message}");
}

#[tokio::test]
async fn pod_reads_are_retried_after_the_watch_gives_up() {
    let (h, outcome) = run(vec![
        rule("pods.watch", &[], Fault::Reset),
        // The first poll fails all three attempts (it is warned, and polling
        // goes on), the next one succeeds.
        rule("pods.get", &[1], E500),
        rule("pods.get", &[2], E429),
        rule("pods.get", &[3], Fault::Reset),
    ])
    .await;
    assert_completed(&outcome.response);
    assert!(outcome.report.flow.watch_failed, "{:?}", outcome.report);
    assert_eq!(h.requests("pods.get", Some(500)), 1);
    assert_eq!(h.requests("pods.get", Some(429)), 1);
    assert!(h.requests("pods.get", Some(200)) >= 1);
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn a_watch_that_fails_now_and_then_is_resumed() {
    let (h, outcome) =
        run(vec![rule("pods.watch", &[1], E500), rule("pods.watch", &[2], Fault::Reset)]).await;
    assert_completed(&outcome.response);
    assert!(!outcome.report.flow.watch_failed, "{:?}", outcome.report);
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn runner_stream_faults_are_reconnected() {
    let rules = vec![
        on_container("runner", rule("pods.log", &[1], E500)),
        on_container("runner", rule("pods.log", &[2], E429)),
        on_container("runner", rule("pods.log", &[3], Fault::Reset)),
    ];
    // Alive long enough for three reconnects with backoff (200, 400, 800 ms).
    let (h, outcome) = run_for(rules, 3_000).await;
    assert_completed(&outcome.response);
    assert!(outcome.report.flow.stdout_reconnects >= 3, "{:?}", outcome.report);
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn harvest_log_reads_are_retried() {
    let (h, outcome) = run(vec![
        on_container("harvest", rule("pods.log", &[1], E500)),
        on_container("harvest", rule("pods.log", &[2], Fault::Reset)),
    ])
    .await;
    assert_completed(&outcome.response);
    assert_eq!(h.requests("pods.log", Some(500)), 1);
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn harvest_log_reads_give_up_after_three_attempts() {
    let (h, outcome) = run(vec![on_container("harvest", rule("pods.log", &[], E500))]).await;
    let r = &outcome.response;
    assert_eq!(r.status, ExecutionStatus::Failed, "{r:?}");
    assert_eq!(r.error_code, Some(ErrorCode::HarvestReadFailed));
    h.assert_cleaned_up().await;
}

#[tokio::test]
async fn secret_create_failures_are_internal_errors_without_cleanup() {
    for fault in [E500, E429, Fault::Reset] {
        let (h, outcome) = run(vec![rule("secrets.create", &[1], fault.clone())]).await;
        assert_internal_error(&outcome.response);
        assert_eq!(h.requests("pods.create", None), 0, "{fault:?}");
        assert_eq!(
            h.requests("secrets.create", None),
            1,
            "a create is a single attempt ({fault:?})"
        );
        assert_eq!(
            h.requests("secrets.delete", None),
            0,
            "nothing owned, nothing deleted ({fault:?})"
        );
        h.assert_cleaned_up().await;
    }
}

#[tokio::test]
async fn pod_create_failures_are_internal_errors_and_the_secret_is_deleted() {
    for fault in [E500, E429, Fault::Reset] {
        let (h, outcome) = run(vec![rule("pods.create", &[1], fault.clone())]).await;
        assert_internal_error(&outcome.response);
        assert_eq!(h.requests("pods.create", None), 1, "{fault:?}");
        h.assert_cleaned_up().await;
    }
}

#[tokio::test]
async fn failed_deletes_are_only_warned() {
    let (h, outcome) =
        run(vec![rule("pods.delete", &[], E500), rule("secrets.delete", &[], Fault::Reset)]).await;
    assert_completed(&outcome.response);
    // Left for the orphan sweep, as in the TypeScript.
    let m = h.metrics();
    assert_eq!((m.live_pods, m.live_secrets), (1, 1));
}
