//! The caller's abort at every stage, with the cleanup it owes.

use tale_sandbox_flow::{Action, StreamEnd};

use crate::support::*;

#[test]
fn abort_while_the_secret_is_being_created_waits_for_ownership() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.abort();
    assert!(h.exec.response().is_none(), "the in-flight create decides what is owned");
    h.ok(id);
    assert_eq!(summary(h.response()), cancelled("", false));
    // Owned Secret deleted; no Pod was created.
    h.finish_cleanup(false, true);
}

#[test]
fn abort_while_the_pod_is_being_created() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.ok(id);
    let (id, _) = h.expect("CreatePod");
    h.abort();
    h.ok(id);
    assert_eq!(summary(h.response()), cancelled("", false));
    assert!(!h.watching);
    h.finish_cleanup(true, true);
}

/// `withRetry`'s sleep is not abortable in the TypeScript: the duplicate read goes on, and
/// its answer decides (a live owner is the duplicate; anything else is the cancel).
#[test]
fn abort_while_a_retry_is_pending_finishes_the_read() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.err(id, None, "timeout");
    h.abort();
    assert!(h.exec.response().is_none());
    h.advance(200);
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(404), "not found");
    assert_eq!(summary(h.response()), cancelled("", false));
    h.advance(1_000);
    h.finish_cleanup(false, false);

    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(503), "unavailable");
    h.abort();
    h.advance(200);
    let (id, _) = h.expect("ReadPod");
    h.ok_pod(id, leftover("Running", NOW - 5_000));
    let pod_name = h.exec.pod_name().to_string();
    assert_eq!(
        summary(h.response()),
        spawner_unavailable(&format!(
            "executionId already has a live pod ({pod_name}) \u{2014} duplicate dispatch"
        ))
    );
    h.finish_cleanup(false, false);
}

#[test]
fn abort_during_startup() {
    let mut h = Harness::start();
    h.create_all();
    h.advance(700);
    h.abort();
    assert_eq!(summary(h.response()), cancelled("", false));
    assert_eq!(h.response().duration_ms, 700);
    assert!(!h.watching);
    // Exact cleanup sequence after the response.
    let respond = h.position(|a| matches!(a, Action::Respond(_))).unwrap();
    let tail: Vec<String> = h.log[respond + 1..]
        .iter()
        .map(|a| match a {
            Action::Call { call, .. } => describe(call),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(tail, vec!["DeletePod".to_string()]);
    h.finish_cleanup(true, true);
}

#[test]
fn abort_while_running_keeps_the_stdout_so_far() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &format!("{}{}", ts(20, 0, "PHASE: running"), ts(20, 1, "hello")));
    h.abort();
    assert_eq!(h.closed, vec![stream]);
    assert_eq!(summary(h.response()), cancelled("hello\n", false));
    // Late events are ignored.
    h.chunk(stream, &ts(21, 0, "late"));
    h.end(stream, StreamEnd::Eof);
    h.pod(succeeded());
    h.finish_cleanup(true, true);
}

#[test]
fn abort_while_reading_the_result() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &ts(20, 0, "out"));
    h.end(stream, StreamEnd::Eof);
    h.tail_check(&ts(20, 0, "out"));
    h.pod(succeeded());
    h.tail_check(&ts(20, 0, "out"));
    let (id, _) = h.expect("ReadLog harvest");
    h.abort();
    // §1.9: the result read goes on; the cancel carries what it brings.
    assert!(h.exec.response().is_none());
    h.ok_log(id, &result_line(0));
    assert_eq!(summary(h.response()), cancelled("out\n", false));
    h.finish_cleanup(true, true);
}

/// §1.8/§1.9: an abort during the result window neither cuts the window short (the 400 ms
/// re-read sleep is not abortable) nor drops the harvest: the cancelled response carries the
/// result line's outputs, steps and upload stats.
#[test]
fn abort_in_the_result_window_waits_for_the_result_and_carries_it() {
    use tale_sandbox_contract::protocol::format_result_line;
    use tale_sandbox_contract::wire::{HarvestResult, UploadStats};

    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &ts(20, 0, "out"));
    h.end(stream, StreamEnd::Eof);
    h.tail_check(&ts(20, 0, "out"));
    h.pod(succeeded());
    h.tail_check(&ts(20, 0, "out"));
    // The first read has no result line yet (log flush lag).
    let (id, _) = h.expect("ReadLog harvest");
    h.ok_log(id, "");
    h.abort();
    assert!(h.exec.response().is_none());
    h.advance(400);
    let (id, _) = h.expect("ReadLog harvest");
    let stats = UploadStats { attempted: 1, succeeded: 1, failures: vec![] };
    let line =
        format_result_line(&HarvestResult { upload_stats: stats.clone(), ..Default::default() });
    h.ok_log(id, &line);
    assert_eq!(summary(h.response()), cancelled("out\n", false));
    assert_eq!(h.response().upload_stats, Some(stats));
    assert!(h.warnings().is_empty(), "{:?}", h.warnings());
    h.finish_cleanup(true, true);
}

/// An abort while the stage tail of a staging failure is read does not turn the staging
/// failure into a cancel (the TypeScript has left the abortable wait already).
#[test]
fn abort_while_reading_the_stage_tail_keeps_the_staging_failure() {
    let mut h = Harness::start();
    h.create_all();
    h.pod(pod(
        "Pending",
        Some(C::Exited(1, Some("Error"))),
        Some(C::Waiting("PodInitializing")),
        Some(C::Waiting("PodInitializing")),
    ));
    let (id, _) = h.expect("ReadLog stage");
    h.abort();
    assert!(h.exec.response().is_none());
    h.ok_log(id, "workspace file fetch failed for main.py: HTTP 403\n");
    assert_eq!(
        summary(h.response()),
        spawner_unavailable(
            "spawner staging failed: pre-stage failed (exit 1): Error: workspace file fetch failed for main.py: HTTP 403"
        )
    );
    h.finish_cleanup(true, true);
}

#[test]
fn abort_after_done_is_ignored() {
    let mut h = Harness::start();
    h.create_all();
    h.pod_gone();
    h.finish_cleanup(true, true);
    let before = h.log.len();
    h.abort();
    h.advance(10_000);
    assert_eq!(h.log.len(), before);
}

#[test]
fn cleanup_errors_are_warned_and_404_is_silent() {
    let mut h = Harness::start();
    h.create_all();
    h.pod_gone();
    let (id, _) = h.expect("DeletePod");
    h.err(id, Some(404), "not found");
    let (id, _) = h.expect("DeleteSecret");
    h.err(id, Some(500), "boom");
    let secret = h.exec.secret_name().to_string();
    assert_eq!(h.warnings(), vec![format!("[sandbox.k8s] delete secret {secret} failed: boom")]);
    assert!(h.exec.is_done());
}

#[test]
fn abort_after_the_result_was_read_carries_the_harvest() {
    use tale_sandbox_contract::protocol::format_result_line;
    use tale_sandbox_contract::wire::{HarvestResult, UploadStats};

    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &ts(20, 0, "out"));
    h.pod(succeeded());
    let (id, _) = h.expect("ReadLog harvest");
    let stats = UploadStats { attempted: 2, succeeded: 2, failures: vec![] };
    let line =
        format_result_line(&HarvestResult { upload_stats: stats.clone(), ..Default::default() });
    h.ok_log(id, &line);
    // Still draining the stream when the caller aborts.
    assert!(h.exec.response().is_none());
    h.abort();
    assert_eq!(summary(h.response()), cancelled("out\n", false));
    assert_eq!(h.response().upload_stats, Some(stats));
    h.finish_cleanup(true, true);
}

/// §1.4 + §1.2 step 15: an abort during the Secret create does not hide a duplicate
/// dispatch — the 409 is still disambiguated, and a live owner is reported as the duplicate
/// (the TypeScript's catch tests `DuplicateExecutionError` before `signal.aborted`), with no
/// deletes and no replace.
#[test]
fn abort_during_the_secret_create_still_reports_a_live_duplicate() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.abort();
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.ok_pod(id, leftover("Running", NOW - 5_000));
    let pod_name = h.exec.pod_name().to_string();
    assert_eq!(
        summary(h.response()),
        spawner_unavailable(&format!(
            "executionId already has a live pod ({pod_name}) \u{2014} duplicate dispatch"
        ))
    );
    h.finish_cleanup(false, false);

    // No pod (404): the abort answers, nothing owned, nothing deleted.
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.abort();
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(404), "not found");
    assert_eq!(summary(h.response()), cancelled("", false));
    h.finish_cleanup(false, false);
}
