//! The execute tests of the TypeScript `k8s-backend.test.ts` (spec §7.1, 11–16). For the
//! rotation tests T1/T2 the follow stream gives the better outcome: stdout exact.

use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_flow::{Call, StreamEnd};

use crate::support::*;

const POD: &str = "tale-sbx-";

#[test]
fn t11_secret_conflict_with_a_live_pod_is_a_duplicate_dispatch() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    let (id, call) = h.expect("ReadPod");
    assert!(matches!(call, Call::ReadPod { ref name } if name.starts_with(POD)));
    h.ok_pod(id, leftover("Running", NOW - 5_000));
    let pod_name = h.exec.pod_name().to_string();
    assert_eq!(
        summary(h.response()),
        spawner_unavailable(&format!(
            "executionId already has a live pod ({pod_name}) \u{2014} duplicate dispatch"
        ))
    );
    // No deletes, no replace: the live owner cleans up.
    h.finish_cleanup(false, false);
}

#[test]
fn t12_pod_conflict_is_another_replica_without_any_cleanup() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.ok(id);
    let (id, _) = h.expect("CreatePod");
    h.err(id, Some(409), "AlreadyExists");
    assert_eq!(
        summary(h.response()),
        spawner_unavailable(&format!(
            "executionId {EXEC_ID} already has a live pod on another replica"
        ))
    );
    h.finish_cleanup(false, false);
}

#[test]
fn t13_staging_failure_carries_the_stage_log_tail() {
    let mut h = Harness::start();
    let (id, _) = h.expect("CreateSecret");
    h.err(id, Some(409), "AlreadyExists");
    let (id, _) = h.expect("ReadPod");
    h.err(id, Some(404), "not found");
    let (id, call) = h.expect("ReplaceSecret");
    assert!(matches!(call, Call::ReplaceSecret { ref name, .. } if name.ends_with("-spec")));
    h.ok(id);
    let (id, _) = h.expect("CreatePod");
    h.ok(id);
    h.pod(pod(
        "Pending",
        Some(C::Exited(1, Some("Error"))),
        Some(C::Waiting("PodInitializing")),
        None,
    ));
    let (id, call) = h.expect("ReadLog stage");
    let params = log_params(&call);
    assert_eq!(
        (params.tail_lines, params.limit_bytes, params.timestamps),
        (Some(5), Some(4096), false)
    );
    h.ok_log(id, "workspace file fetch failed for main.py: HTTP 403\n");
    assert_eq!(
        summary(h.response()),
        spawner_unavailable(
            "spawner staging failed: pre-stage failed (exit 1): Error: workspace file fetch failed for main.py: HTTP 403"
        )
    );
    h.finish_cleanup(true, true);
}

/// Runs to `harvestDone` with the given stream chunks, then ends the stream normally.
fn run_with_stream(cfg: &SpawnerConfig, chunks: &[&str]) -> Harness {
    let mut h = Harness::new(cfg, request());
    let stream = h.run_to_running();
    assert_eq!(h.opened[0].1, None, "the first stream starts at the head");
    for chunk in chunks {
        h.chunk(stream, chunk);
    }
    h.pod(succeeded());
    let (id, _) = h.expect("ReadLog harvest");
    h.ok_log(id, &format!("{}\n", result_line(0)));
    if !h.closed.contains(&stream) {
        assert!(h.exec.response().is_none(), "waits for the stream to end");
        h.end(stream, StreamEnd::Eof);
        h.confirm_end();
    }
    h
}

#[test]
fn t14_rotation_t1_the_follow_stream_keeps_every_byte() {
    // The kubelet's follow stream continues into the new file; the line continued there
    // carries no prefix.
    let mut h = run_with_stream(&cfg(), &[ts(20, 1, "AAAAA").trim_end_matches('\n'), "BBB"]);
    assert_eq!(summary(h.response()), completed("AAAAABBB", false));
    h.finish_cleanup(true, true);
}

#[test]
fn t14_rotation_t1_after_a_cut_is_reported() {
    // The stream is cut before the rotation; the resumed read only sees the new file.
    let mut h = Harness::start();
    let stream = h.run_to_running();
    h.chunk(stream, &ts(20, 1, "AAAAA"));
    h.end(stream, StreamEnd::Cut);
    assert_eq!(h.opened.len(), 2, "reconnects at once after a stream that brought bytes");
    assert_eq!(h.opened[1].1.as_deref(), Some("2023-11-14T22:13:20Z"));
    let stream = h.last_stream();
    h.chunk(stream, &ts(25, 0, "BBB"));
    h.pod(succeeded());
    h.harvest_result();
    h.end(stream, StreamEnd::Eof);
    // The end is proven against the new file, all the log API still serves.
    h.tail_check(&ts(25, 0, "BBB"));
    assert_eq!(summary(h.response()), completed("AAAAA\nBBB\n", true));
    assert_eq!(h.exec.report().gaps, 1);
    assert_eq!(h.exec.report().stdout_reconnects, 1);
    h.finish_cleanup(true, true);
}

#[test]
fn t15_rotation_t2_the_follow_stream_keeps_every_byte() {
    let first = ts(20, 1, "AAAAAA");
    let mut h = run_with_stream(&cfg(), &[first.trim_end_matches('\n'), "BBBB", "BBBB"]);
    assert_eq!(summary(h.response()), completed("AAAAAABBBBBBBB", false));
    h.finish_cleanup(true, true);
}

#[test]
fn t16_cap_t3_stops_reading_and_truncates() {
    let mut cfg = cfg();
    cfg.stdout_max_bytes = 4;
    let mut h = Harness::new(&cfg, request());
    let stream = h.run_to_running();
    h.chunk(stream, &ts(20, 1, "AAAAAAAAAA"));
    assert_eq!(h.closed, vec![stream], "reading stops past the cap");
    h.pod(succeeded());
    h.harvest_result();
    assert_eq!(summary(h.response()), completed("AAAA", true));
    h.finish_cleanup(true, true);
}

#[test]
fn exactly_cap_output_is_not_truncated() {
    let mut cfg = cfg();
    cfg.stdout_max_bytes = 4;
    let line = ts(20, 1, "AAAA");
    let mut h = run_with_stream(&cfg, &[line.trim_end_matches('\n')]);
    assert_eq!(summary(h.response()), completed("AAAA", false));
    h.finish_cleanup(true, true);
}
