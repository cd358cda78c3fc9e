//! Spec §7.2 (`k8s-protocol.test.ts`) and the `fatal` placeholder rule.

use tale_sandbox_contract::protocol::*;
use tale_sandbox_contract::wire::*;

fn full_result() -> HarvestResult {
    HarvestResult {
        fatal: false,
        exit_code: 3,
        stderr: "line one\nline two\n".into(),
        stderr_truncated: true,
        output_files: vec![OutputFile {
            name: "out.txt".into(),
            storage_id: "s1".into(),
            size: 3,
            content_type: "text/plain; charset=utf-8".into(),
            sha256: "00".repeat(32),
        }],
        truncated_files: 1,
        upload_stats: UploadStats {
            attempted: 2,
            succeeded: 1,
            failures: vec![UploadFailure {
                slot_index: -1,
                file_name: "(slot-request)".into(),
                http_status: Some(503),
                error_snippet: Some("busy".into()),
            }],
        },
        quota_exhausted: false,
        upload_failed: true,
        report_failed: false,
        read_failed: false,
        stage_ms: 10.0,
        harvest_ms: 20.0,
        upload_ms: 15.0,
        execute_ms: Some(99.0),
        steps: Some(vec![StepResult {
            path: "a.py".into(),
            status: StepStatus::Failed,
            exit_code: Some(3.0),
            duration_ms: 7.0,
        }]),
        prior_stage: Some(PriorStage {
            staged: vec![PriorStagedFile {
                name: "in.csv".into(),
                bytes: 4,
                sha256: "11".repeat(32),
            }],
            skipped: vec![PriorSkippedFile {
                name: "gone.csv".into(),
                reason: PriorStageSkipReason::UrlExpired,
                detail: "HTTP 403".into(),
            }],
        }),
    }
}

#[test]
fn full_result_round_trips_on_one_line() {
    let line = format_result_line(&full_result());
    assert!(line.starts_with("__TALE_RESULT__ "));
    assert!(!line.contains('\n'), "newlines inside stderr are escaped");
    assert_eq!(parse_result_line(&format!("{line}\n")).unwrap(), Some(full_result()));
}

#[test]
fn result_found_among_other_lines() {
    let logs = format!("noise\n{}\nmore noise\n", format_result_line(&full_result()));
    assert_eq!(parse_result_line(&logs).unwrap().unwrap().exit_code, 3);
}

#[test]
fn last_result_line_wins() {
    let first = HarvestResult { exit_code: 1, ..Default::default() };
    let second = HarvestResult { exit_code: 2, ..Default::default() };
    let logs = format!("{}\n{}\n", format_result_line(&first), format_result_line(&second));
    assert_eq!(parse_result_line(&logs).unwrap().unwrap().exit_code, 2);
}

#[test]
fn no_marker_or_empty_is_none() {
    assert_eq!(parse_result_line("just output\n").unwrap(), None);
    assert_eq!(parse_result_line("").unwrap(), None);
}

#[test]
fn malformed_result_is_an_error_not_a_result() {
    let err = parse_result_line("__TALE_RESULT__ {not valid json").unwrap_err();
    assert_eq!(err.marker, "__TALE_RESULT__");
    // The last marker line decides; an earlier good line is not used (TS returns null).
    let good = format_result_line(&HarvestResult::default());
    assert!(parse_result_line(&format!("{good}\n__TALE_RESULT__ {{oops\n")).is_err());
}

#[test]
fn large_stderr_round_trips() {
    let result = HarvestResult { stderr: "x".repeat(200_000), ..Default::default() };
    let parsed = parse_result_line(&format_result_line(&result)).unwrap().unwrap();
    assert_eq!(parsed.stderr.len(), 200_000);
}

#[test]
fn started_line_round_trips() {
    let info = StartedInfo { exit_code: 7, timed_out: false };
    let line = format_started_line(&info);
    assert_eq!(line, r#"__TALE_HARVEST_STARTED__ {"exitCode":7,"timedOut":false}"#);
    assert_eq!(parse_started_line(&format!("{line}\n")).unwrap(), Some(info));
}

#[test]
fn started_and_result_in_one_log_are_both_found() {
    let logs = format!(
        "{}\nsome noise\n{}\n",
        format_started_line(&StartedInfo { exit_code: 4, timed_out: true }),
        format_result_line(&HarvestResult { exit_code: 4, ..Default::default() })
    );
    assert_eq!(
        parse_started_line(&logs).unwrap(),
        Some(StartedInfo { exit_code: 4, timed_out: true })
    );
    assert_eq!(parse_result_line(&logs).unwrap().unwrap().exit_code, 4);
}

#[test]
fn started_absent_or_broken() {
    assert_eq!(parse_started_line("nothing here").unwrap(), None);
    assert!(parse_started_line("__TALE_HARVEST_STARTED__ {broken").is_err());
}

#[test]
fn marker_in_mid_line_does_not_count() {
    assert_eq!(
        parse_started_line(r#"echoed __TALE_HARVEST_STARTED__ {"exitCode":9}"#).unwrap(),
        None
    );
    assert_eq!(parse_result_line(r#"x __TALE_RESULT__ {"exitCode":9}"#).unwrap(), None);
}

#[test]
fn fatal_fallback_line_parses_as_placeholder() {
    // The exact JSON the harvest prints on its fatal path (spec §5.2).
    let line = r#"__TALE_RESULT__ {"fatal":true,"exitCode":1,"stderr":"","stderrTruncated":false,"outputFiles":[],"truncatedFiles":0,"uploadStats":{"attempted":0,"succeeded":0,"failures":[]},"quotaExhausted":false,"uploadFailed":false,"reportFailed":false,"readFailed":true,"stageMs":0,"harvestMs":0,"uploadMs":0}"#;
    let parsed = parse_result_line(line).unwrap().unwrap();
    assert_eq!(parsed, HarvestResult::fatal_fallback());
    assert_eq!(format_result_line(&parsed), line, "fatal key first, optional keys omitted");
}

#[test]
fn trailing_carriage_return_and_bom_are_trimmed_like_js() {
    let parsed = parse_started_line(
        "__TALE_HARVEST_STARTED__ \u{feff}{\"exitCode\":0,\"timedOut\":false}\r\n",
    );
    assert_eq!(parsed.unwrap(), Some(StartedInfo { exit_code: 0, timed_out: false }));
}

#[test]
fn integral_floats_are_accepted_but_fractional_exit_codes_rejected() {
    let ok =
        parse_result_line(r#"__TALE_RESULT__ {"exitCode":2.0,"stageMs":10.0}"#).unwrap().unwrap();
    assert_eq!((ok.exit_code, ok.stage_ms), (2, 10.0));
    assert!(parse_result_line(r#"__TALE_RESULT__ {"exitCode":2.5}"#).is_err());
    assert!(parse_result_line(r#"__TALE_RESULT__ {"stderr":"no exit code"}"#).is_err());
}

#[test]
fn phase_lines_are_exact() {
    assert_eq!(phase_of_line("PHASE: installing"), Some(Phase::Installing));
    assert_eq!(phase_of_line("PHASE: running"), Some(Phase::Running));
    assert_eq!(phase_of_line("PHASE: running\r"), None);
    assert_eq!(phase_of_line(" PHASE: running"), None);
}

#[test]
fn synthesized_steps_are_all_skipped_in_order() {
    let steps = synthesize_step_results(&["b.py".to_string(), "a.js".to_string()]);
    let json = serde_json::to_string(&steps).unwrap();
    assert_eq!(
        json,
        r#"[{"path":"b.py","status":"skipped","exitCode":null,"durationMs":0},{"path":"a.js","status":"skipped","exitCode":null,"durationMs":0}]"#
    );
}

#[test]
fn unknown_skip_reason_and_missing_http_status_do_not_lose_the_result() {
    let line = r#"__TALE_RESULT__ {"exitCode":0,"uploadStats":{"attempted":1,"succeeded":0,"failures":[{"slotIndex":-1,"fileName":"(slot-request)"}]},"priorStage":{"staged":[],"skipped":[{"name":"a","reason":"brand_new_reason","detail":"d"}]}}"#;
    let parsed = parse_result_line(line).unwrap().unwrap();
    let failure = &parsed.upload_stats.failures[0];
    assert_eq!((failure.http_status, failure.error_snippet.as_deref()), (None, None));
    let reason = &parsed.prior_stage.as_ref().unwrap().skipped[0].reason;
    assert_eq!(reason, &PriorStageSkipReason::Other("brand_new_reason".into()));
    let again = format_result_line(&parsed);
    assert!(again.contains(r#""reason":"brand_new_reason""#) && !again.contains("httpStatus"));
    assert_eq!(
        serde_json::to_string(&PriorStageSkipReason::DownloadTooLarge).unwrap(),
        r#""download_too_large""#
    );
}
