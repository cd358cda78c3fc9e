//! `init`, `health`, `cancel` and `sweep_orphans` against the embedded test
//! cluster (spec §1.10–§1.12).

use crate::common::{Harness, NS, sandbox_pod, sandbox_secret, unique};
use tale_sandbox_contract::constants::{HARVEST_BACKSTOP_MS, STARTUP_BUDGET_MS, SWEEP_SLACK_MS};
use tale_sandbox_contract::names::{pod_name_for, secret_name_for};
use tale_sandbox_contract::reap::SweepOptions;
use tale_sandbox_contract::wire::HealthResult;
use tale_sandbox_execute::{BackendError, now_ms};
use tale_sandbox_testcluster::{ClusterConfig, Fault, FaultPlan, FaultRule, Scenario};

fn always(route: &str, fault: Fault) -> FaultPlan {
    FaultPlan {
        seed: 1,
        rules: vec![FaultRule {
            route: route.into(),
            name: None,
            container: None,
            probability: None,
            on_requests: None,
            max_times: None,
            fault,
        }],
    }
}

/// A pod that stays `Pending` forever, so only the stale rule can reap it.
fn never_scheduled() -> Scenario {
    Scenario { unschedulable: Some("0/1 nodes are available".into()), ..Scenario::default() }
}

#[tokio::test]
async fn init_and_health_list_one_pod() {
    let h = Harness::start(ClusterConfig::default()).await;
    assert_eq!(h.backend.kind(), "kubernetes");
    h.backend.init().await.expect("init");
    assert_eq!(
        h.backend.health().await,
        HealthResult::Healthy { detail: format!("k8s namespace={NS}") }
    );
    assert_eq!(h.requests("pods.list", Some(200)), 2);
    h.backend.warm_image().await;
    h.backend.shutdown().await;
}

#[tokio::test]
async fn init_failure_is_the_typed_boot_error() {
    let h = Harness::start(ClusterConfig {
        faults: always("pods.list", Fault::Status { code: 403 }),
        ..Default::default()
    })
    .await;
    let err = h.backend.init().await.unwrap_err();
    assert_eq!(err.code(), "K8S_INIT_FAILED");
    let BackendError::Init { namespace, source } = &err else { panic!("{err:?}") };
    assert_eq!(namespace, NS);
    assert_eq!(source.status, Some(403));
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "k8s backend init: cannot list pods in namespace {NS} (check ServiceAccount RBAC + NODE_EXTRA_CA_CERTS for CA trust under Bun): "
        )),
        "{text}"
    );
    match h.backend.health().await {
        HealthResult::Unhealthy { error } => assert_eq!(error, source.message),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn init_transport_failure_has_no_status() {
    let h = Harness::start(ClusterConfig {
        faults: always("pods.list", Fault::Reset),
        ..Default::default()
    })
    .await;
    let BackendError::Init { source, .. } = h.backend.init().await.unwrap_err() else { panic!() };
    assert_eq!(source.status, None, "{source:?}");
    // A single attempt: kube's retry layer is off, retries are the flow's business.
    assert_eq!(h.metrics().faults.iter().map(|f| f.count).sum::<u64>(), 1);
}

#[tokio::test]
async fn wrong_token_is_401() {
    let h =
        Harness::start(ClusterConfig { token: Some("right".into()), ..Default::default() }).await;
    h.backend.init().await.expect("the kubeconfig carries the token");
    let backend = tale_sandbox_execute::KubernetesBackend::new_with_env(
        h.cfg.clone(),
        Default::default(),
        |name| match name {
            "SANDBOX_K8S_SERVER" => Some(h.cluster.url().to_string()),
            "SANDBOX_K8S_TOKEN" => Some("wrong-secret-token".into()),
            _ => None,
        },
    )
    .await
    .expect("backend");
    let err = backend.init().await.unwrap_err();
    let BackendError::Init { source, .. } = &err else { panic!() };
    assert_eq!(source.status, Some(401));
    assert!(!err.to_string().contains("wrong-secret-token"));
}

#[tokio::test]
async fn remote_cancel_deletes_pod_and_secret() {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("cancel");
    h.cluster.set_scenario(&id, never_scheduled()).unwrap();
    h.api().create_secret(&sandbox_secret(&h.cfg, &id, now_ms())).await.unwrap();
    h.api().create_pod(&sandbox_pod(&h.cfg, &id, now_ms())).await.unwrap();
    assert_eq!((h.metrics().live_pods, h.metrics().live_secrets), (1, 1));

    assert!(h.backend.cancel(&id).await, "the pod existed");
    h.assert_cleaned_up().await;
    assert!(h.api().read_pod(&pod_name_for(&id)).await.unwrap_err().is_not_found());
    assert!(h.api().read_pvc("nothing").await.unwrap_err().is_not_found());

    // Nothing left: false, and the 404s are silent.
    assert!(!h.backend.cancel(&id).await);
    assert!(h.requests("secrets.delete", Some(404)) >= 1);
}

#[tokio::test]
async fn cancel_reports_a_failed_delete_as_not_found() {
    let h = Harness::start(ClusterConfig::default()).await;
    let id = unique("cancel-fail");
    h.cluster.set_scenario(&id, never_scheduled()).unwrap();
    h.api().create_pod(&sandbox_pod(&h.cfg, &id, now_ms())).await.unwrap();
    h.cluster.set_faults(always("pods.delete", Fault::Status { code: 500 })).unwrap();
    assert!(!h.backend.cancel(&id).await);
    assert_eq!(h.metrics().live_pods, 1);
}

#[tokio::test]
async fn sweep_reaps_stale_pods_and_podless_secrets_only() {
    let h = Harness::start(ClusterConfig::default()).await;
    let now = now_ms();
    let lifetime =
        STARTUP_BUDGET_MS + h.cfg.max_timeout_ms as i64 + HARVEST_BACKSTOP_MS + SWEEP_SLACK_MS;
    let stale_at = now - lifetime - 1_000;

    let stale = unique("stale");
    let fresh = unique("fresh");
    let live = unique("live");
    let podless = unique("podless");
    for id in [&stale, &fresh, &live] {
        h.cluster.set_scenario(id, never_scheduled()).unwrap();
    }
    for (id, at) in [(&stale, stale_at), (&fresh, now), (&live, stale_at)] {
        h.api().create_secret(&sandbox_secret(&h.cfg, id, at)).await.unwrap();
        h.api().create_pod(&sandbox_pod(&h.cfg, id, at)).await.unwrap();
    }
    h.api().create_secret(&sandbox_secret(&h.cfg, &podless, stale_at)).await.unwrap();

    let is_live = |id: &str| id == live;
    let opts =
        SweepOptions { stale_before_ms: now - 2 * h.cfg.max_timeout_ms as i64, is_live: &is_live };
    // The stale pod (its Secret goes with it) and the podless Secret.
    assert_eq!(h.backend.sweep_orphans(&opts).await, 2);

    let m = h.metrics();
    assert_eq!((m.live_pods, m.live_secrets), (2, 2));
    assert!(h.api().read_pod(&pod_name_for(&stale)).await.unwrap_err().is_not_found());
    h.api().read_pod(&pod_name_for(&fresh)).await.unwrap();
    h.api().read_pod(&pod_name_for(&live)).await.unwrap();
    let secrets: Vec<String> = h
        .api()
        .list_secrets(Some("tale.sandbox=1"))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|s| s.metadata.name)
        .collect();
    let mut expected = vec![secret_name_for(&fresh), secret_name_for(&live)];
    expected.sort();
    let mut secrets = secrets;
    secrets.sort();
    assert_eq!(secrets, expected);
}

#[tokio::test]
async fn sweep_with_failing_lists() {
    let h = Harness::start(ClusterConfig::default()).await;
    let opts = SweepOptions { stale_before_ms: now_ms(), is_live: &|_| false };
    h.cluster.set_faults(always("pods.list", Fault::Status { code: 500 })).unwrap();
    assert_eq!(h.backend.sweep_orphans(&opts).await, 0);
    assert_eq!(h.requests("secrets.list", None), 0, "a failed pod list ends the sweep");

    let stale = unique("stale");
    h.cluster.set_scenario(&stale, never_scheduled()).unwrap();
    h.cluster.set_faults(FaultPlan::default()).unwrap();
    h.api().create_pod(&sandbox_pod(&h.cfg, &stale, 1_000)).await.unwrap();
    h.cluster.set_faults(always("secrets.list", Fault::Status { code: 500 })).unwrap();
    assert_eq!(
        h.backend.sweep_orphans(&opts).await,
        1,
        "the pods removed before the secret list failed"
    );
    assert_eq!(h.metrics().live_pods, 0);
}
