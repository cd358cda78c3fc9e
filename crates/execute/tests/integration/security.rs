//! What the README's security section claims about the API access the execute path needs: every
//! request it makes, in every operation (`init`, `health`, `execute` with the PVC cache, a
//! duplicate dispatch, `cancel`, `sweep_orphans`), is covered by the RBAC rules listed there (spec
//! §4.10 plus `watch` on pods), and nothing else is asked for (no `pods/exec`, no other resource).

use std::time::Duration;

use crate::common::{Harness, request, unique};
use tale_sandbox_contract::config::{CacheMode, SpawnerConfig};
use tale_sandbox_contract::reap::SweepOptions;
use tale_sandbox_contract::wire::ExecutionStatus;
use tale_sandbox_execute::{ExecuteOptions, now_ms};
use tale_sandbox_flow::Tuning;
use tale_sandbox_testcluster::{ClusterConfig, OutputStep, Scenario};

/// The test cluster's route names, each with the RBAC rule (resource: verb) that allows it, as the
/// README lists them. Discovery, version and health endpoints are non-resource URLs every
/// authenticated identity may read.
const RBAC: &[(&str, &str)] = &[
    ("pods.create", "pods: create"),
    ("pods.get", "pods: get"),
    ("pods.list", "pods: list"),
    ("pods.watch", "pods: watch"),
    ("pods.delete", "pods: delete"),
    ("pods.log", "pods/log: get"),
    ("secrets.create", "secrets: create"),
    ("secrets.replace", "secrets: update"),
    ("secrets.list", "secrets: list"),
    ("secrets.delete", "secrets: delete"),
    ("pvcs.get", "persistentvolumeclaims: get"),
    ("pvcs.create", "persistentvolumeclaims: create"),
];
const NON_RESOURCE: &[&str] = &["discovery", "version", "health", "sim"];

#[tokio::test]
async fn every_request_is_covered_by_the_documented_rbac_rules() {
    let mut cfg = SpawnerConfig::default();
    cfg.k8s.cache_mode = CacheMode::Pvc;
    let h = Harness::start_with(ClusterConfig::default(), cfg).await;
    h.backend.init().await.expect("init");
    let _ = h.backend.health().await;

    let id = unique("rbac");
    h.cluster
        .set_scenario(&id, Scenario::runner_output(vec![OutputStep::text("hello\n")], 0))
        .unwrap();
    let mut opts = ExecuteOptions::new(now_ms());
    opts.tuning = Tuning { stdout_drain_ms: 500, ..Tuning::default() };
    let outcome = tokio::time::timeout(
        Duration::from_secs(60),
        h.backend.execute(&h.cfg, request(&id), opts),
    )
    .await
    .expect("execute finishes within 60 s");
    assert_eq!(outcome.response.status, ExecutionStatus::Completed, "{:?}", outcome.response);
    assert!(!h.backend.cancel(&unique("absent")).await);
    let is_live = |_: &str| false;
    let sweep = SweepOptions { stale_before_ms: now_ms() - 3_600_000, is_live: &is_live };
    h.backend.sweep_orphans(&sweep).await;
    h.assert_cleaned_up().await;

    let metrics = h.metrics();
    let mut used = Vec::new();
    for r in &metrics.requests {
        if NON_RESOURCE.contains(&r.route.as_str()) {
            continue;
        }
        let rule = RBAC.iter().find(|(route, _)| *route == r.route);
        assert!(rule.is_some(), "{} {} is not covered by the README's RBAC rules", r.route, r.code);
        used.push(r.route.clone());
    }
    // The rules are needed, not only sufficient: the normal path uses each of these.
    for route in [
        "pods.create",
        "pods.watch",
        "pods.delete",
        "pods.log",
        "secrets.create",
        "secrets.delete",
        "pods.list",
        "secrets.list",
        "pvcs.get",
        "pvcs.create",
    ] {
        assert!(used.iter().any(|u| u == route), "{route} unused: {used:?}");
    }
}
