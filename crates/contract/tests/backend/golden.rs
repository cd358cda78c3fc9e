//! Golden JSON (tests/golden/contract/ at the repository root), written by
//! hand from spec §4 and §3.2–§3.3: the Pod variants, the Secret and every
//! response constructor.

use std::path::PathBuf;

use crate::fixture::*;
use serde_json::Value;
use tale_sandbox_contract::config::{CacheMode, ContractVariant};
use tale_sandbox_contract::names::pvc_name_for;
use tale_sandbox_contract::pod::build_sandbox_pod;
use tale_sandbox_contract::response::*;
use tale_sandbox_contract::secret::{build_exec_secret, parse_exec_spec};
use tale_sandbox_contract::wire::*;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden/contract").join(name)
}

fn golden(name: &str) -> Value {
    let text = std::fs::read_to_string(golden_path(name)).expect("golden file exists");
    serde_json::from_str(&text).expect("golden file is JSON")
}

fn assert_json_eq(actual: &Value, expected: &Value, what: &str) {
    assert!(
        actual == expected,
        "{what} differs from golden\n--- actual\n{}\n--- expected\n{}",
        serde_json::to_string_pretty(actual).unwrap(),
        serde_json::to_string_pretty(expected).unwrap()
    );
}

#[test]
fn pod_default_variant_matches_golden() {
    let cfg = fixture_config(ContractVariant::UserAttestUlimit);
    let pod = build_sandbox_pod(&cfg, &pod_input()).unwrap();
    assert_json_eq(
        &serde_json::to_value(&pod).unwrap(),
        &golden("pod-default.json"),
        "default pod",
    );
}

#[test]
fn pod_user_variant_matches_golden() {
    let cfg = fixture_config(ContractVariant::User);
    let pod = build_sandbox_pod(&cfg, &pod_input()).unwrap();
    assert_json_eq(&serde_json::to_value(&pod).unwrap(), &golden("pod-user.json"), "/user pod");
}

#[test]
fn pod_workspace_variant_matches_golden() {
    let cfg = fixture_config(ContractVariant::Workspace);
    let pod = build_sandbox_pod(&cfg, &pod_input()).unwrap();
    assert_json_eq(
        &serde_json::to_value(&pod).unwrap(),
        &golden("pod-workspace.json"),
        "/workspace pod",
    );
}

#[test]
fn pod_pvc_mode_matches_golden() {
    let mut cfg = fixture_config(ContractVariant::UserAttestUlimit);
    cfg.k8s.cache_mode = CacheMode::Pvc;
    cfg.k8s.runtime_class_name = Some("gvisor".into());
    cfg.k8s.workspace_size_limit = "10Gi".into();
    let mut input = pod_input();
    input.cache = Some(CacheStores {
        pip: pvc_name_for(&cfg.cache_volume_prefix.pip, ORG_ID),
        npm: pvc_name_for(&cfg.cache_volume_prefix.npm, ORG_ID),
    });
    let pod = build_sandbox_pod(&cfg, &input).unwrap();
    assert_json_eq(&serde_json::to_value(&pod).unwrap(), &golden("pod-pvc.json"), "pvc pod");
}

fn secret_request() -> ExecuteRequest {
    let mut req = fixture_request();
    req.files =
        Some(vec![WorkspaceFile { path: "main.py".into(), url: "http://files/main.py".into() }]);
    req.timeout_ms = Some(45_000.0);
    req.output_upload_slots = vec![UploadSlot { url: "http://slot/0".into() }];
    req.env = Some([("FOO".to_string(), "bar".to_string())].into_iter().collect());
    req
}

#[test]
fn secret_matches_golden_including_spec_json_bytes() {
    let cfg = fixture_config(ContractVariant::UserAttestUlimit);
    let req = secret_request();
    let timeout = cfg.clamp_timeout_ms(req.timeout_ms);
    let secret = build_exec_secret(&cfg, &req, timeout, NOW);
    let expected = golden("secret.json");
    assert_json_eq(&serde_json::to_value(&secret).unwrap(), &expected, "secret");
    // The string itself (not only its parse) must match: key order of spec.json.
    let actual_spec = &secret.string_data.as_ref().unwrap()["spec.json"];
    assert_eq!(actual_spec, expected["stringData"]["spec.json"].as_str().unwrap());
    assert_eq!(serde_json::from_str::<Value>(actual_spec).unwrap(), golden("exec-spec.json"));
}

#[test]
fn golden_spec_json_is_accepted_by_parse_exec_spec() {
    let text = std::fs::read_to_string(golden_path("exec-spec.json")).unwrap();
    let spec = parse_exec_spec(&text).unwrap();
    // `secret_request` edits a parsed request, so only the typed fields compare.
    let typed = |req: ExecuteRequest| ExecuteRequest { received: None, ..req };
    assert_eq!(typed(spec.req), typed(secret_request()));
    assert_eq!(spec.timeout_ms, 45_000.0);
    assert_eq!(spec.sandbox_token.as_deref(), Some("test"));
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
            name: "report.csv".into(),
            storage_id: "st_1".into(),
            size: 12,
            content_type: "text/csv; charset=utf-8".into(),
            sha256: "ab".repeat(32),
        }],
        steps: Some(vec![StepResult {
            path: "a.py".into(),
            status: StepStatus::Completed,
            exit_code: Some(0.0),
            duration_ms: 5.0,
        }]),
        upload_stats: UploadStats { attempted: 1, succeeded: 1, failures: vec![] },
        timing: Timing { stage_ms: 1.0, execute_ms: 2.0, harvest_ms: 3.0, upload_ms: 4.0 },
        prior_stage: Some(PriorStage::default()),
    }
}

#[test]
fn every_constructor_matches_golden_bytes() {
    let text = std::fs::read_to_string(golden_path("responses.txt")).unwrap();
    let user = ContractVariant::User;
    let upload_failed = HarvestFlags { upload_failed: true, ..Default::default() };
    let read_failed = HarvestFlags { read_failed: true, ..Default::default() };
    let mut seen = 0;
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (name, expected) = line.split_once(' ').unwrap();
        let actual = match name {
            "cancelled" => build_cancelled(parts()),
            "completed" => build_completed(parts(), None),
            "completed-upload-failed" => {
                build_completed(parts(), classify_harvest_error(upload_failed, user))
            }
            "completed-read-failed" => {
                build_completed(parts(), classify_harvest_error(read_failed, user))
            }
            "runtime-failure-3" => build_runtime_failure(parts(), 3, "", None),
            "backstop" => build_timeout_backstop(parts(), Some("harvest container never reported")),
            "backstop-no-detail" => build_timeout_backstop(parts(), None),
            "harvest-missing-null" => build_harvest_missing(parts(), None, user),
            "harvest-missing-0" => build_harvest_missing(parts(), Some(0), user),
            "harvest-missing-workspace" => {
                build_harvest_missing(parts(), None, ContractVariant::Workspace)
            }
            "runner-killed-oom" => build_runner_killed(parts(), 9, Some("OOMKilled")),
            "runner-killed-error" => build_runner_killed(parts(), 2, Some("Error")),
            "runner-killed-no-reason" => build_runner_killed(parts(), 143, None),
            "infra-failure" => build_infra_failure(parts(), "k8s API unreachable"),
            "make-error" => make_error(ErrorCode::SpawnerUnavailable, "invalid language", 0),
            "completed-without-steps" => {
                build_completed(ResponseParts { steps: None, prior_stage: None, ..parts() }, None)
            }
            other => panic!("golden row {other} has no constructor in this test"),
        };
        assert_eq!(serde_json::to_string(&actual).unwrap(), expected, "response {name}");
        // And the JSON reads back into the same value.
        assert_eq!(serde_json::from_str::<ExecuteResponse>(expected).unwrap(), actual, "{name}");
        seen += 1;
    }
    assert_eq!(seen, 16, "every golden row was checked");
}

#[test]
fn cache_pvc_matches_golden_and_omits_storage_class_when_unset() {
    use tale_sandbox_contract::pod::{build_cache_pvc, cache_stores_for};
    let mut cfg = fixture_config(ContractVariant::UserAttestUlimit);
    cfg.k8s.cache_storage_class = Some("fast-rwx".into());
    let stores = cache_stores_for(&cfg, ORG_ID);
    let pvc = build_cache_pvc(&cfg, &stores.pip);
    assert_json_eq(&serde_json::to_value(&pvc).unwrap(), &golden("pvc.json"), "cache pvc");
    cfg.k8s.cache_storage_class = None;
    let json = serde_json::to_value(build_cache_pvc(&cfg, &stores.npm)).unwrap();
    assert!(json["spec"].get("storageClassName").is_none());
    assert_eq!(json["metadata"]["name"], "tale-sandbox-npm-cache-485789cc4c764d82");
}

#[test]
fn assembled_responses_match_golden_bytes() {
    use tale_sandbox_contract::protocol::parse_result_line;
    let cfg = fixture_config(ContractVariant::UserAttestUlimit);
    let base = || AssembleInput { started_at_ms: NOW, now_ms: NOW + 1_000, ..Default::default() };
    let clean = parse_result_line(
        r#"__TALE_RESULT__ {"exitCode":0,"stderr":"","stderrTruncated":false,"outputFiles":[],"truncatedFiles":0,"uploadStats":{"attempted":0,"succeeded":0,"failures":[]},"quotaExhausted":false,"uploadFailed":false,"reportFailed":false,"readFailed":false,"stageMs":10,"harvestMs":10,"uploadMs":5}"#,
    )
    .unwrap();
    let upload_failed = parse_result_line(
        "noise\n__TALE_RESULT__ {\"exitCode\":0,\"stderr\":\"\\u001b[33mwarn\\u001b[0m\\r\\n\",\"stderrTruncated\":false,\"outputFiles\":[],\"truncatedFiles\":0,\"uploadStats\":{\"attempted\":1,\"succeeded\":0,\"failures\":[{\"slotIndex\":0,\"fileName\":\"out.bin\",\"httpStatus\":500,\"errorSnippet\":\"boom\"}]},\"quotaExhausted\":false,\"uploadFailed\":true,\"reportFailed\":false,\"readFailed\":false,\"stageMs\":3,\"harvestMs\":20,\"uploadMs\":15,\"steps\":[{\"path\":\"a.py\",\"status\":\"completed\",\"exitCode\":0,\"durationMs\":7}]}\n",
    )
    .unwrap();
    let lenient = parse_result_line(LENIENT_LINE).unwrap();
    let text = std::fs::read_to_string(golden_path("assembled.txt")).unwrap();
    let mut seen = 0;
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (name, expected) = line.split_once(' ').unwrap();
        let (input, options) = match name {
            "t1-rotation-clean" => (
                AssembleInput {
                    stdout: "AAAAA".into(),
                    stdout_stream_truncated: true,
                    harvest: clean.clone(),
                    ..base()
                },
                AssembleOptions::default(),
            ),
            "t1-rotation-clean-compatible-timing" => (
                AssembleInput {
                    stdout: "AAAAA".into(),
                    stdout_stream_truncated: true,
                    harvest: clean.clone(),
                    ..base()
                },
                AssembleOptions { execute_ms: ExecuteMsRule::Compatible },
            ),
            "upload-failed-with-steps" => (
                AssembleInput {
                    stdout:
                        "PHASE: installing\nCollecting x\nPHASE: running\nhi\x1b[1m!\x1b[0m\r\n"
                            .into(),
                    harvest: upload_failed.clone(),
                    request_steps: Some(vec!["a.py".into()]),
                    ..base()
                },
                AssembleOptions::default(),
            ),
            "cancelled-steps-no-result" => (
                AssembleInput {
                    aborted: true,
                    stdout: "partial".into(),
                    request_steps: Some(vec!["a.py".into(), "b.py".into()]),
                    ..base()
                },
                AssembleOptions::default(),
            ),
            "lenient-harvest-values" => (
                AssembleInput {
                    harvest: lenient.clone(),
                    request_steps: Some(vec!["a.py".into(), "b.py".into()]),
                    ..base()
                },
                AssembleOptions::default(),
            ),
            other => panic!("golden row {other} has no input in this test"),
        };
        let actual = assemble(&cfg, input, options);
        assert_eq!(serde_json::to_string(&actual).unwrap(), expected, "assembled {name}");
        seen += 1;
    }
    assert_eq!(seen, 5);
}

/// A result line `JSON.parse` and `assemble`'s `??` defaults accept although
/// it is not the harvest's usual shape (golden row `lenient-harvest-values`).
const LENIENT_LINE: &str = r#"__TALE_RESULT__ {"exitCode":0,"stderr":"half \ud83d","stderrTruncated":null,"outputFiles":null,"truncatedFiles":null,"uploadStats":{"attempted":1,"succeeded":1,"failures":[{"slotIndex":0,"fileName":"o.txt","httpStatus":200,"errorSnippet":"EP2: slow"}]},"quotaExhausted":null,"uploadFailed":0,"reportFailed":"","readFailed":null,"stageMs":1.5,"harvestMs":20.25,"uploadMs":null,"executeMs":null,"steps":[{"path":"a.py","status":"failed","exitCode":1.5,"durationMs":12.75},{"path":"b.py","status":"completed","exitCode":3.0,"durationMs":4e1}]}"#;

#[test]
fn secret_carries_the_request_verbatim() {
    let cfg = fixture_config(ContractVariant::UserAttestUlimit);
    let body = std::fs::read_to_string(golden_path("request-verbatim.json")).unwrap();
    let req = ExecuteRequest::from_json(&body).unwrap();
    assert_eq!(req.timeout_ms, Some(30_000.0));
    let timeout = cfg.clamp_timeout_ms(req.timeout_ms);
    let secret = build_exec_secret(&cfg, &req, timeout, NOW);
    let expected = std::fs::read_to_string(golden_path("spec-verbatim.json")).unwrap();
    assert_eq!(secret.string_data.as_ref().unwrap()["spec.json"], expected.trim_end());
    // The in-pod reader accepts it and sees the same request.
    let spec = parse_exec_spec(expected.trim_end()).unwrap();
    assert_eq!(spec.req, req);
    assert_eq!(spec.to_json(), expected.trim_end());
}
