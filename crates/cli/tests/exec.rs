//! `tale-sandbox exec` end to end: the binary runs a small execution on the embedded test
//! cluster whose runner log rotates, and reports a byte-exact stdout.

use std::process::Command;

use tale_sandbox_contract::wire::{ExecuteResponse, ExecutionStatus};

/// A run small enough for a debug build: 2 MiB through a 256 KiB log checked every 50 ms.
const SMALL: &[&str] =
    &["--size", "2MiB", "--rate", "8MB", "--rotate-size", "256KiB", "--rotate-period-ms", "50"];

fn tale_sandbox(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tale-sandbox"))
        .args(args)
        .env_remove("SANDBOX_STDOUT_MAX_BYTES")
        .output()
        .expect("the binary runs")
}

#[test]
fn exec_on_the_embedded_cluster_is_byte_exact_across_rotations() {
    let mut args = vec!["exec"];
    args.extend_from_slice(SMALL);
    let out = tale_sandbox(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("verdict    BYTE-EXACT"), "{stdout}\n{stderr}");
    assert!(stdout.contains("all 2,097,152 bytes equal"), "{stdout}");
    let rotations: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("cluster    "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a cluster line with the rotation count");
    assert!(rotations >= 2, "only {rotations} rotations\n{stdout}");
}

#[test]
fn exec_json_prints_exactly_the_response_and_survives_cut_streams() {
    // Cuts without rotations, slower than one cut per second of log: a reconnect resumes from a
    // whole second (`sinceTime`), so a stream cut more often than that never gets further, and a
    // stream cut while the log rotates past unread bytes loses them (the kubelet serves only the
    // current file); the flow then reports truncation, and the verdict says NOT BYTE-EXACT.
    let args =
        ["exec", "--json", "--cut-stream-every", "1MiB", "--size", "1536KiB", "--rate", "500KB"];
    let out = tale_sandbox(&args);
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 JSON");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    assert_eq!(stdout.lines().count(), 1, "one JSON line on stdout: {stdout}");
    let response: ExecuteResponse = serde_json::from_str(&stdout).expect("an ExecuteResponse");
    assert_eq!(response.status, ExecutionStatus::Completed, "{stderr}");
    assert_eq!(response.exit_code, Some(0));
    assert!(!response.truncated.stdout);
    // The key order is the contract's: re-serialising gives the same text.
    assert_eq!(serde_json::to_string(&response).unwrap(), stdout.trim_end());
    assert!(stderr.contains("verdict    BYTE-EXACT"), "{stderr}");
    assert!(stderr.contains("pods.log cutBody"), "{stderr}");
}

#[test]
fn a_real_cluster_that_cannot_be_reached_is_an_error_not_a_hang() {
    let out = tale_sandbox(&["exec", "--kubeconfig", "/nonexistent/kubeconfig"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/kubeconfig"), "{stderr}");
}

#[test]
fn exec_with_a_kubeconfig_runs_on_that_cluster_without_a_truth_check() {
    use base64::Engine as _;
    use tale_sandbox_testcluster::{ClusterConfig, OutputStep, Scenario, TestCluster};

    // A "real" cluster reached only through its kubeconfig file, as a user's would be.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let cluster = runtime.block_on(TestCluster::start(ClusterConfig::default())).unwrap();
    cluster
        .set_default_scenario(Scenario::runner_output(
            vec![OutputStep::text("hello from a kubeconfig cluster\n")],
            0,
        ))
        .unwrap();
    let path = std::env::temp_dir().join(format!("tale-exec-{}.kubeconfig", std::process::id()));
    cluster.write_kubeconfig(&path).unwrap();
    let out = tale_sandbox(&["exec", "--json", "--kubeconfig", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    let response: ExecuteResponse =
        serde_json::from_slice(&out.stdout).expect("an ExecuteResponse");
    assert_eq!(response.status, ExecutionStatus::Completed, "{stderr}");
    let stdout = base64::engine::general_purpose::STANDARD.decode(&response.stdout_base64).unwrap();
    assert_eq!(stdout, b"hello from a kubeconfig cluster\n");
    assert!(stderr.contains("verdict    completed"), "{stderr}");
    assert_eq!(cluster.metrics().live_secrets, 0, "the Secret is deleted");
}

/// `TALE_SANDBOX_RECORD` naming a directory makes `exec` record into
/// `<dir>/<executionId>.record.json`; `replay` checks the recording against the run's own result
/// (exit 0) and refuses a tampered one (exit 1).
#[test]
fn the_record_environment_variable_records_and_replay_checks_the_recording() {
    let dir = std::env::temp_dir().join(format!("tale-cli-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tale-sandbox"))
        .args(["exec", "--execution-id", "cli-record-env", "--size", "256KiB", "--rate", "4MB"])
        .env("TALE_SANDBOX_RECORD", &dir)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let file = dir.join("cli-record-env.record.json");
    assert!(stdout.contains(&format!("recording  {}", file.display())), "{stdout}");
    let replay = tale_sandbox(&["replay", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "{text}");
    assert!(text.contains("format version 2"), "{text}");
    assert!(text.contains("expect:      matches"), "{text}");
    let mut recording: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    recording["expect"]["gaps"] = 1.into();
    std::fs::write(&file, recording.to_string()).unwrap();
    let replay = tale_sandbox(&["replay", "--quiet", file.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&replay.stdout);
    assert_eq!(replay.status.code(), Some(1), "{text}");
    assert!(text.contains("DIFFERS: gaps: got 0, expected 1"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}
