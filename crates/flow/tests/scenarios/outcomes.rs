//! Every row of the outcome table (spec §1.3) through the flow.

use tale_sandbox_contract::protocol::format_result_line;
use tale_sandbox_contract::wire::{ErrorCode, ExecutionStatus, HarvestResult};
use tale_sandbox_flow::StreamEnd;

use crate::support::*;

/// Runs to `harvestDone` with `hello\n` on stdout and the given harvest log.
fn finish_with_harvest_log(harvest_log: &str) -> Harness {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &ts(20, 0, "hello"));
    h.pod(succeeded());
    h.end(stream, StreamEnd::Eof);
    h.confirm_end();
    let (id, _) = h.expect("ReadLog harvest");
    h.ok_log(id, harvest_log);
    h
}

fn harvest(f: impl FnOnce(&mut HarvestResult)) -> String {
    let mut h =
        HarvestResult { stage_ms: 10.0, harvest_ms: 10.0, upload_ms: 5.0, ..Default::default() };
    f(&mut h);
    format_result_line(&h)
}

#[test]
fn success() {
    let mut h = finish_with_harvest_log(&result_line(0));
    assert_eq!(summary(h.response()), completed("hello\n", false));
    let r = h.response();
    assert_eq!(r.duration_ms, 0);
    assert!(r.upload_stats.is_some() && r.timing.is_some());
    h.finish_cleanup(true, true);
}

#[test]
fn success_with_a_harvest_hiccup() {
    let mut h = finish_with_harvest_log(&harvest(|h| h.upload_failed = true));
    let s = summary(h.response());
    assert_eq!(
        (s.status, s.exit_code, s.error_code),
        (ExecutionStatus::Failed, Some(0), Some(ErrorCode::UploadFailed))
    );
    assert_eq!(s.stdout, "hello\n");
    h.finish_cleanup(true, true);
}

#[test]
fn user_code_non_zero_exit() {
    let mut h = finish_with_harvest_log(&harvest(|h| {
        h.exit_code = 3;
        h.stderr = "boom".into();
    }));
    let s = summary(h.response());
    assert_eq!(
        (s.status, s.exit_code, s.error_code),
        (ExecutionStatus::Failed, Some(3), Some(ErrorCode::RuntimeError))
    );
    h.finish_cleanup(true, true);
}

#[test]
fn user_timeout() {
    let mut h = finish_with_harvest_log(&harvest(|h| h.exit_code = 124));
    let s = summary(h.response());
    assert_eq!(
        (s.status, s.exit_code, s.error_code),
        (ExecutionStatus::Failed, Some(124), Some(ErrorCode::Timeout))
    );
    h.finish_cleanup(true, true);
}

#[test]
fn harvest_result_lost_without_started_line() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.pod(succeeded());
    h.end(stream, StreamEnd::Eof);
    // Re-reads every 400 ms for the 5 s window: reads at 0, 400, …, 4800, and 5200.
    let mut reads = 0;
    while h.exec.response().is_none() {
        let (id, _) = h.expect("ReadLog harvest");
        reads += 1;
        h.ok_log(id, "noise\n");
        h.advance(400);
    }
    assert_eq!(reads, 14);
    let s = summary(h.response());
    assert_eq!(
        s,
        Summary {
            status: ExecutionStatus::Failed,
            exit_code: None,
            error_code: Some(ErrorCode::HarvestReadFailed),
            error_message: Some("Couldn't read /user/output (no harvest result line)".into()),
            stdout: String::new(),
            truncated_stdout: false,
        }
    );
    assert_eq!(
        h.warnings(),
        vec![format!(
            "[sandbox.k8s] no result line in harvest logs for {EXEC_ID} (loop outcome: harvestDone)"
        )]
    );
    h.finish_cleanup(true, true);
}

#[test]
fn harvest_result_lost_recovers_the_started_exit_code() {
    for (code, expected) in [(0, ErrorCode::HarvestReadFailed), (3, ErrorCode::RuntimeError)] {
        let mut h = Harness::start();
        let stream = h.run_to_running();
        h.pod(succeeded());
        h.end(stream, StreamEnd::Eof);
        let (id, _) = h.expect("ReadLog harvest");
        h.ok_log(id, &format!("{}\n", started_line(code)));
        // The 404 of a pod deleted meanwhile ends the window at once.
        h.advance(400);
        let (id, _) = h.expect("ReadLog harvest");
        h.err(id, Some(404), "pods not found");
        let s = summary(h.response());
        assert_eq!(
            (s.status, s.exit_code, s.error_code),
            (ExecutionStatus::Failed, Some(code), Some(expected))
        );
        h.finish_cleanup(true, true);
    }
}

#[test]
fn result_found_on_a_later_read_of_the_window() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.pod(succeeded());
    h.end(stream, StreamEnd::Eof);
    let (id, _) = h.expect("ReadLog harvest");
    h.ok_log(id, "");
    h.advance(399);
    h.no_call();
    h.advance(1);
    let (id, _) = h.expect("ReadLog harvest");
    h.err(id, Some(400), "container not ready");
    assert_eq!(
        h.warnings(),
        vec!["[sandbox.k8s] failed to read harvest logs: container not ready".to_string()]
    );
    h.advance(400);
    let (id, _) = h.expect("ReadLog harvest");
    h.ok_log(id, &format!("{}\n{}\n", started_line(0), result_line(0)));
    assert_eq!(summary(h.response()), completed("", false));
    assert_eq!(h.response().duration_ms, 800);
    h.finish_cleanup(true, true);
}

#[test]
fn runner_killed_oom_and_abnormal() {
    for (term, expected) in [
        (
            C::Exited(137, Some("OOMKilled")),
            (Some(137), ErrorCode::Oom, "Runner container OOM-killed (memory limit exceeded)"),
        ),
        (
            C::Exited(2, Some("Error")),
            (Some(2), ErrorCode::RuntimeError, "Runner container terminated abnormally (Error)"),
        ),
    ] {
        let mut h = Harness::start();
        let stream = h.run_to_running();
        h.chunk(stream, &ts(20, 0, "partial"));
        h.pod(pod("Running", Some(C::Exited(0, None)), Some(term), Some(C::Running)));
        h.end(stream, StreamEnd::Eof);
        h.confirm_end(); // the killed runner's log is drained
        h.advance(10_001);
        let (id, _) = h.expect("ReadLog harvest");
        h.ok_log(id, "");
        let s = summary(h.response());
        assert_eq!(
            s,
            Summary {
                status: ExecutionStatus::Failed,
                exit_code: expected.0,
                error_code: Some(expected.1),
                error_message: Some(expected.2.into()),
                stdout: "partial\n".into(),
                truncated_stdout: false,
            }
        );
        h.finish_cleanup(true, true);
    }
}

#[test]
fn infra_failure_before_the_pod_deletes_only_what_is_owned() {
    // Secret create fails: nothing owned, nothing deleted.
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(500), "etcd timeout");
    assert_eq!(summary(h.response()), spawner_unavailable("spawner internal error: etcd timeout"));
    h.finish_cleanup(false, false);

    // Pod create fails: the Secret is deleted.
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.ok(id);
    let (id, _) = h.expect("CreatePod");
    h.err(id, None, "socket hang up");
    assert_eq!(
        summary(h.response()),
        spawner_unavailable("spawner internal error: socket hang up")
    );
    h.finish_cleanup(false, true);
}

#[test]
fn an_unsupported_language_answers_at_once() {
    let mut req = request();
    req.language = tale_sandbox_contract::wire::Language::Bash;
    let mut h = Harness::new(&cfg(), req);
    let mut expected = spawner_unavailable("invalid language");
    expected.error_message = Some("invalid language".into());
    assert_eq!(summary(h.response()), expected);
    assert_eq!(h.response().duration_ms, 0);
    h.finish_cleanup(false, false);
}

#[test]
fn the_clamped_timeout_drives_the_backstop() {
    // (requested, clamped, first instant past the deadline after the backstop): a fractional
    // JS timeout is reached at its ceiling, as `Date.now() < deadline` is with integer clocks.
    for (requested, clamped, reached) in [
        (Some(1.0), 1_000.0, 1_000),
        (Some(10_000_000.0), 300_000.0, 300_000),
        (Some(1_500.5), 1_500.5, 1_501),
        (None, 30_000.0, 30_000),
    ] {
        let mut req = request();
        req.timeout_ms = requested;
        let mut h = Harness::new(&cfg(), req);
        assert_eq!(h.exec.timeout_ms(), clamped);
        let stream = h.run_to_running();
        h.end(stream, StreamEnd::Eof); // an early end: reconnects
        let backstop = reached + 120_000;
        h.advance(backstop - 1);
        assert_eq!(h.exec.report().loop_outcome, None, "{requested:?}");
        h.advance(1);
        assert_eq!(h.exec.report().loop_outcome, Some(tale_sandbox_flow::LoopOutcome::Backstop));
    }
}

#[test]
fn steps_mode_without_a_result_synthesizes_skipped_steps() {
    let mut req = request();
    req.entry_path = None;
    req.steps = Some(vec!["a.py".into(), "b.py".into()]);
    let mut h = Harness::new(&cfg(), req);
    let stream = h.run_to_running();
    h.pod(succeeded());
    h.end(stream, StreamEnd::Eof);
    let (id, _) = h.expect("ReadLog harvest");
    h.err(id, Some(404), "gone");
    let steps = h.response().steps.clone().expect("synthesized steps");
    assert_eq!(steps.len(), 2);
    assert!(steps.iter().all(|s| s.exit_code.is_none() && s.duration_ms == 0.0));
    assert_eq!(steps[0].path, "a.py");
}
