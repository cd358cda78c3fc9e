//! Spec §7.1 cases 1–10 (`shouldReapPod`, `shouldReapSecret`,
//! `staleLifetimeCutoffMs`), the duplicate check of §1.4, startup
//! classification (§1.5, W15) and the main-loop pod checks (§1.7).

use crate::fixture::*;
use k8s_openapi::api::core::v1::{Pod, Secret};
use serde_json::json;
use tale_sandbox_contract::config::ContractVariant;
use tale_sandbox_contract::reap::*;

const LIFETIME: i64 = 180_000 + 300_000 + 120_000 + 60_000;

fn iso(ms: i64) -> String {
    k8s_openapi::jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

fn pod(id: &str, phase: &str, started_at: Option<i64>, finished_at: Option<i64>) -> Pod {
    let mut ann = serde_json::Map::new();
    ann.insert("tale.dev/execution-id".into(), json!(id));
    if let Some(s) = started_at {
        ann.insert("tale.dev/started-at".into(), json!(s.to_string()));
    }
    let term = finished_at.map(|f| json!({"terminated": {"exitCode": 0, "finishedAt": iso(f)}}));
    serde_json::from_value(json!({
        "metadata": {"name": "p", "annotations": ann},
        "status": {
            "phase": phase,
            "containerStatuses": term.map(|t| vec![json!({"name": "harvest", "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": t})]).unwrap_or_default()
        }
    }))
    .unwrap()
}

fn secret(id: &str, started_at: Option<i64>) -> Secret {
    let mut ann = serde_json::Map::new();
    ann.insert("tale.dev/execution-id".into(), json!(id));
    if let Some(s) = started_at {
        ann.insert("tale.dev/started-at".into(), json!(s.to_string()));
    }
    serde_json::from_value(json!({"metadata": {"name": "s", "annotations": ann}})).unwrap()
}

fn cfg() -> tale_sandbox_contract::config::SpawnerConfig {
    fixture_config(ContractVariant::UserAttestUlimit)
}

fn reap_pod(p: &Pod, live: &[&str]) -> bool {
    let is_live = |id: &str| live.contains(&id);
    let opts = SweepOptions { stale_before_ms: NOW - 600_000, is_live: &is_live };
    should_reap_pod(p, &opts, &cfg(), NOW)
}

fn reap_secret(s: &Secret, live: &[&str]) -> bool {
    let is_live = |id: &str| live.contains(&id);
    let opts = SweepOptions { stale_before_ms: NOW - 600_000, is_live: &is_live };
    should_reap_secret(s, &opts, &cfg(), NOW)
}

#[test]
fn case1_live_id_is_never_reaped() {
    let p = pod("e1", "Succeeded", Some(NOW - 3_600_000), Some(NOW - 600_000));
    assert!(!reap_pod(&p, &["e1"]));
}

#[test]
fn case2_3_terminal_grace() {
    assert!(!reap_pod(&pod("e1", "Succeeded", Some(NOW - 3_600_000), Some(NOW - 5_000)), &[]));
    assert!(reap_pod(&pod("e1", "Succeeded", Some(NOW), Some(NOW - 65_000)), &[]));
    // Strictly greater than the grace.
    assert!(!reap_pod(&pod("e1", "Failed", None, Some(NOW - 60_000)), &[]));
}

#[test]
fn case4_failed_without_finished_at_falls_back_to_stale_rule() {
    assert!(!reap_pod(&pod("e1", "Failed", Some(NOW - 60_000), None), &[]));
    assert!(reap_pod(&pod("e1", "Failed", Some(NOW - LIFETIME - 60_000), None), &[]));
}

#[test]
fn case5_running_lifetime_clamp_wins() {
    assert!(!reap_pod(&pod("e1", "Running", Some(NOW - 2 * 300_000 - 30_000), None), &[]));
    assert!(reap_pod(&pod("e1", "Running", Some(NOW - LIFETIME - 60_000), None), &[]));
}

#[test]
fn case6_running_without_started_at_is_kept() {
    assert!(!reap_pod(&pod("e1", "Running", None, None), &[]));
}

#[test]
fn case7_lifetime_cutoff() {
    assert_eq!(stale_lifetime_cutoff_ms(&cfg(), NOW), NOW - LIFETIME);
}

#[test]
fn case8_10_secrets() {
    assert!(!reap_secret(&secret("e1", Some(NOW - LIFETIME - 1)), &["e1"]));
    assert!(reap_secret(&secret("e1", Some(NOW - LIFETIME - 60_000)), &[]));
    assert!(!reap_secret(&secret("e1", Some(NOW - 60_000)), &[]));
    assert!(!reap_secret(&secret("e1", None), &[]));
}

#[test]
fn started_at_is_read_like_javascript_number() {
    for (raw, reaped) in [
        ("garbage", false),
        ("", false),
        ("  ", false),
        ("-5", false),
        ("1e3", true),
        ("Infinity", false),
    ] {
        let mut p = pod("e1", "Running", None, None);
        p.metadata.annotations.as_mut().unwrap().insert("tale.dev/started-at".into(), raw.into());
        assert_eq!(reap_pod(&p, &[]), reaped, "{raw:?}");
    }
}

#[test]
fn finished_at_parsing() {
    assert_eq!(parse_k8s_timestamp_ms("2023-11-14T22:13:20Z"), Some(NOW));
    assert_eq!(parse_k8s_timestamp_ms("2023-11-14T22:13:20.5Z"), Some(NOW + 500));
    assert_eq!(parse_k8s_timestamp_ms("not a time"), None);
    assert_eq!(latest_finished_at_ms(&pod("e", "Succeeded", None, Some(NOW - 7))), Some(NOW - 7));
}

#[test]
fn duplicate_dispatch_check() {
    assert!(is_live_duplicate(&pod("e", "Running", Some(NOW - 5_000), None), &cfg(), NOW));
    assert!(!is_live_duplicate(&pod("e", "Succeeded", Some(NOW - 5_000), None), &cfg(), NOW));
    assert!(!is_live_duplicate(&pod("e", "Running", Some(NOW - LIFETIME - 1), None), &cfg(), NOW));
    let msg = duplicate_execution_message("tale-sbx-x");
    assert_eq!(msg, "executionId already has a live pod (tale-sbx-x) \u{2014} duplicate dispatch");
    assert!(msg.contains("duplicate"));
    assert!(pod_conflict_message("e1").contains("another replica"));
}

fn status_pod(status: serde_json::Value) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
}

fn cs(name: &str, state: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "image": "i", "imageID": "", "ready": false, "restartCount": 0, "state": state})
}

#[test]
fn startup_classification() {
    let stage_failed = status_pod(
        json!({"initContainerStatuses": [cs("stage", json!({"terminated": {"exitCode": 1, "reason": "Error"}}))]}),
    );
    assert_eq!(
        classify_startup(&stage_failed),
        StartupState::PreStageFailed("pre-stage failed (exit 1): Error".into())
    );
    assert_eq!(
        staging_failed_message(
            "pre-stage failed (exit 1): Error",
            Some("workspace file fetch failed for main.py: HTTP 403\n")
        ),
        "spawner staging failed: pre-stage failed (exit 1): Error: workspace file fetch failed for main.py: HTTP 403"
    );
    assert_eq!(staging_failed_message("m", Some("  ")), "spawner staging failed: m");

    let stage_ok = status_pod(
        json!({"initContainerStatuses": [cs("stage", json!({"terminated": {"exitCode": 0}}))]}),
    );
    assert_eq!(classify_startup(&stage_ok), StartupState::Pending);

    let stage_pull = status_pod(
        json!({"initContainerStatuses": [cs("stage", json!({"waiting": {"reason": "ImagePullBackOff"}}))]}),
    );
    assert_eq!(
        classify_startup(&stage_pull),
        StartupState::Failed("stage cannot start: ImagePullBackOff".into())
    );

    let running = status_pod(json!({"containerStatuses": [cs("runner", json!({"running": {}}))]}));
    assert_eq!(classify_startup(&running), StartupState::Started);
    let done = status_pod(
        json!({"containerStatuses": [cs("runner", json!({"terminated": {"exitCode": 0}}))]}),
    );
    assert_eq!(classify_startup(&done), StartupState::Started);

    let bad_image = status_pod(
        json!({"containerStatuses": [cs("runner", json!({"waiting": {"reason": "ErrImagePull"}}))]}),
    );
    assert_eq!(
        classify_startup(&bad_image),
        StartupState::Failed("runner cannot start: ErrImagePull".into())
    );

    let creating = status_pod(
        json!({"containerStatuses": [cs("runner", json!({"waiting": {"reason": "ContainerCreating"}}))]}),
    );
    assert_eq!(classify_startup(&creating), StartupState::Pending);

    let failed = status_pod(json!({"phase": "Failed", "reason": "Evicted", "message": "low disk"}));
    assert_eq!(
        classify_startup(&failed),
        StartupState::Failed("pod failed before runner start: Evicted low disk".into())
    );
    let failed_bare = status_pod(json!({"phase": "Failed"}));
    assert_eq!(
        classify_startup(&failed_bare),
        StartupState::Failed("pod failed before runner start: unknown".into())
    );
    assert_eq!(startup_timeout_message(), "pod did not start the runner within 180000ms");
}

#[test]
fn w15_create_container_config_error_is_a_start_failure() {
    assert!(!matches_image_err_re("CreateContainerConfigError"), "the TypeScript regex misses it");
    assert!(is_start_failure_reason("CreateContainerConfigError"));
    for r in [
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerError",
        "CrashLoopBackOff",
    ] {
        assert!(matches_image_err_re(r) && is_start_failure_reason(r), "{r}");
    }
    assert!(
        !is_start_failure_reason("ContainerCreating")
            && !is_start_failure_reason("PodInitializing")
    );
    let pod = status_pod(
        json!({"containerStatuses": [cs("runner", json!({"waiting": {"reason": "CreateContainerConfigError", "message": "secret not found"}}))]}),
    );
    assert_eq!(
        classify_startup(&pod),
        StartupState::Failed("runner cannot start: CreateContainerConfigError".into())
    );
}

#[test]
fn main_loop_pod_checks() {
    let harvest_done_pod = status_pod(
        json!({"phase": "Running", "containerStatuses": [cs("harvest", json!({"terminated": {"exitCode": 0}}))]}),
    );
    assert!(harvest_done(&harvest_done_pod));
    assert!(
        harvest_done(&status_pod(json!({"phase": "Failed"}))),
        "eviction counts as harvestDone (W11)"
    );
    assert!(!harvest_done(&status_pod(
        json!({"phase": "Running", "containerStatuses": [cs("harvest", json!({"running": {}}))]})
    )));

    let killed = status_pod(
        json!({"containerStatuses": [cs("runner", json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}))]}),
    );
    let k = runner_abnormal_exit(&killed).unwrap();
    assert_eq!((k.exit_code, k.reason.as_deref()), (137, Some("OOMKilled")));
    let clean = status_pod(
        json!({"containerStatuses": [cs("runner", json!({"terminated": {"exitCode": 0}}))]}),
    );
    assert!(runner_abnormal_exit(&clean).is_none());
}

#[test]
fn an_empty_stage_reason_adds_nothing_as_in_the_typescript() {
    // `reason ? ": " + reason : ""` — an empty string is falsy.
    let stage_failed = status_pod(
        json!({"initContainerStatuses": [cs("stage", json!({"terminated": {"exitCode": 2, "reason": ""}}))]}),
    );
    assert_eq!(
        classify_startup(&stage_failed),
        StartupState::PreStageFailed("pre-stage failed (exit 2)".into())
    );
}
