//! Before the Pod (spec §1.4, §4.8): cache PVCs, and W16 — a deleted leftover pod must be
//! gone before ours is created.

use tale_sandbox_contract::config::CacheMode;
use tale_sandbox_flow::{Call, ExecuteOptions, Execution};

use crate::support::*;

fn pvc_harness() -> Harness {
    let mut cfg = cfg();
    cfg.k8s.cache_mode = CacheMode::Pvc;
    Harness::new(&cfg, request())
}

#[test]
fn pvc_mode_creates_missing_claims_then_mounts_them() {
    let mut h = pvc_harness();
    let (id, call) = h.expect("ReadPvc");
    assert!(
        matches!(call, Call::ReadPvc { ref name } if name.starts_with("tale-sandbox-pip-cache"))
    );
    h.err(id, Some(404), "not found");
    let (id, _) = h.expect("CreatePvc");
    h.err(id, Some(409), "AlreadyExists"); // a concurrent create is as good
    let (id, call) = h.expect("ReadPvc");
    assert!(
        matches!(call, Call::ReadPvc { ref name } if name.starts_with("tale-sandbox-npm-cache"))
    );
    h.ok(id);
    let (id, _) = h.expect("CreateSecret");
    h.ok(id);
    let (_, call) = h.expect("CreatePod");
    let Call::CreatePod(pod) = call else { unreachable!() };
    let claims: Vec<_> = pod
        .spec
        .unwrap()
        .volumes
        .unwrap()
        .into_iter()
        .filter_map(|v| v.persistent_volume_claim.map(|c| c.claim_name))
        .collect();
    assert_eq!(claims.len(), 2);
}

#[test]
fn pvc_errors_are_internal_errors_without_cleanup() {
    let mut h = pvc_harness();
    let (id, call) = h.expect("ReadPvc");
    let Call::ReadPvc { name } = call else { unreachable!() };
    h.err(id, Some(500), "boom");
    assert_eq!(
        summary(h.response()),
        spawner_unavailable(&format!(
            "spawner internal error: k8s cache: failed to read PVC {name}: boom"
        ))
    );
    h.finish_cleanup(false, false);

    let mut h = pvc_harness();
    let (id, call) = h.expect("ReadPvc");
    let Call::ReadPvc { name } = call else { unreachable!() };
    h.err(id, Some(404), "not found");
    let (id, _) = h.expect("CreatePvc");
    h.err(id, Some(403), "forbidden");
    assert_eq!(
        summary(h.response()),
        spawner_unavailable(&format!(
            "spawner internal error: k8s cache: failed to create PVC {name}: forbidden"
        ))
    );
    h.finish_cleanup(false, false);
}

#[test]
fn the_backend_config_decides_the_cache_mode() {
    // The call's config says pvc, the backend's says none (the TypeScript's `this.cfg`).
    let mut call_cfg = cfg();
    call_cfg.k8s.cache_mode = CacheMode::Pvc;
    let mut exec = Execution::new(&call_cfg, &cfg(), request(), ExecuteOptions::new(NOW), NOW);
    let first = exec.poll_action().unwrap();
    assert!(matches!(first, tale_sandbox_flow::Action::Call { call: Call::CreateSecret(_), .. }));
}

#[test]
fn w16_waits_until_a_terminal_leftover_is_gone() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.ok_pod(id, leftover("Succeeded", NOW - 5_000));
    let (id, call) = h.expect("DeletePod");
    assert!(matches!(call, Call::DeletePod { grace_period_seconds: 0, .. }));
    h.ok(id);
    let (id, _) = h.expect("ReadPod");
    h.ok_pod(id, leftover("Succeeded", NOW - 5_000)); // still terminating
    h.advance(499);
    h.no_call();
    h.advance(1);
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(404), "not found");
    let (id, _) = h.expect("ReplaceSecret");
    h.ok(id);
    let (id, _) = h.expect("CreatePod");
    h.ok(id);
    assert!(h.watching);
    assert!(h.warnings().is_empty());
}

#[test]
fn an_abandoned_running_leftover_is_replaced_and_a_failed_delete_does_not_wait() {
    let lifetime = 180_000 + 300_000 + 120_000 + 60_000;
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.ok_pod(id, leftover("Running", NOW - lifetime - 1));
    let (id, _) = h.expect("DeletePod");
    h.err(id, Some(500), "etcd");
    let pod_name = h.exec.pod_name().to_string();
    assert_eq!(h.warnings(), vec![format!("[sandbox.k8s] delete pod {pod_name} failed: etcd")]);
    h.expect("ReplaceSecret");
}

#[test]
fn the_w16_wait_is_bounded() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.ok_pod(id, leftover("Failed", NOW - 5_000));
    let (id, _) = h.expect("DeletePod");
    h.ok(id);
    let mut reads = 0;
    loop {
        let (id, call) = h.next_call();
        if describe(&call) == "ReplaceSecret" {
            break;
        }
        reads += 1;
        h.ok_pod(id, leftover("Failed", NOW - 5_000));
        h.advance(500);
    }
    assert_eq!(reads, 60, "every 500 ms until the 30 s bound");
}

#[test]
fn a_replace_failure_owns_nothing() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(404), "not found");
    let (id, _) = h.expect("ReplaceSecret");
    h.err(id, Some(422), "invalid");
    assert_eq!(summary(h.response()), spawner_unavailable("spawner internal error: invalid"));
    h.finish_cleanup(false, false);
}
