//! Input the TypeScript's `JSON.parse` and `??` defaults accept is accepted
//! here too, field by field (result and started lines, `ExecuteRequest`,
//! `spec.json`), and what it would still reject stays a typed error.

use crate::fixture::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tale_sandbox_contract::config::{ContractVariant, SpawnerConfig};
use tale_sandbox_contract::error::RequestError;
use tale_sandbox_contract::exec_spec::{build_exec_spec, parse_exec_spec};
use tale_sandbox_contract::protocol::{parse_result_line, parse_started_line};
use tale_sandbox_contract::response::{AssembleInput, AssembleOptions, ExecuteMsRule, assemble};
use tale_sandbox_contract::wire::*;

fn result(payload: &str) -> HarvestResult {
    parse_result_line(&format!("__TALE_RESULT__ {payload}"))
        .unwrap_or_else(|e| panic!("{payload}: {e}"))
        .expect("a result line")
}

fn assembled(harvest: HarvestResult, steps: Option<Vec<String>>) -> ExecuteResponse {
    assemble(
        &fixture_config(ContractVariant::UserAttestUlimit),
        AssembleInput {
            started_at_ms: NOW,
            now_ms: NOW + 1_000,
            harvest: Some(harvest),
            request_steps: steps,
            ..Default::default()
        },
        AssembleOptions::default(),
    )
}

const BASE: &str = r#""executionId":"e1","organizationId":"o1","language":"python","entryPath":"m.py","outputUploadSlots":[],"outputUrlEndpoint":"a","reportUploadedEndpoint":"b""#;

fn request(extra: &str) -> Result<ExecuteRequest, RequestError> {
    ExecuteRequest::from_json(&format!("{{{BASE}{extra}}}"))
}

// --- lone surrogates -------------------------------------------------------

#[test]
fn lone_surrogate_in_stderr_becomes_replacement_bytes_in_stderr_base64() {
    let h = result(r#"{"exitCode":0,"stderr":"warn \ud83d!"}"#);
    assert_eq!(h.stderr, "warn \u{FFFD}!");
    let r = assembled(h, None);
    assert_eq!(r.status, ExecutionStatus::Completed);
    assert_eq!(r.error_code, None);
    // Buffer.from('warn \ud83d!', 'utf8'): the lone surrogate is EF BF BD.
    assert_eq!(BASE64.decode(&r.stderr_base64).unwrap(), b"warn \xEF\xBF\xBD!");
}

#[test]
fn lone_low_surrogate_and_broken_pair_read_as_replacement() {
    let h = result(r#"{"exitCode":1,"stderr":"a\udc00b\ud83d\u0041\ud83d\ude00"}"#);
    assert_eq!(h.stderr, "a\u{FFFD}b\u{FFFD}A😀");
    let r = assembled(h, None);
    assert_eq!(
        (r.status, r.exit_code, r.error_code),
        (ExecutionStatus::Failed, Some(1), Some(ErrorCode::RuntimeError))
    );
}

#[test]
fn cut_error_snippet_does_not_lose_the_result() {
    let h = result(
        r#"{"exitCode":0,"uploadStats":{"attempted":1,"succeeded":0,"failures":[{"slotIndex":0,"fileName":"o.txt","httpStatus":502,"errorSnippet":"<html>\ud83d"}]},"uploadFailed":true}"#,
    );
    let r = assembled(h, None);
    assert_eq!(r.error_code, Some(ErrorCode::UploadFailed));
    let failure = &r.upload_stats.as_ref().unwrap().failures[0];
    assert_eq!(failure.error_snippet.as_deref(), Some("<html>\u{FFFD}"));
}

#[test]
fn started_line_with_lone_surrogate_elsewhere_still_parses() {
    let started = parse_started_line(
        r#"__TALE_HARVEST_STARTED__ {"exitCode":3,"timedOut":null,"note":"\udfff"}"#,
    )
    .unwrap()
    .unwrap();
    assert_eq!(started, StartedInfo { exit_code: 3, timed_out: false });
}

// --- numbers the TypeScript passes through ---------------------------------

#[test]
fn fractional_step_exit_code_and_duration_pass_through_unchanged() {
    let h = result(
        r#"{"exitCode":0,"steps":[{"path":"a.py","status":"failed","exitCode":1.5,"durationMs":12.75},{"path":"b.py","status":"completed","exitCode":-3,"durationMs":1e3},{"path":"c.py","status":"skipped","exitCode":null,"durationMs":0}]}"#,
    );
    let r = assembled(h, Some(vec!["a.py".into(), "b.py".into(), "c.py".into()]));
    assert_eq!(r.status, ExecutionStatus::Completed);
    let json = serde_json::to_string(&r.steps).unwrap();
    assert_eq!(
        json,
        r#"[{"path":"a.py","status":"failed","exitCode":1.5,"durationMs":12.75},{"path":"b.py","status":"completed","exitCode":-3,"durationMs":1000},{"path":"c.py","status":"skipped","exitCode":null,"durationMs":0}]"#
    );
}

#[test]
fn fractional_timing_is_kept_and_execute_ms_computed_in_doubles() {
    let h = result(r#"{"exitCode":0,"stageMs":1.5,"harvestMs":20.25,"uploadMs":0.5}"#);
    let timing = |rule| {
        let r = assemble(
            &fixture_config(ContractVariant::UserAttestUlimit),
            AssembleInput {
                started_at_ms: NOW,
                now_ms: NOW + 1_000,
                harvest: Some(h.clone()),
                ..Default::default()
            },
            AssembleOptions { execute_ms: rule },
        );
        serde_json::to_string(&r.timing).unwrap()
    };
    assert_eq!(
        timing(ExecuteMsRule::Compatible),
        r#"{"stageMs":1.5,"executeMs":979.25,"harvestMs":20.25,"uploadMs":0.5}"#
    );
    assert_eq!(
        timing(ExecuteMsRule::Corrected),
        r#"{"stageMs":1.5,"executeMs":979.75,"harvestMs":20.25,"uploadMs":0.5}"#
    );
}

#[test]
fn infinite_harvest_time_serializes_as_null_like_json_stringify() {
    // JSON.parse('1e400') is Infinity; JSON.stringify writes it as null and
    // Math.max(0, 1000 - Infinity) is 0.
    let h = result(r#"{"exitCode":0,"harvestMs":1e400}"#);
    let r = assemble(
        &fixture_config(ContractVariant::UserAttestUlimit),
        AssembleInput {
            started_at_ms: NOW,
            now_ms: NOW + 1_000,
            harvest: Some(h),
            ..Default::default()
        },
        AssembleOptions { execute_ms: ExecuteMsRule::Compatible },
    );
    assert_eq!(
        serde_json::to_string(&r.timing).unwrap(),
        r#"{"stageMs":0,"executeMs":0,"harvestMs":null,"uploadMs":0}"#
    );
}

// --- null for a field with a `??` default ----------------------------------

#[test]
fn null_in_every_defaulted_field_reads_as_absent() {
    let h = result(
        r#"{"exitCode":0,"fatal":null,"stderr":null,"stderrTruncated":null,"outputFiles":null,"truncatedFiles":null,"uploadStats":null,"quotaExhausted":null,"uploadFailed":null,"reportFailed":null,"readFailed":null,"stageMs":null,"harvestMs":null,"uploadMs":null,"executeMs":null,"steps":null,"priorStage":null}"#,
    );
    assert_eq!(h, HarvestResult { exit_code: 0, ..Default::default() });
    // `h.steps ?? synthesizeStepResults(req.steps)`.
    let r = assembled(h, Some(vec!["a.py".into()]));
    assert_eq!(r.status, ExecutionStatus::Completed);
    assert_eq!(r.steps.unwrap()[0].status, StepStatus::Skipped);
}

#[test]
fn flags_read_for_truthiness_take_any_json_value() {
    let code =
        |flags: &str| assembled(result(&format!(r#"{{"exitCode":0,{flags}}}"#)), None).error_code;
    assert_eq!(code(r#""readFailed":1"#), Some(ErrorCode::HarvestReadFailed));
    assert_eq!(code(r#""quotaExhausted":"yes""#), Some(ErrorCode::UploadQuotaExceeded));
    assert_eq!(code(r#""uploadFailed":{}"#), Some(ErrorCode::UploadFailed));
    assert_eq!(code(r#""uploadFailed":0,"reportFailed":"","readFailed":false"#), None);
    // `fatal: 0` is falsy: the exit code is real.
    let h = result(r#"{"fatal":0,"exitCode":2}"#);
    assert!(!h.fatal);
    assert_eq!(assembled(h, None).exit_code, Some(2));
}

// --- what the TypeScript would also choke on stays an error ----------------

#[test]
fn result_lines_without_a_usable_exit_code_or_text_are_still_rejected() {
    for payload in [
        "{}",
        r#"{"exitCode":null}"#,
        r#"{"exitCode":"0"}"#,
        r#"{"exitCode":1.5}"#,
        // stripControlChars(5) throws in the TypeScript.
        r#"{"exitCode":0,"stderr":5}"#,
        r#"{"exitCode":0,"steps":[{"path":"a.py","status":"weird","exitCode":0,"durationMs":1}]}"#,
        r#"{"exitCode":0,} "#,
        r#"{"exitCode":0,"stderr":"\x"}"#,
    ] {
        assert!(parse_result_line(&format!("__TALE_RESULT__ {payload}")).is_err(), "{payload}");
    }
}

// --- ExecuteRequest --------------------------------------------------------

#[test]
fn timeout_ms_accepts_any_json_number_and_clamps_like_math_min_max() {
    let cfg = SpawnerConfig::default();
    let clamped = |t: &str| {
        let req = request(&format!(r#","timeoutMs":{t}"#)).unwrap_or_else(|e| panic!("{t}: {e}"));
        cfg.clamp_timeout_ms(req.timeout_ms)
    };
    assert_eq!(clamped("30000.0"), 30_000.0);
    assert_eq!(clamped("3e4"), 30_000.0);
    assert_eq!(clamped("3E+4"), 30_000.0);
    assert_eq!(clamped("1500.5"), 1_500.5);
    assert_eq!(clamped("-5"), 1_000.0);
    assert_eq!(clamped("-0"), 1_000.0);
    assert_eq!(clamped("1e400"), 300_000.0, "Infinity clamps to max");
    assert_eq!(clamped("-1e400"), 1_000.0);
    assert_eq!(clamped("null"), 30_000.0, "null ?? default");
    assert_eq!(cfg.clamp_timeout_ms(Some(f64::NAN)).to_string(), "NaN");
}

#[test]
fn fractional_timeout_reaches_spec_json_as_javascript_writes_it() {
    let cfg = fixture_config(ContractVariant::UserAttestUlimit);
    let req = request(r#","timeoutMs":1500.5"#).unwrap();
    let spec = build_exec_spec(&cfg, &req, cfg.clamp_timeout_ms(req.timeout_ms));
    let json = spec.to_json();
    assert!(json.ends_with(r#""timeoutMs":1500.5}"#), "{json}");
    assert!(json.contains(r#""timeoutMs":1500.5},"sandboxToken""#), "req keeps it too: {json}");
    let back = parse_exec_spec(&json).unwrap();
    assert_eq!(back.timeout_ms, 1_500.5);
    assert_eq!(back.to_json(), json);
}

#[test]
fn nested_unknown_keys_and_received_order_reach_spec_json() {
    let cfg = fixture_config(ContractVariant::UserAttestUlimit);
    let body = r#"{"reportUploadedEndpoint":"b","language":"node","executionId":"e1","organizationId":"o1","entryPath":"m.js","files":[{"url":"u","path":"p","mode":420,"x":{"deep":[true,null]}}],"outputUploadSlots":[{"url":"s","id":7}],"outputUrlEndpoint":"a","packagesByLang":{"node":["x"],"ruby":["y"]}}"#;
    let req = ExecuteRequest::from_json(body).unwrap();
    assert_eq!(req.files.as_ref().unwrap()[0].path, "p");
    let json = build_exec_spec(&cfg, &req, 30_000.0).to_json();
    let expected_req = body;
    assert!(
        json.starts_with(&format!(r#"{{"req":{expected_req},"sandboxToken":"test","#)),
        "{json}"
    );
}

#[test]
fn request_strings_keep_their_lone_surrogates_in_spec_json() {
    let req = request(r#","note":"\ud83d""#).unwrap();
    assert_eq!(req.extra["note"], "\u{FFFD}");
    let json = build_exec_spec(&fixture_config(ContractVariant::User), &req, 30_000.0).to_json();
    assert!(json.contains(r#""note":"\ud83d""#), "{json}");
}

#[test]
fn duplicate_request_keys_keep_the_last_value_at_the_first_position() {
    let req = ExecuteRequest::from_json(
        r#"{"executionId":"x","organizationId":"o1","language":"ruby","language":"python","entryPath":"m.py","outputUploadSlots":[],"outputUrlEndpoint":"a","reportUploadedEndpoint":"b","executionId":"e1"}"#,
    )
    .unwrap();
    assert_eq!((req.execution_id.as_str(), req.language), ("e1", Language::Python));
    assert_eq!(
        req.verbatim().to_json(),
        r#"{"executionId":"e1","organizationId":"o1","language":"python","entryPath":"m.py","outputUploadSlots":[],"outputUrlEndpoint":"a","reportUploadedEndpoint":"b"}"#
    );
}

#[test]
fn edited_typed_fields_win_over_the_received_body() {
    let mut req = request(r#","future":{"a":1}"#).unwrap();
    assert!(req.verbatim().to_json().contains(r#""future":{"a":1}"#));
    req.entry_path = Some("other.py".into());
    let json = req.verbatim().to_json();
    assert!(json.contains(r#""entryPath":"other.py""#), "{json}");
    assert!(json.contains(r#""future":{"a":1}"#), "top-level extras stay");
}

#[test]
fn request_input_the_typescript_cannot_use_is_still_rejected() {
    for extra in [
        r#","timeoutMs":"30000""#,
        r#","timeoutMs":true"#,
        r#","files":[{"path":1,"url":"u"}]"#,
        r#","env":{"A":1}"#,
    ] {
        assert!(matches!(request(extra), Err(RequestError::Malformed(_))), "{extra}");
    }
    assert!(matches!(
        ExecuteRequest::from_json(r#"{"executionId":"e1",}"#),
        Err(RequestError::Malformed(_))
    ));
}
