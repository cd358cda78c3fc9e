//! Spec §7.3 (`exec-response.test.ts`), §1.3 outcome table and §1.9 assembly order.

use crate::fixture::*;
use base64::Engine;
use tale_sandbox_contract::config::ContractVariant;
use tale_sandbox_contract::response::*;
use tale_sandbox_contract::wire::*;

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn parts() -> ResponseParts {
    ResponseParts {
        stdout_capped: "hello".into(),
        stderr_capped: "oops".into(),
        stdout_truncated: false,
        stderr_truncated: true,
        duration_ms: 1234,
        truncated_files: 2,
        output_files: vec![OutputFile {
            name: "f.txt".into(),
            storage_id: "s".into(),
            size: 1,
            content_type: "text/plain; charset=utf-8".into(),
            sha256: "0".repeat(64),
        }],
        steps: Some(vec![StepResult {
            path: "a.py".into(),
            status: StepStatus::Completed,
            exit_code: Some(0.0),
            duration_ms: 1.0,
        }]),
        upload_stats: UploadStats { attempted: 1, succeeded: 1, failures: vec![] },
        timing: Timing { stage_ms: 1.0, execute_ms: 2.0, harvest_ms: 3.0, upload_ms: 4.0 },
        prior_stage: Some(PriorStage::default()),
    }
}

#[test]
fn all_constructors_carry_identical_base_fields() {
    let user = ContractVariant::User;
    let all = [
        build_cancelled(parts()),
        build_completed(parts(), None),
        build_completed(
            parts(),
            classify_harvest_error(
                HarvestFlags { upload_failed: true, ..Default::default() },
                user,
            ),
        ),
        build_runtime_failure(parts(), 3, "", None),
        build_timeout_backstop(parts(), None),
        build_harvest_missing(parts(), None, user),
        build_runner_killed(parts(), 2, Some("Error")),
        build_infra_failure(parts(), "x"),
    ];
    for r in &all {
        assert_eq!(r.stdout_base64, b64("hello"));
        assert_eq!(r.stderr_base64, b64("oops"));
        assert_eq!(r.duration_ms, 1234);
        assert_eq!(r.truncated, Truncated { stdout: false, stderr: true, files: 2 });
        assert_eq!(r.output_files, parts().output_files);
        assert_eq!(r.steps, parts().steps);
        assert_eq!(r.upload_stats, Some(parts().upload_stats));
        assert_eq!(r.timing, Some(parts().timing));
        assert_eq!(r.prior_stage, Some(PriorStage::default()));
    }
}

#[test]
fn steps_and_prior_stage_keys_absent_when_not_given() {
    let r = build_completed(ResponseParts { steps: None, prior_stage: None, ..parts() }, None);
    let v = serde_json::to_value(&r).unwrap();
    assert!(v.get("steps").is_none());
    assert!(v.get("priorStage").is_none());
    assert!(v.get("errorCode").is_none() && v.get("errorMessage").is_none());
}

#[test]
fn outcome_constructors() {
    let c = build_cancelled(parts());
    assert_eq!(
        (c.status, c.exit_code, c.error_code),
        (ExecutionStatus::Cancelled, None, Some(ErrorCode::Cancelled))
    );

    let ok = build_completed(parts(), None);
    assert_eq!(
        (ok.status, ok.exit_code, ok.error_code),
        (ExecutionStatus::Completed, Some(0), None)
    );

    let up = build_completed(
        parts(),
        classify_harvest_error(
            HarvestFlags { upload_failed: true, ..Default::default() },
            ContractVariant::User,
        ),
    );
    assert_eq!(
        (up.status, up.exit_code, up.error_code),
        (ExecutionStatus::Failed, Some(0), Some(ErrorCode::UploadFailed))
    );

    let rt = build_runtime_failure(parts(), 3, "", None);
    assert_eq!(
        (rt.status, rt.exit_code, rt.error_code),
        (ExecutionStatus::Failed, Some(3), Some(ErrorCode::RuntimeError))
    );

    let bs = build_timeout_backstop(parts(), Some("harvest container never reported"));
    assert_eq!(
        (bs.status, bs.exit_code, bs.error_code),
        (ExecutionStatus::Failed, Some(124), Some(ErrorCode::Timeout))
    );
    assert!(bs.error_message.unwrap().contains("Wall-clock timeout exceeded"));

    let hm = build_harvest_missing(parts(), None, ContractVariant::User);
    assert_eq!(
        (hm.status, hm.exit_code, hm.error_code),
        (ExecutionStatus::Failed, None, Some(ErrorCode::HarvestReadFailed))
    );
    assert_eq!(build_harvest_missing(parts(), Some(0), ContractVariant::User).exit_code, Some(0));

    let oom = build_runner_killed(parts(), 9, Some("OOMKilled"));
    assert_eq!((oom.exit_code, oom.error_code), (Some(137), Some(ErrorCode::Oom)));
    let err = build_runner_killed(parts(), 2, Some("Error"));
    assert_eq!((err.exit_code, err.error_code), (Some(2), Some(ErrorCode::RuntimeError)));
    assert!(err.error_message.unwrap().contains("Error"));

    let infra = build_infra_failure(parts(), "boom");
    assert_eq!((infra.exit_code, infra.error_code), (None, Some(ErrorCode::SpawnerUnavailable)));
}

#[test]
fn classify_harvest_error_priority() {
    let v = ContractVariant::User;
    assert_eq!(classify_harvest_error(HarvestFlags::default(), v), None);
    let all = HarvestFlags {
        quota_exhausted: true,
        upload_failed: true,
        report_failed: true,
        read_failed: true,
    };
    assert_eq!(classify_harvest_error(all, v).unwrap().code, ErrorCode::UploadQuotaExceeded);
    let no_quota = HarvestFlags { quota_exhausted: false, ..all };
    assert_eq!(classify_harvest_error(no_quota, v).unwrap().code, ErrorCode::UploadFailed);
    let report_read = HarvestFlags { report_failed: true, read_failed: true, ..Default::default() };
    assert_eq!(classify_harvest_error(report_read, v).unwrap().code, ErrorCode::UploadReportFailed);
    let read = classify_harvest_error(HarvestFlags { read_failed: true, ..Default::default() }, v)
        .unwrap();
    assert_eq!(
        (read.code, read.message.as_str()),
        (ErrorCode::HarvestReadFailed, "Couldn't read /user/output")
    );
    let ws = classify_harvest_error(
        HarvestFlags { read_failed: true, ..Default::default() },
        ContractVariant::Workspace,
    );
    assert_eq!(ws.unwrap().message, "Couldn't read /workspace/output");
}

// ---- assemble (§1.9) ----

fn input() -> AssembleInput {
    AssembleInput {
        stdout: "PHASE: installing\nPHASE: running\nhi\x1b[31m!\x1b[0m\r\n".into(),
        started_at_ms: NOW,
        now_ms: NOW + 5_000,
        ..Default::default()
    }
}

fn harvest(exit_code: i32) -> HarvestResult {
    HarvestResult {
        exit_code,
        stage_ms: 100.0,
        harvest_ms: 300.0,
        upload_ms: 250.0,
        ..Default::default()
    }
}

fn cfg() -> tale_sandbox_contract::config::SpawnerConfig {
    fixture_config(ContractVariant::UserAttestUlimit)
}

fn decode(b: &str) -> String {
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap()
}

#[test]
fn success_strips_markers_and_controls() {
    let r = assemble(
        &cfg(),
        AssembleInput { harvest: Some(harvest(0)), ..input() },
        AssembleOptions::default(),
    );
    assert_eq!(r.status, ExecutionStatus::Completed);
    assert_eq!(decode(&r.stdout_base64), "hi!\n");
    assert_eq!(r.duration_ms, 5_000);
    assert!(!r.truncated.stdout);
}

#[test]
fn abort_wins_over_everything_and_keeps_harvested_outputs() {
    let mut h = harvest(0);
    h.output_files = vec![OutputFile {
        name: "o".into(),
        storage_id: "s".into(),
        size: 1,
        content_type: "x".into(),
        sha256: "y".into(),
    }];
    let r = assemble(
        &cfg(),
        AssembleInput {
            aborted: true,
            harvest: Some(h),
            runner_killed: Some(RunnerKilled { exit_code: 137, reason: Some("OOMKilled".into()) }),
            ..input()
        },
        AssembleOptions::default(),
    );
    assert_eq!(r.status, ExecutionStatus::Cancelled);
    assert_eq!(r.output_files.len(), 1);
}

#[test]
fn cancel_in_steps_mode_without_result_synthesizes_skipped_steps() {
    let r = assemble(
        &cfg(),
        AssembleInput {
            aborted: true,
            request_steps: Some(vec!["a.py".into(), "b.py".into()]),
            ..input()
        },
        AssembleOptions::default(),
    );
    let steps = r.steps.unwrap();
    assert_eq!(steps.len(), 2);
    assert!(steps.iter().all(|s| s.status == StepStatus::Skipped && s.exit_code.is_none()));
}

#[test]
fn runner_killed_before_missing_harvest() {
    let r = assemble(
        &cfg(),
        AssembleInput {
            runner_killed: Some(RunnerKilled { exit_code: 137, reason: Some("OOMKilled".into()) }),
            ..input()
        },
        AssembleOptions::default(),
    );
    assert_eq!((r.exit_code, r.error_code), (Some(137), Some(ErrorCode::Oom)));
}

#[test]
fn missing_harvest_paths() {
    let backstop =
        assemble(&cfg(), AssembleInput { backstop: true, ..input() }, AssembleOptions::default());
    assert_eq!(
        backstop.error_message.as_deref(),
        Some("Wall-clock timeout exceeded (harvest container never reported)")
    );
    assert_eq!(backstop.exit_code, Some(124));

    let recovered = assemble(
        &cfg(),
        AssembleInput { started: Some(StartedInfo { exit_code: 3, timed_out: false }), ..input() },
        AssembleOptions::default(),
    );
    assert_eq!(
        (recovered.exit_code, recovered.error_code),
        (Some(3), Some(ErrorCode::RuntimeError))
    );

    let zero = assemble(
        &cfg(),
        AssembleInput { started: Some(StartedInfo { exit_code: 0, timed_out: false }), ..input() },
        AssembleOptions::default(),
    );
    assert_eq!((zero.exit_code, zero.error_code), (Some(0), Some(ErrorCode::HarvestReadFailed)));

    let none = assemble(&cfg(), input(), AssembleOptions::default());
    assert_eq!((none.exit_code, none.error_code), (None, Some(ErrorCode::HarvestReadFailed)));
    assert_eq!(
        none.error_message.as_deref(),
        Some("Couldn't read /user/output (no harvest result line)")
    );
    assert_eq!(
        none.timing.unwrap(),
        Timing { stage_ms: 0.0, execute_ms: 5_000.0, harvest_ms: 0.0, upload_ms: 0.0 }
    );
}

#[test]
fn fatal_placeholder_takes_started_exit_code_or_counts_as_missing() {
    let with_started = assemble(
        &cfg(),
        AssembleInput {
            harvest: Some(HarvestResult::fatal_fallback()),
            started: Some(StartedInfo { exit_code: 0, timed_out: false }),
            ..input()
        },
        AssembleOptions::default(),
    );
    // exit 0 with readFailed → completed path with HARVEST_READ_FAILED.
    assert_eq!((with_started.status, with_started.exit_code), (ExecutionStatus::Failed, Some(0)));
    assert_eq!(with_started.error_message.as_deref(), Some("Couldn't read /user/output"));

    let without = assemble(
        &cfg(),
        AssembleInput { harvest: Some(HarvestResult::fatal_fallback()), ..input() },
        AssembleOptions::default(),
    );
    assert_eq!(without.exit_code, None, "placeholder exit 1 is never reported");
    assert_eq!(
        without.error_message.as_deref(),
        Some("Couldn't read /user/output (no harvest result line)")
    );
}

#[test]
fn non_zero_exit_classifies_with_capped_stderr_without_oom_hint() {
    let mut h = harvest(137);
    h.stderr = "bash: line 1: Killed\n".into();
    let r =
        assemble(&cfg(), AssembleInput { harvest: Some(h), ..input() }, AssembleOptions::default());
    assert_eq!(r.error_code, Some(ErrorCode::Oom));
    let r = assemble(
        &cfg(),
        AssembleInput { harvest: Some(harvest(137)), ..input() },
        AssembleOptions::default(),
    );
    assert_eq!(r.error_code, Some(ErrorCode::Timeout));
}

#[test]
fn harvest_error_flags_only_apply_on_exit_zero() {
    let mut h = harvest(2);
    h.upload_failed = true;
    let r =
        assemble(&cfg(), AssembleInput { harvest: Some(h), ..input() }, AssembleOptions::default());
    assert_eq!(r.error_code, Some(ErrorCode::RuntimeError));
}

#[test]
fn truncation_flags_combine_stream_and_cap() {
    let mut c = cfg();
    c.stdout_max_bytes = 4;
    let r = assemble(
        &c,
        AssembleInput { stdout: "AAAAAA".into(), harvest: Some(harvest(0)), ..input() },
        AssembleOptions::default(),
    );
    assert_eq!(decode(&r.stdout_base64), "AAAA");
    assert!(r.truncated.stdout);
    let r = assemble(
        &cfg(),
        AssembleInput {
            stdout: "ok".into(),
            stdout_stream_truncated: true,
            harvest: Some(harvest(0)),
            ..input()
        },
        AssembleOptions::default(),
    );
    assert!(r.truncated.stdout);
    let mut h = harvest(0);
    h.stderr_truncated = true;
    let r =
        assemble(&cfg(), AssembleInput { harvest: Some(h), ..input() }, AssembleOptions::default());
    assert!(r.truncated.stderr);
}

#[test]
fn w14_execute_ms_rules() {
    let r = assemble(
        &cfg(),
        AssembleInput { harvest: Some(harvest(0)), ..input() },
        AssembleOptions { execute_ms: ExecuteMsRule::Compatible },
    );
    assert_eq!(
        r.timing.unwrap(),
        Timing {
            stage_ms: 100.0,
            execute_ms: 5_000.0 - 300.0 - 250.0,
            harvest_ms: 300.0,
            upload_ms: 250.0
        }
    );
    let r = assemble(
        &cfg(),
        AssembleInput { harvest: Some(harvest(0)), ..input() },
        AssembleOptions::default(),
    );
    assert_eq!(r.timing.unwrap().execute_ms, 5_000.0 - 300.0, "upload time is inside harvest time");
    let mut h = harvest(0);
    h.execute_ms = Some(1_234.0);
    let r =
        assemble(&cfg(), AssembleInput { harvest: Some(h), ..input() }, AssembleOptions::default());
    assert_eq!(r.timing.unwrap().execute_ms, 1_234.0, "the harvest's measurement wins");
    let mut h = harvest(0);
    h.harvest_ms = 9_000.0;
    let r =
        assemble(&cfg(), AssembleInput { harvest: Some(h), ..input() }, AssembleOptions::default());
    assert_eq!(r.timing.unwrap().execute_ms, 0.0, "never negative");
}

#[test]
fn w18_cut_artefact_at_end_of_truncated_stderr_is_dropped() {
    // The harvest cut "ab😀" inside the emoji and decoded lossily: "ab\u{FFFD}".
    let mut h = harvest(1);
    h.stderr = "ab\u{FFFD}".into();
    h.stderr_truncated = true;
    let r =
        assemble(&cfg(), AssembleInput { harvest: Some(h), ..input() }, AssembleOptions::default());
    assert_eq!(decode(&r.stderr_base64), "ab");
    // A U+FFFD the user really printed (no truncation) is kept.
    let mut h = harvest(1);
    h.stderr = "ab\u{FFFD}".into();
    let r =
        assemble(&cfg(), AssembleInput { harvest: Some(h), ..input() }, AssembleOptions::default());
    assert_eq!(decode(&r.stderr_base64), "ab\u{FFFD}");
}

#[test]
fn w10_exactly_at_cap_is_not_truncated() {
    assert!(!stdout_stream_truncated(4, 4, false));
    assert!(stdout_stream_truncated(5, 4, false));
    assert!(stdout_stream_truncated(1, 4, true));
    let mut c = cfg();
    c.stdout_max_bytes = 4;
    let r = assemble(
        &c,
        AssembleInput { stdout: "AAAA".into(), harvest: Some(harvest(0)), ..input() },
        AssembleOptions::default(),
    );
    assert!(!r.truncated.stdout);
}

/// Spec §1.3, row by row: (status, errorCode, exitCode) per outcome.
#[test]
fn outcome_table_rows() {
    let a = |input: AssembleInput| assemble(&cfg(), input, AssembleOptions::default());
    let row = |r: &ExecuteResponse| (r.status, r.error_code, r.exit_code);
    use ErrorCode::*;
    use ExecutionStatus::{Cancelled as CancelledStatus, Completed, Failed};
    let mut quota = harvest(0);
    quota.quota_exhausted = true;
    let mut killed_stderr = harvest(137);
    killed_stderr.stderr = "Killed".into();
    type Row = (ExecutionStatus, Option<ErrorCode>, Option<i32>);
    let rows: Vec<(&str, ExecuteResponse, Row)> = vec![
        (
            "success",
            a(AssembleInput { harvest: Some(harvest(0)), ..input() }),
            (Completed, None, Some(0)),
        ),
        (
            "harvest hiccup",
            a(AssembleInput { harvest: Some(quota), ..input() }),
            (Failed, Some(UploadQuotaExceeded), Some(0)),
        ),
        (
            "user non-zero exit",
            a(AssembleInput { harvest: Some(harvest(3)), ..input() }),
            (Failed, Some(RuntimeError), Some(3)),
        ),
        (
            "user timeout",
            a(AssembleInput { harvest: Some(harvest(124)), ..input() }),
            (Failed, Some(Timeout), Some(124)),
        ),
        (
            "backstop",
            a(AssembleInput { backstop: true, ..input() }),
            (Failed, Some(Timeout), Some(124)),
        ),
        (
            "result lost, recoverable 0",
            a(AssembleInput {
                started: Some(StartedInfo { exit_code: 0, timed_out: false }),
                ..input()
            }),
            (Failed, Some(HarvestReadFailed), Some(0)),
        ),
        ("result lost", a(input()), (Failed, Some(HarvestReadFailed), None)),
        (
            "runner OOM-killed",
            a(AssembleInput {
                runner_killed: Some(RunnerKilled {
                    exit_code: 137,
                    reason: Some("OOMKilled".into()),
                }),
                ..input()
            }),
            (Failed, Some(Oom), Some(137)),
        ),
        (
            "runner killed otherwise",
            a(AssembleInput {
                runner_killed: Some(RunnerKilled { exit_code: 143, reason: Some("Error".into()) }),
                ..input()
            }),
            (Failed, Some(RuntimeError), Some(143)),
        ),
        (
            "exit 137 with Killed in stderr",
            a(AssembleInput { harvest: Some(killed_stderr), ..input() }),
            (Failed, Some(Oom), Some(137)),
        ),
        (
            "staging failure",
            make_error(SpawnerUnavailable, "spawner staging failed: x", 10),
            (Failed, Some(SpawnerUnavailable), None),
        ),
        (
            "caller cancel",
            a(AssembleInput { aborted: true, ..input() }),
            (CancelledStatus, Some(Cancelled), None),
        ),
    ];
    for (name, response, expected) in rows {
        assert_eq!(row(&response), expected, "{name}");
    }
    // PRE_STAGE_FAILED and UPLOAD_INCOMPLETE are never produced by assembly.
}

#[test]
fn an_empty_runner_kill_reason_adds_nothing_as_in_the_typescript() {
    // `reason ? ` (${reason})` : ''` — an empty string is falsy.
    let killed = build_runner_killed(parts(), 2, Some(""));
    assert_eq!(killed.error_message.as_deref(), Some("Runner container terminated abnormally"));
}
