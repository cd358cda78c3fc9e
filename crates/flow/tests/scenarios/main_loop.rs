//! The main loop (spec §1.7): the runner-dead grace (strict), the started-line check, W12,
//! the backstop, and reaction to the watch without ticks.

use tale_sandbox_contract::wire::{ErrorCode, ExecutionStatus};
use tale_sandbox_flow::{Action, LoopOutcome, StreamEnd};

use crate::support::*;

fn runner_oom() -> tale_sandbox_contract::k8s_openapi::api::core::v1::Pod {
    pod(
        "Running",
        Some(C::Exited(0, None)),
        Some(C::Exited(137, Some("OOMKilled"))),
        Some(C::Running),
    )
}

#[test]
fn runner_dead_after_the_strict_grace_without_started_line() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.advance(1_000);
    h.pod(runner_oom());
    h.advance(10_000);
    h.no_call(); // exactly the grace: not yet (strict `>`)
    // A later observation inside the grace changes nothing.
    h.advance(1);
    let (id, call) = h.expect("ReadLog harvest");
    assert_eq!(
        log_params(&call),
        tale_sandbox_flow::LogParams::full(tale_sandbox_flow::Container::Harvest)
    );
    h.ok_log(id, "[harvest] waiting\n");
    // The stream of the killed runner is still open: wait for it to end (bounded).
    assert!(h.exec.response().is_none());
    h.end(stream, StreamEnd::Eof);
    let s = summary(h.response());
    assert_eq!(
        (s.status, s.exit_code, s.error_code),
        (ExecutionStatus::Failed, Some(137), Some(ErrorCode::Oom))
    );
    assert_eq!(h.exec.report().loop_outcome, Some(LoopOutcome::RunnerDead));
    // No harvest result read on this path.
    h.finish_cleanup(true, true);
}

#[test]
fn runner_dead_with_started_line_means_the_harvest_is_progressing() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.pod(runner_oom());
    h.advance(10_001);
    let (id, _) = h.expect("ReadLog harvest");
    h.ok_log(id, &format!("{}\n", started_line(137)));
    // Never checked again.
    h.pod(runner_oom());
    h.advance(60_000);
    h.no_call();
    let _ = stream;
    h.end(h.last_stream(), StreamEnd::Eof);
    h.pod(pod(
        "Failed",
        Some(C::Exited(0, None)),
        Some(C::Exited(137, Some("OOMKilled"))),
        Some(C::Exited(0, None)),
    ));
    let (id, _) = h.expect("ReadLog harvest");
    h.ok_log(id, &format!("{}\n{}\n", started_line(137), result_line(137)));
    let s = summary(h.response());
    assert_eq!(s.exit_code, Some(137));
    assert_eq!(h.exec.report().loop_outcome, Some(LoopOutcome::HarvestDone));
    h.finish_cleanup(true, true);
}

#[test]
fn w12_a_failed_progress_check_is_not_a_dead_runner() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.pod(runner_oom());
    h.advance(10_001);
    for attempt in 1..=3 {
        let (id, _) = h.expect("ReadLog harvest");
        h.err(id, Some(503), "Service Unavailable");
        if attempt < 3 {
            h.advance(200 * attempt);
        }
    }
    assert!(h.exec.response().is_none(), "not declared dead on a read failure");
    assert_eq!(
        h.warnings(),
        vec![
            "[sandbox.k8s] read-log attempt 1/3 failed: Service Unavailable".to_string(),
            "[sandbox.k8s] read-log attempt 2/3 failed: Service Unavailable".to_string(),
            "[sandbox.k8s] read-log attempt 3/3 failed: Service Unavailable".to_string(),
            "[sandbox.k8s] harvest progress check failed: Service Unavailable".to_string(),
        ]
    );
    h.advance(499);
    h.no_call();
    h.advance(1);
    let (id, _) = h.expect("ReadLog harvest");
    h.ok_log(id, "");
    h.end(stream, StreamEnd::Eof);
    let s = summary(h.response());
    assert_eq!((s.exit_code, s.error_code), (Some(137), Some(ErrorCode::Oom)));
    h.finish_cleanup(true, true);
}

#[test]
fn a_zero_runner_exit_is_not_a_death() {
    let mut h = Harness::start();
    h.run_to_running();
    h.pod(pod("Running", Some(C::Exited(0, None)), Some(C::Exited(0, None)), Some(C::Running)));
    h.advance(30_000);
    h.no_call();
    assert!(h.exec.response().is_none());
}

#[test]
fn backstop_with_a_wedged_harvest() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &ts(20, 0, "still going"));
    // timeoutMs (30 s default) + HARVEST_BACKSTOP_MS (120 s). The quiet stream is checked
    // every 30 s: the log ends where it does, so it is kept.
    for _ in 0..4 {
        h.advance(30_000);
        h.tail_check(&ts(20, 0, "still going"));
    }
    h.advance(29_999);
    assert!(h.exec.response().is_none());
    h.no_call();
    h.advance(1);
    assert!(!h.watching);
    let (id, call) = h.expect("ReadLog harvest");
    h.ok_log(id, "");
    // The stream of a running runner does not end: after the bounded wait, a tail check, and
    // as the log has more, a final resume read.
    h.advance(2_000);
    assert_eq!(h.exec.report().stdout_stalls, 0);
    assert_eq!(h.closed, vec![stream]);
    h.tail_check(&format!("{}{}", ts(20, 0, "still going"), ts(21, 0, "more")));
    let (fid, fcall) = h.expect("ReadLog runner");
    let params = log_params(&fcall);
    assert!(params.timestamps);
    assert_eq!(params.since_time.as_deref(), Some("2023-11-14T22:13:20Z"));
    let _ = call;
    h.ok_log(fid, &format!("{}{}", ts(20, 0, "still going"), ts(21, 0, "more")));
    h.tail_check(&format!("{}{}", ts(20, 0, "still going"), ts(21, 0, "more")));
    let s = summary(h.response());
    assert_eq!(
        s,
        Summary {
            status: ExecutionStatus::Failed,
            exit_code: Some(124),
            error_code: Some(ErrorCode::Timeout),
            error_message: Some(
                "Wall-clock timeout exceeded (harvest container never reported)".into()
            ),
            stdout: "still going\nmore\n".into(),
            truncated_stdout: false,
        }
    );
    assert_eq!(
        h.warnings(),
        vec![format!(
            "[sandbox.k8s] no result line in harvest logs for {EXEC_ID} (loop outcome: backstop)"
        )]
    );
    h.finish_cleanup(true, true);
}

#[test]
fn harvest_done_is_answered_the_moment_it_is_observed() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.advance(3_210);
    h.chunk(stream, &ts(20, 0, "x"));
    h.pod(succeeded());
    h.harvest_result();
    // The exited runner's stream ends by itself once drained.
    h.end(stream, StreamEnd::Eof);
    h.confirm_end();
    assert_eq!(h.response().duration_ms, 3_210);
    assert_eq!(h.exec.report().harvest_done_at_ms, Some(NOW + 3_210));
    // No pod GETs while the watch is healthy.
    assert_eq!(h.exec.report().pod_reads, 0);
    assert!(
        h.log.iter().all(|a| !matches!(
            a,
            Action::Call { call: tale_sandbox_flow::Call::ReadPod { .. }, .. }
        ))
    );
    h.finish_cleanup(true, true);
}

#[test]
fn pod_gone_mid_run_reads_once_and_reports_the_loss() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &ts(20, 0, "before"));
    h.pod_gone();
    let (hid, _) = h.expect("ReadLog harvest");
    h.err(hid, Some(404), "pods not found");
    // The stream of a deleted pod is cut; the final read fails with 404 as well.
    h.end(stream, StreamEnd::Error(tale_sandbox_flow::ApiError::status(404, "pods not found")));
    let (tid, _) = h.take_tail_check();
    h.err(tid, Some(404), "pods not found");
    let (fid, _) = h.expect("ReadLog runner");
    h.err(fid, Some(404), "pods not found");
    let s = summary(h.response());
    assert_eq!(
        s,
        Summary {
            status: ExecutionStatus::Failed,
            exit_code: None,
            error_code: Some(ErrorCode::HarvestReadFailed),
            error_message: Some("Couldn't read /user/output (no harvest result line)".into()),
            stdout: "before\n".into(),
            truncated_stdout: true,
        }
    );
    assert_eq!(
        h.warnings(),
        vec![
            format!(
                "[sandbox.k8s] no result line in harvest logs for {EXEC_ID} (loop outcome: podGone)"
            ),
            "[sandbox.k8s] final runner log read failed: pods not found".to_string(),
        ]
    );
    h.finish_cleanup(true, true);
}
