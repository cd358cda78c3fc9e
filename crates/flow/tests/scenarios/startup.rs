//! Waiting for the runner (spec §1.5): every failure verdict, the budget, and a fast run
//! whose first observation is already finished.

use tale_sandbox_flow::{Action, Stage, StreamEnd};

use crate::support::*;

fn fails_with(observed: tale_sandbox_contract::k8s_openapi::api::core::v1::Pod, message: &str) {
    let mut h = Harness::start();
    h.create_all();
    h.advance(1_500);
    h.pod(observed);
    assert_eq!(summary(h.response()), spawner_unavailable(message));
    assert_eq!(h.response().duration_ms, 1_500);
    assert!(!h.watching, "the watch is stopped");
    h.finish_cleanup(true, true);
}

#[test]
fn runner_image_error() {
    fails_with(
        pod(
            "Pending",
            Some(C::Exited(0, None)),
            Some(C::Waiting("ErrImagePull")),
            Some(C::Running),
        ),
        "runner cannot start: ErrImagePull",
    );
}

#[test]
fn stage_image_error() {
    fails_with(
        pod("Pending", Some(C::Waiting("ImagePullBackOff")), None, None),
        "stage cannot start: ImagePullBackOff",
    );
}

#[test]
fn create_container_config_error_fails_at_once_w15() {
    fails_with(
        pod(
            "Pending",
            Some(C::Exited(0, None)),
            Some(C::Waiting("CreateContainerConfigError")),
            None,
        ),
        "runner cannot start: CreateContainerConfigError",
    );
}

#[test]
fn pod_failed_before_the_runner_started() {
    let mut p = pod("Failed", None, None, None);
    let status = p.status.as_mut().unwrap();
    status.reason = Some("Evicted".into());
    status.message = Some("The node was low on resource: memory.".into());
    fails_with(p, "pod failed before runner start: Evicted The node was low on resource: memory.");
    fails_with(pod("Failed", None, None, None), "pod failed before runner start: unknown");
}

#[test]
fn pending_observations_keep_waiting() {
    let mut h = Harness::start();
    h.create_all();
    h.pod(pod("Pending", None, None, None));
    h.pod(pod("Pending", Some(C::Running), Some(C::Waiting("PodInitializing")), None));
    assert!(h.exec.response().is_none());
    assert_eq!(h.exec.stage(), Stage::Starting);
    h.no_call();
}

#[test]
fn pod_deleted_during_startup() {
    let mut h = Harness::start();
    h.create_all();
    h.pod_gone();
    assert_eq!(summary(h.response()), spawner_unavailable("pod deleted during startup"));
    h.finish_cleanup(true, true);
}

#[test]
fn startup_budget_exhausted() {
    let mut h = Harness::start();
    h.create_all();
    h.advance(179_999);
    assert!(h.exec.response().is_none());
    h.advance(1);
    assert_eq!(
        summary(h.response()),
        spawner_unavailable("pod did not start the runner within 180000ms")
    );
    assert_eq!(h.response().duration_ms, 180_000);
    h.finish_cleanup(true, true);
}

#[test]
fn stage_tail_read_failure_keeps_the_message_without_tail() {
    let mut h = Harness::start();
    h.create_all();
    h.pod(pod("Pending", Some(C::Exited(2, None)), None, None));
    let (id, _) = h.expect("ReadLog stage");
    h.err(id, Some(404), "pods not found");
    assert_eq!(
        summary(h.response()),
        spawner_unavailable("spawner staging failed: pre-stage failed (exit 2)")
    );
    assert_eq!(
        h.warnings(),
        vec!["[sandbox.k8s] stage log read failed: pods not found".to_string()]
    );
    h.finish_cleanup(true, true);
}

#[test]
fn empty_stage_tail_is_left_out() {
    let mut h = Harness::start();
    h.create_all();
    h.pod(pod("Pending", Some(C::Exited(1, Some("Error"))), None, None));
    let (id, _) = h.expect("ReadLog stage");
    h.ok_log(id, "  \n");
    assert_eq!(
        summary(h.response()),
        spawner_unavailable("spawner staging failed: pre-stage failed (exit 1): Error")
    );
    h.finish_cleanup(true, true);
}

#[test]
fn a_fast_run_finished_at_the_first_observation() {
    let mut h = Harness::start();
    h.create_all();
    h.pod(succeeded());
    // Started, and the loop ended at once: stream opened, watch stopped, result read.
    let stream = h.last_stream();
    let (id, _) = h.expect("ReadLog harvest");
    h.chunk(stream, &ts(20, 0, "quick"));
    h.end(stream, StreamEnd::Eof);
    h.confirm_end();
    h.ok_log(id, &result_line(0));
    assert_eq!(summary(h.response()), completed("quick\n", false));
    assert!(h.log.iter().any(|a| matches!(a, Action::StopWatch)));
    h.finish_cleanup(true, true);
}
