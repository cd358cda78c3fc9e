//! Spec §7.6 (`exec-spec.test.ts`): secret naming, `buildExecSpec`,
//! `buildExecSecret`, `parseExecSpec`.

use crate::fixture::*;
use serde_json::{Value, json};
use tale_sandbox_contract::config::ContractVariant;
use tale_sandbox_contract::error::ExecSpecError;
use tale_sandbox_contract::names::secret_name_for;
use tale_sandbox_contract::secret::*;

#[test]
fn secret_name_shape() {
    let name = secret_name_for(EXEC_ID);
    assert_eq!(name, secret_name_for(EXEC_ID));
    let hash = name.strip_prefix("tale-sbx-").unwrap().strip_suffix("-spec").unwrap();
    assert!(
        hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert!(name.len() <= 63);
}

#[test]
fn exec_spec_carries_req_token_caps_timeout() {
    let cfg = fixture_config(ContractVariant::UserAttestUlimit);
    let spec = build_exec_spec(&cfg, &fixture_request(), 45_000.0);
    assert_eq!(spec.req, fixture_request());
    assert_eq!(spec.sandbox_token.as_deref(), Some("test"));
    assert_eq!(spec.caps.stdout_max_bytes, 5_242_880);
    assert_eq!(spec.caps.output_total_max_bytes, 104_857_600);
    assert_eq!(spec.timeout_ms, 45_000.0);
    let mut no_token = cfg.clone();
    no_token.sandbox_token = None;
    let spec = build_exec_spec(&no_token, &fixture_request(), 45_000.0);
    let json: Value = serde_json::to_value(&spec).unwrap();
    assert_eq!(json["sandboxToken"], Value::Null, "null token is written as null, not omitted");
}

#[test]
fn secret_object() {
    let cfg = fixture_config(ContractVariant::UserAttestUlimit);
    let secret = build_exec_secret(&cfg, &fixture_request(), 45_000.0, NOW);
    assert_eq!(secret.metadata.name.as_deref(), Some(secret_name_for(EXEC_ID).as_str()));
    assert_eq!(secret.metadata.namespace.as_deref(), Some("tale-sandbox"));
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    let ann = secret.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann["tale.dev/execution-id"], EXEC_ID);
    assert_eq!(ann["tale.dev/started-at"], "1700000000000");
    assert_eq!(secret.metadata.labels.as_ref().unwrap()["tale.sandbox"], "1");
    let raw = &secret.string_data.as_ref().unwrap()["spec.json"];
    let parsed = parse_exec_spec(raw).unwrap();
    assert_eq!(parsed, build_exec_spec(&cfg, &fixture_request(), 45_000.0));
    assert!(secret.data.is_none(), "stringData only; the apiserver encodes");
}

/// The README's security section: the exec Secret holds one key, `spec.json`, and that holds
/// exactly the request, the sandbox token and the limits: nothing else of the configuration.
#[test]
fn the_secret_holds_only_the_spec_json_with_request_token_caps_and_timeout() {
    let cfg = fixture_config(ContractVariant::UserAttestUlimit);
    let secret = build_exec_secret(&cfg, &fixture_request(), 45_000.0, NOW);
    let data = secret.string_data.as_ref().unwrap();
    assert_eq!(data.keys().collect::<Vec<_>>(), ["spec.json"]);
    let spec: Value = serde_json::from_str(&data["spec.json"]).unwrap();
    let mut keys: Vec<_> = spec.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["caps", "req", "sandboxToken", "timeoutMs"]);
    assert_eq!(spec["sandboxToken"], "test");
    let labels_and_annotations = serde_json::to_string(&secret.metadata).unwrap();
    assert!(!labels_and_annotations.contains("\"test\""), "the token only in spec.json");
}

fn valid() -> Value {
    json!({
        "req": serde_json::to_value(fixture_request()).unwrap(),
        "sandboxToken": "t",
        "caps": {"stdoutMaxBytes": 1, "stderrMaxBytes": 1, "outputFileMaxBytes": 1, "outputTotalMaxBytes": 1},
        "timeoutMs": 45000
    })
}

fn parse(v: &Value) -> Result<ExecSpec, ExecSpecError> {
    parse_exec_spec(&v.to_string())
}

#[test]
fn parse_round_trip_and_null_token() {
    assert_eq!(parse(&valid()).unwrap().timeout_ms, 45_000.0);
    let mut v = valid();
    v["sandboxToken"] = Value::Null;
    assert_eq!(parse(&v).unwrap().sandbox_token, None);
}

#[test]
fn parse_rejections_name_the_field() {
    assert!(parse_exec_spec("nope").unwrap_err().to_string().contains("not valid JSON"));
    assert_eq!(parse_exec_spec("[1]").unwrap_err(), ExecSpecError::NotAnObject);
    let mut v = valid();
    v.as_object_mut().unwrap().remove("req");
    assert!(parse(&v).unwrap_err().to_string().contains("`req`"));
    let mut v = valid();
    v["req"].as_object_mut().unwrap().remove("executionId");
    assert!(parse(&v).unwrap_err().to_string().contains("req.executionId"));
    let mut v = valid();
    v.as_object_mut().unwrap().remove("caps");
    assert!(parse(&v).unwrap_err().to_string().contains("`caps`"));
    for bad in [Value::Null, json!(-1), json!("soon"), json!(0)] {
        let mut v = valid();
        v["timeoutMs"] = bad.clone();
        assert_eq!(parse(&v).unwrap_err(), ExecSpecError::InvalidTimeout, "{bad}");
    }
    let mut v = valid();
    v.as_object_mut().unwrap().remove("timeoutMs");
    assert!(parse(&v).unwrap_err().to_string().contains("timeoutMs"));
    for field in ["stdoutMaxBytes", "stderrMaxBytes", "outputFileMaxBytes", "outputTotalMaxBytes"] {
        let mut v = valid();
        v["caps"].as_object_mut().unwrap().remove(field);
        assert!(parse(&v).unwrap_err().to_string().contains(field), "{field} missing");
        let mut v = valid();
        v["caps"][field] = json!(0);
        assert!(parse(&v).unwrap_err().to_string().contains(field), "{field} zero");
    }
    let mut v = valid();
    v.as_object_mut().unwrap().remove("sandboxToken");
    assert!(parse(&v).unwrap_err().to_string().contains("sandboxToken"));
    let mut v = valid();
    v["sandboxToken"] = json!(5);
    assert_eq!(parse(&v).unwrap_err(), ExecSpecError::InvalidToken);
}
