//! `withRetry` (spec §2.2): read-pod and read-log, 3 attempts 200/400 ms apart, a warning per
//! failed retryable attempt, non-retryable statuses at once; other calls are single attempts.

use crate::support::*;

#[test]
fn read_pod_retries_then_succeeds() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(503), "Service Unavailable");
    h.advance(199);
    h.no_call();
    h.advance(1);
    let (id, _) = h.expect("ReadPod");
    h.err(id, None, "The operation was aborted due to timeout");
    h.advance(399);
    h.no_call();
    h.advance(1);
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(404), "not found");
    h.expect("ReplaceSecret");
    assert_eq!(
        h.warnings(),
        vec![
            "[sandbox.k8s] read-pod attempt 1/3 failed: Service Unavailable".to_string(),
            "[sandbox.k8s] read-pod attempt 2/3 failed: The operation was aborted due to timeout"
                .to_string(),
        ]
    );
}

#[test]
fn read_pod_gives_up_after_three_attempts() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    for attempt in 1..=3 {
        let (id, _) = h.expect("ReadPod");
        h.err(id, Some(500), "internal");
        h.advance(200 * attempt);
    }
    assert_eq!(summary(h.response()), spawner_unavailable("spawner internal error: internal"));
    assert_eq!(h.warnings().len(), 3);
    assert_eq!(h.warnings()[2], "[sandbox.k8s] read-pod attempt 3/3 failed: internal");
    // The Secret was not ours (409), nothing to delete.
    h.finish_cleanup(false, false);
}

#[test]
fn non_retryable_statuses_give_up_at_once_without_warning() {
    for status in [400, 401, 403, 409, 422] {
        let mut h = Harness::start();
        let (id, _) = h.expect("CreateSecret");
        h.err(id, Some(409), "AlreadyExists");
        let (id, _) = h.expect("ReadPod");
        h.err(id, Some(status), "denied");
        assert_eq!(summary(h.response()), spawner_unavailable("spawner internal error: denied"));
        assert!(h.warnings().is_empty());
        h.finish_cleanup(false, false);
    }
}

#[test]
fn read_log_retries_for_the_stage_tail() {
    let mut h = Harness::start();
    h.create_all();
    h.pod(pod("Pending", Some(C::Exited(1, Some("Error"))), None, None));
    for attempt in 1..=3 {
        let (id, _) = h.expect("ReadLog stage");
        h.err(id, None, "socket hang up");
        h.advance(200 * attempt);
    }
    assert_eq!(
        summary(h.response()),
        spawner_unavailable("spawner staging failed: pre-stage failed (exit 1): Error")
    );
    assert_eq!(
        h.warnings(),
        vec![
            "[sandbox.k8s] read-log attempt 1/3 failed: socket hang up".to_string(),
            "[sandbox.k8s] read-log attempt 2/3 failed: socket hang up".to_string(),
            "[sandbox.k8s] read-log attempt 3/3 failed: socket hang up".to_string(),
            "[sandbox.k8s] stage log read failed: socket hang up".to_string(),
        ]
    );
    h.finish_cleanup(true, true);
}

#[test]
fn creates_are_single_attempts() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(503), "unavailable");
    h.advance(1_000);
    assert_eq!(summary(h.response()), spawner_unavailable("spawner internal error: unavailable"));
    h.finish_cleanup(false, false);
}
