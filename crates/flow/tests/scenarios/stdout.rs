//! The runner's stdout: follow stream, cut and reconnect with `sinceTime`, backoff, the
//! polling fallback, watch failure → Pod polls, and the order of phases and deltas.

use tale_sandbox_contract::wire::Phase;
use tale_sandbox_flow::{Action, ApiError, ExecuteOptions, StreamEnd};

use crate::support::*;

#[test]
fn a_cut_stream_resumes_from_the_last_second_without_duplicates() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &format!("{}{}", ts(20, 1, "a"), "2023-11-14T22:13:20.000000002Z b"));
    h.end(stream, StreamEnd::Cut);
    assert_eq!(
        h.warnings(),
        vec!["[sandbox.k8s] runner log stream failed (will reconnect): connection cut".to_string()]
    );
    assert_eq!(h.opened[1].1.as_deref(), Some("2023-11-14T22:13:20Z"));
    let stream = h.last_stream();
    // The resumed read re-serves the whole second, then continues.
    h.chunk(stream, &format!("{}{}{}", ts(20, 1, "a"), ts(20, 2, "b"), ts(21, 0, "c")));
    h.pod(succeeded());
    h.end(stream, StreamEnd::Eof);
    h.tail_check(&format!("{}{}{}", ts(20, 1, "a"), ts(20, 2, "b"), ts(21, 0, "c")));
    h.harvest_result();
    assert_eq!(summary(h.response()), completed("a\nb\nc\n", false));
    assert_eq!(h.deltas(), "a\nb\nc\n");
    let report = h.exec.report();
    assert_eq!((report.stdout_streams, report.stdout_reconnects, report.gaps), (2, 1, 0));
    h.finish_cleanup(true, true);
}

#[test]
fn failing_streams_back_off_then_fall_back_to_polling() {
    let mut h = Harness::start();
    let first = h.run_to_running();
    h.end(first, StreamEnd::Error(ApiError::transport("connect ECONNREFUSED")));
    // Backoff 200, 400, 800, 1600 ms while reconnects bring nothing.
    for (i, delay) in [200, 400, 800, 1_600].into_iter().enumerate() {
        assert_eq!(h.opened.len(), i + 1);
        h.advance(delay - 1);
        assert_eq!(h.opened.len(), i + 1, "not before {delay} ms");
        h.advance(1);
        assert_eq!(h.opened.len(), i + 2);
        let stream = h.last_stream();
        h.end(stream, StreamEnd::Error(ApiError::transport("connect ECONNREFUSED")));
    }
    // Fifth failure: polling with timestamped reads.
    let (id, call) = h.expect("ReadLog runner");
    let params = log_params(&call);
    assert!(params.timestamps && params.since_time.is_none());
    h.ok_log(id, &ts(20, 0, "one"));
    h.advance(500);
    h.read_from("2023-11-14T22:13:20Z", &format!("{}{}", ts(20, 0, "one"), ts(22, 0, "two")));
    assert_eq!(
        h.warnings(),
        vec![
            "[sandbox.k8s] runner log stream failed (will reconnect): connect ECONNREFUSED"
                .to_string(),
            "[sandbox.k8s] runner log stream failed 5 times in a row; polling the log instead"
                .to_string(),
        ]
    );
    h.pod(succeeded());
    // No stream to wait for: a tail check at once. The log's last lines are not the last
    // ones taken, so a final resume read collects the rest.
    let file = format!("{}{}{}", ts(20, 0, "one"), ts(22, 0, "two"), ts(23, 0, "three"));
    h.tail_check(&file);
    let (hid, _) = h.expect("ReadLog harvest");
    h.ok_log(hid, &result_line(0));
    h.read_from("2023-11-14T22:13:22Z", &format!("{}{}", ts(22, 0, "two"), ts(23, 0, "three")));
    h.tail_check(&format!("{}{}{}", ts(20, 0, "one"), ts(22, 0, "two"), ts(23, 0, "three")));
    assert_eq!(summary(h.response()), completed("one\ntwo\nthree\n", false));
    let report = h.exec.report();
    assert_eq!((report.stdout_streams, report.stdout_reconnects, report.stdout_polls), (5, 4, 3));
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (2, 1));
    assert_eq!(report.log_reads, 6, "two polls, two tail checks, the final read, the harvest read");
    // Polls: one; one two. Tail checks: one two three, twice. Final read: two three.
    let runner_bytes = (ts(20, 0, "one").len() * 4
        + ts(22, 0, "two").len() * 4
        + ts(23, 0, "three").len() * 3) as u64;
    assert_eq!(report.log_bytes.runner, runner_bytes);
    assert_eq!(report.log_bytes.harvest, result_line(0).len() as u64);
    assert_eq!(report.stdout_total_bytes, "one\ntwo\nthree\n".len() as u64);
    h.finish_cleanup(true, true);
}

#[test]
fn an_early_end_with_more_in_the_log_reconnects_at_once() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    let out = ts(20, 0, "x");
    h.chunk(stream, &out);
    // A server-side timeout can end a follow stream normally while the runner still runs and
    // prints: the log's tail shows lines the stream did not bring, so it is reopened at once
    // from the last second taken.
    h.end(stream, StreamEnd::Eof);
    assert_eq!(h.opened.len(), 1, "not before the tail check answers");
    h.tail_check(&format!("{out}{}", ts(21, 0, "y")));
    assert_eq!(h.opened.len(), 2);
    assert_eq!(h.opened[1].1.as_deref(), Some("2023-11-14T22:13:20Z"));
    h.no_call();
    assert!(h.warnings().is_empty());
    let report = h.exec.report();
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (1, 0));
}

#[test]
fn an_early_end_of_a_quiet_runner_is_checked_every_second_then_reconnected() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    let out = ts(20, 0, "x");
    h.chunk(stream, &out);
    h.end(stream, StreamEnd::Eof);
    // Nothing follows what the stream brought: the runner has stopped (its status is late) or
    // is quiet. The tail is looked at again every second, for up to ten seconds, instead of
    // re-reading the last second at once.
    for check in 1..=10 {
        h.tail_check(&out);
        assert_eq!(h.opened.len(), 1, "check {check}: no reconnect while the tail confirms");
        h.advance(999);
        h.no_call();
        h.advance(1);
    }
    // Ten seconds after the end, the eleventh check confirms too, and the wait is over.
    h.tail_check(&out);
    assert_eq!(h.opened.len(), 2);
    assert_eq!(h.opened[1].1.as_deref(), Some("2023-11-14T22:13:20Z"));
    let report = h.exec.report();
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (11, 11));
    assert!(h.warnings().is_empty());
}

#[test]
fn an_early_end_before_any_line_waits_a_moment_then_reconnects() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    // Nothing taken yet to compare the log's tail with: the status gets a second to show an
    // exit, then the stream is reopened from the head.
    h.end(stream, StreamEnd::Eof);
    h.advance(999);
    h.no_call();
    assert_eq!(h.opened.len(), 1);
    h.advance(1);
    assert_eq!(h.opened.len(), 2);
    assert_eq!(h.opened[1].1, None);
    assert_eq!(h.exec.report().stdout_tail_checks, 0);
}

/// The usual end: the exited runner's stream ends a moment before the status shows the exit.
/// Tail checks prove stdout complete, instead of a reconnect re-reading the last second; the
/// proof comes from a check issued after the exit was seen.
#[test]
fn a_stream_that_ended_as_the_runner_exited_is_proven_complete_by_a_tail_check() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    let out = format!("{}{}{}", ts(20, 0, "a"), ts(21, 0, "b"), ts(21, 5, "c"));
    h.chunk(stream, &out);
    h.end(stream, StreamEnd::Eof);
    let (settle, lines) = h.take_tail_check();
    assert_eq!(lines, 3, "the last group (one line) and two records before it");
    h.ok_log(settle, &out);
    // The status is late by more than a second: one more look at the tail meanwhile.
    h.advance(1_000);
    h.tail_check(&out);
    h.advance(500);
    h.pod(succeeded());
    h.tail_check(&out);
    h.harvest_result();
    assert_eq!(summary(h.response()), completed("a\nb\nc\n", false));
    assert_eq!(h.opened.len(), 1, "no reconnect");
    let report = h.exec.report();
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (3, 3));
    assert_eq!(report.log_bytes.runner, 4 * out.len() as u64);
    h.finish_cleanup(true, true);

    // The exit shows up while a check is in flight: that check may have been served before
    // the runner's last writes, so another one, issued after the exit was seen, decides.
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &out);
    h.end(stream, StreamEnd::Eof);
    let (settle, _) = h.take_tail_check();
    h.pod(succeeded());
    h.ok_log(settle, &out);
    // The runner printed one more line before exiting: the end check sees it.
    let more = format!("{out}{}", ts(22, 0, "d"));
    h.tail_check(&more);
    h.harvest_result();
    assert!(h.exec.response().is_none(), "stdout is not final yet");
    // The loop is over (the harvest has ended too): a final read from the last second taken.
    h.read_from(
        "2023-11-14T22:13:21Z",
        &format!("{}{}{}", ts(21, 0, "b"), ts(21, 5, "c"), ts(22, 0, "d")),
    );
    // A response can be ended midway too: the tail proves this one brought the end.
    assert!(h.exec.response().is_none(), "the final read is checked");
    h.tail_check(&more);
    assert_eq!(summary(h.response()), completed("a\nb\nc\nd\n", false));
    let report = h.exec.report();
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (3, 2));
    h.finish_cleanup(true, true);
}

#[test]
fn the_drain_wait_is_bounded_and_a_failed_final_read_truncates_w7() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &ts(20, 0, "x"));
    h.pod(succeeded());
    h.harvest_result();
    h.advance(1_999);
    assert!(h.exec.response().is_none());
    h.advance(1);
    assert_eq!(h.closed, vec![stream]);
    // A failed tail check proves nothing (and is not retried): the final read follows.
    let (id, _) = h.take_tail_check();
    h.err(id, Some(500), "kubelet unreachable");
    for attempt in 1..=3 {
        let (id, _) = h.expect("ReadLog runner");
        h.err(id, Some(500), "kubelet unreachable");
        h.advance(200 * attempt);
    }
    assert_eq!(summary(h.response()), completed("x\n", true));
    assert_eq!(
        h.warnings().last().unwrap(),
        "[sandbox.k8s] final runner log read failed: kubelet unreachable"
    );
    h.finish_cleanup(true, true);
}

#[test]
fn watch_failure_falls_back_to_pod_polling() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.watch_failed();
    assert!(h.exec.report().watch_failed);
    let (id, _) = h.expect("ReadPod");
    h.ok_pod(id, running());
    h.advance(499);
    h.no_call();
    h.advance(1);
    let (id, _) = h.expect("ReadPod");
    // A transient failure: retried by read-pod, then warned, and polling goes on.
    h.err(id, Some(500), "etcd");
    h.advance(200);
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(500), "etcd");
    h.advance(400);
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(500), "etcd");
    assert_eq!(
        h.warnings().last().unwrap(),
        "[sandbox.k8s] pod read failed mid-run (will keep polling): etcd"
    );
    // Watch events are ignored from now on.
    h.pod(succeeded());
    h.no_call();
    h.advance(500);
    let (id, _) = h.expect("ReadPod");
    h.ok_pod(id, succeeded());
    h.end(stream, StreamEnd::Eof);
    h.harvest_result();
    assert_eq!(summary(h.response()), completed("", false));
    h.finish_cleanup(true, true);
}

#[test]
fn watch_failure_during_startup_polls_and_a_404_is_pod_gone() {
    let mut h = Harness::start();
    h.create_all();
    h.watch_failed();
    let (id, _) = h.expect("ReadPod");
    h.ok_pod(id, pod("Pending", None, None, None));
    h.advance(500);
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(404), "not found");
    assert_eq!(summary(h.response()), spawner_unavailable("pod deleted during startup"));
    h.finish_cleanup(true, true);
}

#[test]
fn phases_and_deltas_in_stream_order_before_the_response() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &format!("{}{}", ts(20, 0, "PHASE: installing"), ts(20, 1, "pip output")));
    h.chunk(
        stream,
        &format!("{}{}", ts(21, 0, "PHASE: running"), "2023-11-14T22:13:22.000000000Z hel"),
    );
    h.chunk(stream, "lo");
    h.pod(succeeded());
    h.end(stream, StreamEnd::Eof);
    h.confirm_end();
    h.harvest_result();
    let order: Vec<String> = h
        .log
        .iter()
        .filter_map(|a| match a {
            Action::Phase(p) => Some(format!("phase {p:?}")),
            Action::StdoutDelta(d) => Some(format!("delta {d:?}")),
            Action::Respond(_) => Some("respond".into()),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        vec![
            "phase Installing".to_string(),
            "delta \"pip output\\n\"".to_string(),
            "phase Running".to_string(),
            "delta \"hello\"".to_string(),
            "respond".to_string(),
        ]
    );
    assert_eq!(h.phases(), vec![Phase::Installing, Phase::Running]);
    // The response strips the markers.
    assert_eq!(summary(h.response()), completed("pip output\nhello", false));
}

#[test]
fn callbacks_not_wanted_emit_nothing() {
    let mut opts = ExecuteOptions::new(NOW);
    opts.emit_phases = false;
    opts.emit_stdout_deltas = false;
    let mut h = Harness::with_options(&cfg(), request(), opts);
    let stream = h.run_to_running();
    h.chunk(stream, &format!("{}{}", ts(20, 0, "PHASE: running"), ts(20, 1, "x")));
    assert!(h.phases().is_empty());
    assert_eq!(h.deltas(), "");
}

#[test]
fn a_stream_silent_for_the_stall_period_is_reopened() {
    let mut h = Harness::start();
    let first = h.run_to_running();
    h.advance(20_000);
    h.chunk(first, &ts(20, 0, "tick"));
    // Progress at 20 s moves the check to 50 s.
    h.advance(29_999);
    assert_eq!(h.opened.len(), 1);
    h.no_call();
    h.advance(1);
    // A tail check first: the log has more than the stream brought, so it stalled.
    h.tail_check(&format!("{}{}", ts(20, 0, "tick"), ts(50, 0, "after rotation")));
    assert_eq!(h.closed, vec![first]);
    assert_eq!(h.opened.len(), 2);
    assert_eq!(h.opened[1].1.as_deref(), Some("2023-11-14T22:13:20Z"));
    // A kubelet that stopped after a rotation: the reopened read shows the new file.
    let second = h.last_stream();
    h.chunk(second, &ts(50, 0, "after rotation"));
    h.pod(succeeded());
    h.end(second, StreamEnd::Eof);
    h.tail_check(&ts(50, 0, "after rotation"));
    h.harvest_result();
    assert_eq!(summary(h.response()), completed("tick\nafter rotation\n", true));
    let report = h.exec.report();
    assert_eq!((report.stdout_stalls, report.stdout_reconnects, report.gaps), (1, 1, 1));
    assert!(h.warnings().is_empty());
}

#[test]
fn a_quiet_program_keeps_its_stream_when_the_tail_check_confirms() {
    let mut h = Harness::start();
    let first = h.run_to_running();
    h.chunk(first, &ts(20, 0, "tick"));
    for _ in 0..3 {
        h.advance(30_000);
        h.tail_check(&ts(20, 0, "tick"));
        assert!(h.closed.is_empty());
        assert_eq!(h.opened.len(), 1);
    }
    // The stream moved on while a check was in flight: the check compares with what was
    // taken by the time it answers.
    h.advance(30_000);
    let (id, _) = h.take_tail_check();
    h.chunk(first, &ts(21, 0, "tock"));
    h.ok_log(id, &ts(21, 0, "tock"));
    assert!(h.closed.is_empty());
    let report = h.exec.report();
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (4, 4));
    assert_eq!(report.stdout_stalls, 0);
}

#[test]
fn the_stall_check_can_be_disabled() {
    let mut opts = ExecuteOptions::new(NOW);
    opts.tuning.stdout_stall_ms = 0;
    let mut h = Harness::with_options(&cfg(), request(), opts);
    h.run_to_running();
    h.advance(140_000);
    assert_eq!(h.opened.len(), 1);
}

/// Bytes the accumulator accepts only when a read is abandoned (a held first line of a
/// resumed read) reach the live tail too: the deltas are exactly the canonical stdout, also
/// when the stream is dropped by an abort, a stall reopen or the drain deadline.
#[test]
fn bytes_accepted_when_a_stream_is_dropped_reach_the_live_tail() {
    for partial in [
        "2023-11-14T22:13:20.000000001Z a",
        "2023-11-14T22:13:20.000000001Z ab",
        "2023-11-14T22:13:20.000000001Z a\n2023-11-14T22:13:20.000000002Z b",
        "2023-11-14T22:13:21.000000000Z new",
    ] {
        let mut h = Harness::start();
        let stream = h.run_to_running();
        h.chunk(stream, &ts(20, 1, "a"));
        h.end(stream, StreamEnd::Cut);
        let stream = h.last_stream();
        h.chunk(stream, partial);
        h.abort();
        let stdout = String::from_utf8(
            base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &h.response().stdout_base64,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(h.deltas(), stdout, "{partial:?}");

        // The same when the drain deadline drops the stream of a finished run.
        let mut h = Harness::start();
        let stream = h.run_to_running();
        h.chunk(stream, &ts(20, 1, "a"));
        h.end(stream, StreamEnd::Cut);
        let stream = h.last_stream();
        h.chunk(stream, partial);
        h.pod(succeeded());
        h.harvest_result();
        h.advance(60_000);
        let (id, _) = h.take_tail_check();
        h.err(id, Some(404), "gone");
        let (id, _) = h.expect("ReadLog runner");
        h.err(id, Some(404), "gone");
        let stdout = String::from_utf8(
            base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                &h.response().stdout_base64,
            )
            .unwrap(),
        )
        .unwrap();
        assert!(stdout.starts_with("a\n"), "{stdout:?}");
        assert_eq!(h.deltas(), stdout, "{partial:?}");
    }
}

/// A stream that ends while a quiet-stream check is in flight still reconnects when the log has
/// more (the check in flight answers for a stream that is gone).
#[test]
fn a_stream_ending_during_a_stall_check_still_reconnects() {
    let mut h = Harness::start();
    let first = h.run_to_running();
    h.chunk(first, &ts(20, 0, "tick"));
    h.advance(30_000);
    let (stall, _) = h.take_tail_check();
    // The stream ends while the stall check is in flight: that check was asked about an open
    // stream, so a check about the end follows it, and decides.
    h.end(first, StreamEnd::Eof);
    h.ok_log(stall, &ts(20, 0, "tick"));
    assert_eq!(h.opened.len(), 1);
    h.tail_check(&format!("{}{}", ts(20, 0, "tick"), ts(50, 0, "tock")));
    assert_eq!(h.opened.len(), 2, "the log has more: reconnected");
    assert!(h.closed.is_empty());
}

/// A resumed read that brings nothing means the file holding the lines taken last was rotated
/// away (a read of it re-serves at least their group), and what it held after them may be lost:
/// `truncated.stdout`, never a silently short stdout.
#[test]
fn a_resumed_read_that_brings_nothing_at_the_end_truncates() {
    let out = format!("{}{}", ts(20, 0, "a"), ts(21, 0, "b"));

    // A stream reopened after a cut ends with nothing once the run is over.
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &out);
    h.end(stream, StreamEnd::Cut);
    assert_eq!(h.opened.len(), 2);
    assert_eq!(h.opened[1].1.as_deref(), Some("2023-11-14T22:13:21Z"));
    let reopened = h.opened[1].0;
    h.pod(succeeded());
    h.harvest_result();
    h.end(reopened, StreamEnd::Eof);
    assert_eq!(summary(h.response()), completed("a\nb\n", true));
    h.finish_cleanup(true, true);

    // No stream at the end: the tail check finds an empty file.
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &out);
    h.pod(succeeded());
    h.harvest_result();
    h.advance(2_000);
    assert_eq!(h.closed, vec![stream]);
    h.tail_check("");
    assert_eq!(summary(h.response()), completed("a\nb\n", true));
    h.finish_cleanup(true, true);

    // The same reads on a run that took nothing: nothing can have been lost.
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.end(stream, StreamEnd::Cut);
    h.advance(200);
    let reopened = h.opened[1].0;
    assert_eq!(h.opened[1].1, None);
    h.pod(succeeded());
    h.harvest_result();
    h.end(reopened, StreamEnd::Eof);
    assert_eq!(summary(h.response()), completed("", false));
    h.finish_cleanup(true, true);
}

/// A server can end a follow stream cleanly midway (a proxy's timeout, an API server going
/// away), also after the runner's exit has shown: that end is checked against the log's tail
/// before it is taken as the log's end (the soak test found stdout cut short there).
#[test]
fn a_stream_ended_cleanly_midway_after_the_exit_is_read_on() {
    let mut h = Harness::start();
    let stream = h.run_to_running();
    let taken = format!("{}{}", ts(20, 0, "a"), ts(21, 0, "b"));
    let file = format!("{taken}{}", ts(21, 5, "c"));
    h.pod(succeeded());
    h.harvest_result();
    h.chunk(stream, &taken);
    h.end(stream, StreamEnd::Eof);
    assert!(h.exec.response().is_none(), "the end is not taken on trust");
    // The tail shows a line the stream did not bring: a final read from the last second.
    h.tail_check(&file);
    h.read_from("2023-11-14T22:13:21Z", &format!("{}{}", ts(21, 0, "b"), ts(21, 5, "c")));
    h.tail_check(&file);
    assert_eq!(summary(h.response()), completed("a\nb\nc\n", false));
    let report = h.exec.report();
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (2, 1));
    h.finish_cleanup(true, true);
}

/// A log found empty after lines were taken means their file was rotated away. Nothing was lost
/// if the stream that brought them ended as the kubelet ends one, cleanly at the end of a line
/// (it ends a stream once the container has exited and its file is drained, and rotates only
/// running containers' logs); after a clean end in the middle of a line (a server's timeout) the
/// file may have held more, and the run says so.
#[test]
fn a_log_found_empty_after_the_lines_taken() {
    let out = format!("{}{}", ts(20, 0, "a"), ts(21, 0, "b"));

    // The stream ends before the exit shows: the tail checks find the empty file and wait for
    // the exit, without reopening the stream.
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &out);
    h.end(stream, StreamEnd::Eof);
    h.tail_check("");
    h.advance(1_000);
    h.tail_check("");
    h.pod(succeeded());
    h.tail_check("");
    h.harvest_result();
    assert_eq!(summary(h.response()), completed("a\nb\n", false));
    assert_eq!(h.opened.len(), 1, "nothing to read in an empty log");
    let report = h.exec.report();
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (3, 3));
    h.finish_cleanup(true, true);

    // The stream ends after the exit showed: one check of the tail.
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &out);
    h.pod(succeeded());
    h.harvest_result();
    h.end(stream, StreamEnd::Eof);
    h.tail_check("");
    assert_eq!(summary(h.response()), completed("a\nb\n", false));
    h.finish_cleanup(true, true);

    // The stream ends cleanly in the middle of a line: not the kubelet's end.
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &format!("{out}{}", &ts(22, 0, "c")[..10]));
    h.pod(succeeded());
    h.harvest_result();
    h.end(stream, StreamEnd::Eof);
    h.tail_check("");
    assert_eq!(summary(h.response()), completed("a\nb\n", true));
    h.finish_cleanup(true, true);

    // The runner writes again after the rotation: the resumed read does not find the lines
    // taken last, and the missing piece is counted as a gap.
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &out);
    h.end(stream, StreamEnd::Eof);
    h.tail_check("");
    h.advance(1_000);
    h.tail_check(&ts(30, 0, "c"));
    let reopened = h.opened[1].0;
    assert_eq!(h.opened[1].1.as_deref(), Some("2023-11-14T22:13:21Z"));
    h.chunk(reopened, &ts(30, 0, "c"));
    h.pod(succeeded());
    h.harvest_result();
    h.end(reopened, StreamEnd::Eof);
    h.tail_check(&ts(30, 0, "c"));
    assert_eq!(summary(h.response()), completed("a\nb\nc\n", true));
    assert_eq!(h.exec.report().gaps, 1);
    h.finish_cleanup(true, true);
}

/// A one-shot read can be ended cleanly midway by a server as well: the final read is checked
/// against the log's tail, read on from where it stopped, and given up (with `truncated.stdout`)
/// when reads stop bringing anything new.
#[test]
fn a_final_read_ended_midway_is_read_on() {
    let taken = format!("{}{}", ts(20, 0, "a"), ts(21, 0, "b"));
    let file = format!("{taken}{}{}", ts(22, 0, "c"), ts(23, 0, "d"));
    let to_final_read = |h: &mut Harness| {
        let stream = h.run_to_running();
        h.chunk(stream, &taken);
        h.pod(succeeded());
        h.harvest_result();
        h.end(stream, StreamEnd::Cut);
        h.tail_check(&file);
        let (id, call) = h.expect("ReadLog runner");
        assert_eq!(log_params(&call).since_time.as_deref(), Some("2023-11-14T22:13:21Z"));
        id
    };

    let mut h = Harness::start();
    let id = to_final_read(&mut h);
    // Cut after "c": the tail shows "d" too, so the read goes on from the last second taken.
    h.ok_log(id, &format!("{}{}", ts(21, 0, "b"), ts(22, 0, "c")));
    h.tail_check(&file);
    h.read_from("2023-11-14T22:13:22Z", &format!("{}{}", ts(22, 0, "c"), ts(23, 0, "d")));
    h.tail_check(&file);
    assert_eq!(summary(h.response()), completed("a\nb\nc\nd\n", false));
    h.finish_cleanup(true, true);

    // Every read is cut at the same place: two that bring nothing new, and the flow gives up.
    let mut h = Harness::start();
    let id = to_final_read(&mut h);
    h.ok_log(id, &ts(21, 0, "b"));
    h.tail_check(&file);
    let (id, _) = h.expect("ReadLog runner");
    h.ok_log(id, &ts(21, 0, "b"));
    assert_eq!(summary(h.response()), completed("a\nb\n", true));
    assert!(
        h.warnings().iter().any(|w| w.contains("final runner log reads end before the log does"))
    );
    h.finish_cleanup(true, true);
}

/// A final read cut short before it re-served the lines taken last says nothing about the log's
/// end, also where stdout ends inside a line (the soak found stdout silently cut short there): the
/// tail is checked and the log read again, and given up with `truncated.stdout` when that read is
/// cut short as well.
#[test]
fn a_final_read_cut_before_the_lines_taken_is_read_again() {
    // The stream took the start of the line "cccc", then was cut.
    let partial = format!("{}{}", ts(20, 0, "a"), ts(21, 0, "b"));
    let partial = format!("{partial}{}", &ts(21, 5, "cccc")[..33]);
    assert!(partial.ends_with(" cc"));
    let file =
        format!("{}{}{}{}", ts(20, 0, "a"), ts(21, 0, "b"), ts(21, 5, "cccc"), ts(22, 0, "d"));
    let to_final_read = |h: &mut Harness| {
        let stream = h.run_to_running();
        h.chunk(stream, &partial);
        h.pod(succeeded());
        h.harvest_result();
        h.end(stream, StreamEnd::Cut);
        h.tail_check(&file);
        let (id, call) = h.expect("ReadLog runner");
        assert_eq!(log_params(&call).since_time.as_deref(), Some("2023-11-14T22:13:21Z"));
        // Ended cleanly after the line "b": short of the line taken last.
        h.ok_log(id, &ts(21, 0, "b"));
        assert!(h.exec.response().is_none(), "a read cut short is not the log's end");
    };

    let mut h = Harness::start();
    to_final_read(&mut h);
    h.tail_check(&file);
    h.read_from(
        "2023-11-14T22:13:21Z",
        &format!("{}{}{}", ts(21, 0, "b"), ts(21, 5, "cccc"), ts(22, 0, "d")),
    );
    h.tail_check(&file);
    assert_eq!(summary(h.response()), completed("a\nb\ncccc\nd\n", false));
    h.finish_cleanup(true, true);

    // Cut short again: nothing new from two reads (the tail, checked in between, still shows
    // more), and the run says that bytes may be missing.
    let mut h = Harness::start();
    to_final_read(&mut h);
    let (id, lines) = h.take_tail_check();
    assert_eq!(lines, 3, "a read cut before the line taken last does not widen the window");
    h.ok_log(id, &render_tail(&records_of(&file), 3));
    h.read_from("2023-11-14T22:13:21Z", &ts(21, 0, "b"));
    assert_eq!(summary(h.response()), completed("a\nb\ncc", true));
    assert!(
        h.warnings().iter().any(|w| w.contains("final runner log reads end before the log does"))
    );
    h.finish_cleanup(true, true);

    // When the tail check fails, a read that re-serves the unfinished line and brings nothing
    // more does not prove the end by itself (a server's cut can end it there): the tail is
    // checked again, looking further back, and proves it.
    let ends_in_cc = format!("{}{}{}", ts(20, 0, "a"), ts(21, 0, "b"), &ts(21, 5, "cccc")[..33]);
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &partial);
    h.pod(succeeded());
    h.harvest_result();
    h.end(stream, StreamEnd::Cut);
    let (id, _) = h.take_tail_check();
    h.err(id, Some(500), "internal error");
    let tail = format!("{}{}", ts(21, 0, "b"), &ts(21, 5, "cccc")[..33]);
    h.read_from("2023-11-14T22:13:21Z", &tail);
    assert!(h.exec.response().is_none(), "re-serving the unfinished line proves nothing");
    let (id, lines) = h.take_tail_check();
    assert_eq!(lines, 12, "the window reaches four times further back");
    h.ok_log(id, &ends_in_cc);
    assert_eq!(summary(h.response()), completed("a\nb\ncc", false));
    h.finish_cleanup(true, true);
}

/// The prefix of a record at 22:13:`sec`.`nanos` (no content).
fn prefix(sec: u32, nanos: u32) -> String {
    ts(sec, nanos, "").trim_end_matches('\n').to_string()
}

/// What a kubelet serves for the last `n` CRI records of a file of `records` (time, content;
/// content ending in a newline is an `F` record, otherwise `P`): a record gets its time only if
/// the record before it in the response ended a line, the first always.
fn render_tail(records: &[((u32, u32), String)], n: usize) -> String {
    let mut out = String::new();
    let mut line_start = true;
    for ((sec, nanos), content) in &records[records.len().saturating_sub(n)..] {
        if line_start {
            out.push_str(&prefix(*sec, *nanos));
        }
        out.push_str(content);
        line_start = content.ends_with('\n');
    }
    out
}

/// The soak's silent short stdout (issue 12, soak1x5 and soak1x31: both cut at the seed's fixed
/// `cutBody` of 10617 bytes): a server ends every body cleanly after the same number of bytes.
/// The stream from the head ends inside a line after the runner's exit, the tail shows more, and
/// every read from the last second — here the whole log, as all of it was written within one
/// second — ends at the very same byte: it re-serves the unfinished line and brings nothing more,
/// which the flow once took for the log's end. Now the tail is checked again, and as the first
/// check showed the log ending otherwise, no check is trusted and two such reads end the run with
/// `truncated.stdout`; a read that gets through makes it complete.
#[test]
fn reads_cut_inside_a_line_where_an_earlier_one_was_are_not_the_end() {
    let file = format!(
        "{}{}{}{}",
        ts(20, 0, "a"),
        ts(20, 100, "b"),
        ts(20, 500, "cccccccc"),
        ts(20, 600, "d")
    );
    let cut = &file[..file.find("cccc").expect("c") + 4];
    assert!(cut.ends_with(" cccc"));
    let to_final_read = |h: &mut Harness| {
        let stream = h.run_to_running();
        h.chunk(stream, cut);
        h.pod(succeeded());
        h.harvest_result();
        // Ended cleanly, inside the line "cccccccc": a kubelet could end a log there.
        h.end(stream, StreamEnd::Eof);
        let (id, lines) = h.take_tail_check();
        assert_eq!(lines, 3);
        h.ok_log(id, &render_tail(&records_of(&file), 3));
        assert!(h.exec.response().is_none(), "the tail shows more");
    };

    // Every read is cut at the same byte: two final reads, the tail checked in between with the
    // same window (the first check showed the log ending otherwise: widening cannot help).
    let mut h = Harness::start();
    to_final_read(&mut h);
    h.read_from("2023-11-14T22:13:20Z", cut);
    assert!(h.exec.response().is_none(), "a read cut where the stream was is not the end");
    let (id, lines) = h.take_tail_check();
    assert_eq!(lines, 3);
    h.ok_log(id, &render_tail(&records_of(&file), 3));
    h.read_from("2023-11-14T22:13:20Z", cut);
    assert_eq!(summary(h.response()), completed("a\nb\ncccc", true));
    assert!(
        h.warnings().iter().any(|w| w.contains("final runner log reads end before the log does"))
    );
    let report = h.exec.report();
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (2, 0));
    h.finish_cleanup(true, true);

    // A check whose window holds the whole file starts where a read from the head does, and the
    // same cut ends it at the same byte: it seems to confirm the end, but the first check showed
    // the log ending otherwise, so it is not trusted.
    let mut h = Harness::start();
    to_final_read(&mut h);
    h.read_from("2023-11-14T22:13:20Z", cut);
    let (id, _) = h.take_tail_check();
    h.ok_log(id, cut);
    assert!(h.exec.response().is_none(), "a check cut where the reads were proves nothing");
    h.read_from("2023-11-14T22:13:20Z", cut);
    assert_eq!(summary(h.response()), completed("a\nb\ncccc", true));
    let report = h.exec.report();
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (2, 0));
    h.finish_cleanup(true, true);

    // A later read gets through: complete, and the tail proves it with the usual window.
    let mut h = Harness::start();
    to_final_read(&mut h);
    h.read_from("2023-11-14T22:13:20Z", cut);
    h.tail_check(&file);
    h.read_from("2023-11-14T22:13:20Z", &file);
    let (id, lines) = h.take_tail_check();
    assert_eq!(lines, 3, "new bytes: the window is back to the group's lines and two");
    h.ok_log(id, &render_tail(&records_of(&file), 3));
    assert_eq!(summary(h.response()), completed("a\nb\ncccccccc\nd\n", false));
    h.finish_cleanup(true, true);
}

/// The records of a rendered log whose every line is one `F` record (or a last `P` record).
fn records_of(file: &str) -> Vec<((u32, u32), String)> {
    file.split_inclusive('\n')
        .map(|line| {
            let (stamp, content) = line.split_once(' ').expect("a prefix");
            let sec = stamp[17..19].parse().expect("seconds");
            let nanos = stamp[20..29].parse().expect("nanoseconds");
            ((sec, nanos), content.to_string())
        })
        .collect()
}

/// A log that really ends inside a line made of many `P` records (a program writing a line in
/// pieces and exiting without a newline): a tail check whose window starts inside that line
/// cannot confirm, the read from the last second re-serves the line and brings nothing more, and
/// the checks look further back until one reaches the line's start and proves the end — the run
/// is complete, not flagged.
#[test]
fn an_unfinished_last_line_of_many_records_is_proven_by_a_wider_tail() {
    let mut records = vec![((20, 0), "a\n".to_string()), ((20, 100), "b\n".to_string())];
    for i in 0..15u32 {
        records.push(((20, 500 + i), format!("c{i:02}")));
    }
    let file = render_tail(&records, records.len());
    let line: String = (0..15).map(|i| format!("c{i:02}")).collect();
    assert_eq!(file, format!("{}{}{}{line}", ts(20, 0, "a"), ts(20, 100, "b"), prefix(20, 500)));

    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &file);
    h.pod(succeeded());
    h.harvest_result();
    h.end(stream, StreamEnd::Eof);
    for lines in [3, 12] {
        let (id, asked) = h.take_tail_check();
        assert_eq!(asked, lines);
        let tail = render_tail(&records, lines as usize);
        assert!(tail.starts_with(&prefix(20, 500 + 15 - lines as u32)), "inside the line");
        h.ok_log(id, &tail);
        h.read_from("2023-11-14T22:13:20Z", &file);
        assert!(h.exec.response().is_none());
    }
    let (id, asked) = h.take_tail_check();
    assert_eq!(asked, 48, "15 records of the line, and the lines before it");
    h.ok_log(id, &render_tail(&records, 48));
    assert_eq!(summary(h.response()), completed(&format!("a\nb\n{line}"), false));
    let report = h.exec.report();
    assert_eq!((report.stdout_tail_checks, report.stdout_tail_confirmed), (3, 1));
    h.finish_cleanup(true, true);
}

/// A resumed stream that the server ends cleanly before it re-served the lines taken last was
/// cut short: after the runner's exit it is read on, not taken as the log's end.
#[test]
fn a_resumed_stream_ended_before_the_lines_taken_is_read_on() {
    let partial = format!("{}{}", ts(20, 0, "a"), &ts(21, 5, "cccc")[..33]);
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &partial);
    h.end(stream, StreamEnd::Cut);
    let reopened = h.last_stream();
    assert_eq!(h.opened[1].1.as_deref(), Some("2023-11-14T22:13:21Z"));
    h.pod(succeeded());
    h.harvest_result();
    // The resumed stream ends cleanly, at a line end, before it reached the line "cc…".
    h.chunk(reopened, &ts(21, 0, "b0"));
    h.end(reopened, StreamEnd::Eof);
    assert!(h.exec.response().is_none(), "a stream cut short is not the log's end");
    let file = format!("{}{}{}", ts(20, 0, "a"), ts(21, 0, "b0"), ts(21, 5, "cccc"));
    h.tail_check(&file);
    h.read_from("2023-11-14T22:13:21Z", &format!("{}{}", ts(21, 0, "b0"), ts(21, 5, "cccc")));
    h.tail_check(&file);
    assert_eq!(summary(h.response()), completed("a\ncccc\n", false));
    h.finish_cleanup(true, true);
}

/// The usual window counts one record per line of the group, and two: too few when the
/// unfinished last line is two records (its start written with the group, its rest later) and
/// the line before the group was split by a write as well — its last record then starts the
/// window, shown under the group's time, and the check cannot confirm though it serves line ends
/// (the execute crate's happy path, whose output ends with a write without a newline, met this).
/// The read from the last second re-serves everything and brings nothing more, and the wider
/// window proves the end: complete, not flagged.
#[test]
fn an_unfinished_line_after_a_split_line_is_proven_by_a_wider_tail() {
    let records: Vec<((u32, u32), String)> = [
        ((20, 0), "a\n"),
        ((20, 100), "x0-part1 "),
        ((20, 200), "x0-rest\n"),
        ((20, 200), "g1\n"),
        ((20, 200), "g2\n"),
        ((20, 200), "u-start "),
        ((20, 300), "u-more"),
    ]
    .into_iter()
    .map(|(t, c)| (t, c.to_string()))
    .collect();
    let file = render_tail(&records, records.len());
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &file);
    h.pod(succeeded());
    h.harvest_result();
    h.end(stream, StreamEnd::Eof);
    let (id, lines) = h.take_tail_check();
    assert_eq!(lines, 5, "the group's three lines, and two");
    let tail = render_tail(&records, 5);
    assert!(tail.starts_with(&format!("{}x0-rest\n", prefix(20, 200))), "{tail}");
    h.ok_log(id, &tail);
    h.read_from("2023-11-14T22:13:20Z", &file);
    assert!(h.exec.response().is_none(), "nothing new, and the end not proven yet");
    let (id, lines) = h.take_tail_check();
    assert_eq!(lines, 20);
    h.ok_log(id, &render_tail(&records, 20));
    assert_eq!(
        summary(h.response()),
        completed("a\nx0-part1 x0-rest\ng1\ng2\nu-start u-more", false)
    );
    h.finish_cleanup(true, true);
}
