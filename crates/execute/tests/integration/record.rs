//! Recording the runner-log responses (`ExecuteOptions::record`, `TALE_SANDBOX_RECORD`): the
//! recording replays to exactly what the run's accumulator reported, across cut streams and
//! rotations, and never holds the sandbox token or the exec Secret.

use std::time::Duration;

use crate::common::{Harness, NS, request, sandbox_secret, unique};
use base64::Engine as _;
use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::names::pod_name_for;
use tale_sandbox_contract::wire::ExecutionStatus;
use tale_sandbox_execute::{ExecuteOptions, ExecuteOutcome, now_ms};
use tale_sandbox_testcluster::{
    ClusterConfig, Fault, FaultPlan, FaultRule, OutputStep, RepeatStep, Scenario,
};
use tale_sandbox_vectors::Vector;

const TOKEN: &str = "sbx-token-RECORDING-must-not-leak-7d1c";

fn temp_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("{}.json", unique(name)))
}

async fn run(h: &Harness, id: &str, opts: ExecuteOptions) -> ExecuteOutcome {
    tokio::time::timeout(Duration::from_secs(90), h.backend.execute(&h.cfg, request(id), opts))
        .await
        .expect("execute finishes within 90 s")
}

/// A run whose follow streams are cut every 256 KiB while the log rotates: reconnects with
/// `sinceTime` re-serve overlap, every response is recorded, and the replay is exact.
#[tokio::test]
async fn a_recording_replays_to_the_runs_own_result_and_holds_no_secret() {
    let config = ClusterConfig {
        max_log_size: 256 * 1024,
        rotation_period: Duration::from_millis(50),
        ..Default::default()
    };
    let cfg = SpawnerConfig { sandbox_token: Some(TOKEN.into()), ..Default::default() };
    let h = Harness::start_with(config, cfg).await;
    let id = unique("record");
    h.cluster
        .set_faults(FaultPlan {
            seed: 3,
            rules: vec![FaultRule {
                route: "pods.log".into(),
                name: None,
                container: Some("runner".into()),
                probability: None,
                on_requests: None,
                max_times: None,
                fault: Fault::CutBody { after_bytes: 256 * 1024, abrupt: true },
            }],
        })
        .unwrap();
    let step = RepeatStep {
        pattern: "recorded line, é and 😀 split by the cuts somewhere\n".into(),
        total_bytes: 768 * 1024,
        chunk_bytes: 8 * 1024,
        // Slower than a cut per second of log (sinceTime's precision), so resumes progress.
        bytes_per_second: 128 * 1024,
        ..Default::default()
    };
    let mut scenario = Scenario::runner_output(vec![OutputStep::Repeat(step)], 0);
    scenario.termination_linger_ms = Some(1_500);
    h.cluster.set_scenario(&id, scenario).unwrap();
    let path = temp_file("tale-record");
    let mut opts = ExecuteOptions::new(now_ms());
    opts.record = Some(path.clone());
    let outcome = run(&h, &id, opts).await;
    let r = &outcome.response;
    assert_eq!(r.status, ExecutionStatus::Completed, "{r:?}");
    assert_eq!(outcome.report.recording.as_deref(), Some(path.as_path()));
    let text = std::fs::read_to_string(&path).expect("the recording was written");
    std::fs::remove_file(&path).ok();
    let v = Vector::parse(&text).expect("the recording is a vector");
    assert_eq!(v.format_version(), 2);
    assert_eq!(v.name, pod_name_for(&id));

    // Several follow responses (the cuts), each ended as the run saw it.
    let follows = v.reads.iter().filter(|r| r.kind.as_deref() == Some("follow")).count();
    assert!(follows >= 4, "only {follows} follow responses: {:?}", outcome.report);
    assert!(v.reads.iter().any(|r| r.how.as_deref() == Some("cut") && !r.ended()));
    assert!(v.reads.iter().skip(1).all(|r| r.query.as_ref().unwrap().since_time.is_some()));
    let recorded: u64 = v.reads.iter().flat_map(|r| &r.chunks).map(|c| c.len() as u64).sum();
    // Tail checks are compared with the accumulator's last lines, not fed to it: their size only.
    let others = &v.recording.as_ref().expect("a recording block").other_reads;
    let tail_checks: u64 = others.iter().filter(|r| r.kind == "tail-check").map(|r| r.bytes).sum();
    assert_eq!(
        recorded + tail_checks,
        outcome.report.flow.log_bytes.runner,
        "every runner-log byte recorded"
    );

    // The replay gives exactly what the run's accumulator reported, which is the truth.
    let acc = v.replay().unwrap();
    let out = acc.finish();
    assert_eq!(out.stdout, &v.expect.stdout[..]);
    assert_eq!(
        (out.truncated, out.total_bytes, out.rotations, out.gaps, out.malformed),
        (v.expect.truncated, v.expect.total_bytes, v.expect.rotations, v.expect.gaps, 0)
    );
    assert_eq!(out.gaps, outcome.report.flow.gaps);
    let truth = h.cluster.true_stream(NS, &pod_name_for(&id), "runner").expect("lingering");
    let stdout = base64::engine::general_purpose::STANDARD.decode(&r.stdout_base64).unwrap();
    assert!(
        stdout == truth,
        "stdout {} bytes, truth {}: {:?}",
        stdout.len(),
        truth.len(),
        outcome.report
    );
    assert!(out.stdout == truth, "replayed stdout differs from the truth");
    assert!(h.metrics().rotations >= 2, "only {} rotations", h.metrics().rotations);

    // Never the token, never the Secret's content (its exec spec carries the token and the
    // request), in the file as written or in any decoded chunk.
    let secret = sandbox_secret(&h.cfg, &id, 0);
    let spec = secret.string_data.as_ref().unwrap().values().next().unwrap().clone();
    assert!(spec.contains(TOKEN), "the test Secret must carry the token");
    let mut decoded = Vec::new();
    for read in &v.reads {
        for chunk in &read.chunks {
            decoded.extend_from_slice(chunk);
        }
    }
    let decoded = String::from_utf8_lossy(&decoded);
    for needle in [TOKEN, spec.as_str(), "http://platform/ep1", "http://platform/ep2"] {
        assert!(!text.contains(needle), "the recording contains {needle:?}");
        assert!(!decoded.contains(needle), "a recorded chunk contains {needle:?}");
    }
    h.assert_cleaned_up().await;
}

/// A directory records into `<dir>/<executionId>.record.json`, as `TALE_SANDBOX_RECORD` naming
/// one resolves (the variable itself is exercised through the CLI, in a child process); without
/// the option or the variable nothing is recorded.
#[tokio::test]
async fn a_directory_gets_one_file_per_execution_and_nothing_is_recorded_by_default() {
    let h = Harness::start(ClusterConfig::default()).await;
    let dir = std::env::temp_dir().join(unique("tale-record-dir"));
    std::fs::create_dir_all(&dir).unwrap();
    let off = unique("record-off");
    h.cluster
        .set_scenario(&off, Scenario::runner_output(vec![OutputStep::text("quiet\n")], 0))
        .unwrap();
    let outcome = run(&h, &off, ExecuteOptions::new(now_ms())).await;
    assert_eq!(outcome.report.recording, None);

    let id = unique("record-env");
    h.cluster
        .set_scenario(&id, Scenario::runner_output(vec![OutputStep::text("hello\n")], 0))
        .unwrap();
    let resolved = tale_sandbox_execute::record_path(
        None,
        |name| (name == tale_sandbox_execute::RECORD_ENV).then(|| dir.display().to_string()),
        &id,
    )
    .unwrap();
    let mut opts = ExecuteOptions::new(now_ms());
    opts.record = Some(dir.clone());
    let outcome = run(&h, &id, opts).await;
    let path = outcome.report.recording.clone().expect("recorded");
    assert_eq!(path, resolved);
    assert_eq!(path, dir.join(format!("{id}.record.json")));
    let v = Vector::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(&v.expect.stdout[..], b"hello\n");
    assert_eq!(v.replay().unwrap().finish().stdout, b"hello\n");
    std::fs::remove_dir_all(&dir).ok();
    h.assert_cleaned_up().await;
}
