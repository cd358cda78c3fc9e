//! `SpawnerConfig` env parsing (`numEnv`, spec §3.4) and request/response
//! wire validation (spec §3.1–§3.2, §3.7).

use std::collections::HashMap;

use tale_sandbox_contract::config::*;
use tale_sandbox_contract::error::{ConfigError, RequestError};
use tale_sandbox_contract::wire::*;

fn from(vars: &[(&str, &str)]) -> Result<SpawnerConfig, ConfigError> {
    let map: HashMap<String, String> =
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    SpawnerConfig::from_env(|name| map.get(name).cloned())
}

#[test]
fn defaults_are_the_execute_era_defaults() {
    let cfg = from(&[]).unwrap();
    assert_eq!(cfg, SpawnerConfig::default());
    assert_eq!((cfg.default_timeout_ms, cfg.max_timeout_ms), (30_000, 300_000));
    assert_eq!((cfg.stdout_max_bytes, cfg.output_total_max_bytes), (5_242_880, 104_857_600));
    assert_eq!(cfg.k8s.namespace, "tale-sandbox");
    assert_eq!(cfg.k8s.runtime_class_name, None);
    assert_eq!(cfg.sandbox_token, None);
    assert_eq!(cfg.variant, ContractVariant::UserAttestUlimit);
}

#[test]
fn num_env_rules() {
    assert_eq!(
        from(&[("SANDBOX_MAX_TIMEOUT_MS", "  ")]).unwrap().max_timeout_ms,
        300_000,
        "blank = unset"
    );
    assert_eq!(from(&[("SANDBOX_MAX_TIMEOUT_MS", " 600000 ")]).unwrap().max_timeout_ms, 600_000);
    assert_eq!(from(&[("SANDBOX_MAX_TIMEOUT_MS", "6e5")]).unwrap().max_timeout_ms, 600_000);
    assert_eq!(from(&[("SANDBOX_MAX_TIMEOUT_MS", "0x10")]).unwrap().max_timeout_ms, 16);
    assert_eq!(
        from(&[("SANDBOX_MAX_TIMEOUT_MS", "soon")]).unwrap_err().to_string(),
        r#"Env var SANDBOX_MAX_TIMEOUT_MS is not a finite number: "soon""#
    );
    assert!(matches!(
        from(&[("SANDBOX_MAX_TIMEOUT_MS", "Infinity")]),
        Err(ConfigError::NotANumber { .. })
    ));
    assert!(matches!(
        from(&[("SANDBOX_MAX_TIMEOUT_MS", "inf")]),
        Err(ConfigError::NotANumber { .. })
    ));
    assert_eq!(
        from(&[("SANDBOX_STDOUT_MAX_BYTES", "1023")]).unwrap_err().to_string(),
        "Env var SANDBOX_STDOUT_MAX_BYTES must be >= 1024; got: 1023"
    );
    assert!(matches!(
        from(&[("SANDBOX_DEFAULT_TIMEOUT_MS", "0")]),
        Err(ConfigError::TooSmall { min: 1, .. })
    ));
    assert!(matches!(
        from(&[("SANDBOX_DEFAULT_TIMEOUT_MS", "-5")]),
        Err(ConfigError::TooSmall { .. })
    ));
    assert!(matches!(
        from(&[("SANDBOX_DEFAULT_TIMEOUT_MS", "1500.5")]),
        Err(ConfigError::NotAnInteger { .. })
    ));
    assert!(matches!(
        from(&[("SANDBOX_DEFAULT_TIMEOUT_MS", "1e300")]),
        Err(ConfigError::TooLarge { .. })
    ));
    assert_eq!(
        num_env("X", Some("65536"), 1, 1, Some(65535)),
        Err(ConfigError::TooLarge { name: "X", max: 65535, value: "65536".into() })
    );
}

#[test]
fn enum_values_and_runtime_class() {
    assert_eq!(from(&[("SANDBOX_CACHE", "pvc")]).unwrap().k8s.cache_mode, CacheMode::Pvc);
    assert!(matches!(from(&[("SANDBOX_CACHE", "disk")]), Err(ConfigError::UnknownValue { .. })));
    assert_eq!(
        from(&[("SANDBOX_RUNTIME", "runsc")]).unwrap().k8s.runtime_class_name.as_deref(),
        Some("gvisor")
    );
    assert_eq!(
        from(&[("SANDBOX_RUNTIME", "sysbox")]).unwrap().k8s.runtime_class_name.as_deref(),
        Some("sysbox-runc")
    );
    let kata =
        from(&[("SANDBOX_RUNTIME", "kata"), ("SANDBOX_RUNTIME_CLASS", "kata-qemu")]).unwrap();
    assert_eq!(kata.k8s.runtime_class_name.as_deref(), Some("kata-qemu"));
    let runc =
        from(&[("SANDBOX_RUNTIME", "runc"), ("SANDBOX_RUNTIME_CLASS", "kata-qemu")]).unwrap();
    assert_eq!(runc.k8s.runtime_class_name, None, "never conjured for runc");
    assert!(matches!(from(&[("SANDBOX_RUNTIME", "bogus")]), Err(ConfigError::UnknownValue { .. })));
    assert_eq!(from(&[("SANDBOX_TOKEN", "")]).unwrap().sandbox_token, None);
    assert_eq!(from(&[("SANDBOX_TOKEN", "s3")]).unwrap().sandbox_token.as_deref(), Some("s3"));
    assert_eq!(
        from(&[("TALE_SANDBOX_CONTRACT_VARIANT", "workspace")]).unwrap().variant,
        ContractVariant::Workspace
    );
    assert_eq!(
        from(&[("SANDBOX_K8S_CACHE_STORAGECLASS", "")]).unwrap().k8s.cache_storage_class,
        None
    );
}

#[test]
fn timeout_clamp() {
    let cfg = SpawnerConfig::default();
    assert_eq!(cfg.clamp_timeout_ms(None), 30_000.0);
    assert_eq!(cfg.clamp_timeout_ms(Some(10.0)), 1_000.0);
    assert_eq!(cfg.clamp_timeout_ms(Some(45_000.0)), 45_000.0);
    assert_eq!(cfg.clamp_timeout_ms(Some(10_000_000.0)), 300_000.0);
    let tiny = SpawnerConfig { max_timeout_ms: 500, ..SpawnerConfig::default() };
    assert_eq!(
        tiny.clamp_timeout_ms(Some(10.0)),
        500.0,
        "max wins over the 1000 floor, as Math.min(Math.max(..))"
    );
}

const BASE: &str = r#""executionId":"e1","organizationId":"o1","outputUploadSlots":[],"outputUrlEndpoint":"a","reportUploadedEndpoint":"b""#;

#[test]
fn request_rejects_bad_input_with_typed_errors() {
    assert!(ExecuteRequest::from_json(&format!(r#"{{{BASE},"language":"python"}}"#)).is_ok());
    let unknown =
        ExecuteRequest::from_json(&format!(r#"{{{BASE},"language":"ruby"}}"#)).unwrap_err();
    assert!(matches!(&unknown, RequestError::Malformed(m) if m.contains("ruby")), "{unknown}");
    // A number of any kind is accepted (see tests/lenient_parsing.rs); other
    // types are not.
    for t in ["\"soon\"", "\"30000\"", "true", "[]", "{}"] {
        let r =
            ExecuteRequest::from_json(&format!(r#"{{{BASE},"language":"node","timeoutMs":{t}}}"#));
        assert!(matches!(r, Err(RequestError::Malformed(_))), "timeoutMs {t}");
    }
    assert!(ExecuteRequest::from_json(r#"{"executionId":"e1"}"#).is_err());
}

#[test]
fn backend_acceptance_checks() {
    let ok = ExecuteRequest::from_json(&format!(r#"{{{BASE},"language":"polyglot"}}"#)).unwrap();
    assert_eq!(ok.check_backend_acceptance(), Ok(()));
    let bash = ExecuteRequest { language: Language::Bash, ..ok.clone() };
    assert_eq!(bash.check_backend_acceptance(), Err(RequestError::InvalidLanguage));
    assert_eq!(bash.check_backend_acceptance().unwrap_err().to_string(), "invalid language");
    let bad_id = ExecuteRequest { execution_id: "a b".into(), ..ok.clone() };
    assert_eq!(bad_id.check_backend_acceptance(), Err(RequestError::InvalidExecutionId));
    let bad_org = ExecuteRequest { organization_id: "".into(), ..ok };
    assert_eq!(bad_org.check_backend_acceptance(), Err(RequestError::InvalidOrganizationId));
}

#[test]
fn request_keeps_unknown_keys_and_env_order() {
    let json = format!(r#"{{{BASE},"language":"node","env":{{"Z":"1","A":"2"}},"cwd":"/x"}}"#);
    let req = ExecuteRequest::from_json(&json).unwrap();
    let names: Vec<_> = req.env.as_ref().unwrap().keys().cloned().collect();
    assert_eq!(names, ["Z", "A"]);
    assert_eq!(req.extra["cwd"], "/x");
    let back = serde_json::to_string(&req).unwrap();
    assert!(back.ends_with(r#""env":{"Z":"1","A":"2"},"cwd":"/x"}"#), "{back}");
}

#[test]
fn error_codes_serialize_to_exact_strings() {
    let all = [
        (ErrorCode::Timeout, "TIMEOUT"),
        (ErrorCode::Oom, "OOM"),
        (ErrorCode::EgressDenied, "EGRESS_DENIED"),
        (ErrorCode::InstallFailed, "INSTALL_FAILED"),
        (ErrorCode::PackageNotFound, "PACKAGE_NOT_FOUND"),
        (ErrorCode::QuotaExceeded, "QUOTA_EXCEEDED"),
        (ErrorCode::RuntimeError, "RUNTIME_ERROR"),
        (ErrorCode::SpawnerUnavailable, "SPAWNER_UNAVAILABLE"),
        (ErrorCode::Cancelled, "CANCELLED"),
        (ErrorCode::InputRejected, "INPUT_REJECTED"),
        (ErrorCode::HarvestReadFailed, "HARVEST_READ_FAILED"),
        (ErrorCode::UploadFailed, "UPLOAD_FAILED"),
        (ErrorCode::UploadQuotaExceeded, "UPLOAD_QUOTA_EXCEEDED"),
        (ErrorCode::UploadReportFailed, "UPLOAD_REPORT_FAILED"),
        (ErrorCode::PreStageFailed, "PRE_STAGE_FAILED"),
        (ErrorCode::UploadIncomplete, "UPLOAD_INCOMPLETE"),
        (ErrorCode::SessionLost, "SESSION_LOST"),
        (ErrorCode::InvalidCwd, "INVALID_CWD"),
    ];
    for (code, text) in all {
        assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{text}\""));
        assert_eq!(code.as_str(), text);
        assert_eq!(serde_json::from_str::<ErrorCode>(&format!("\"{text}\"")).unwrap(), code);
    }
    assert!(serde_json::from_str::<ErrorCode>("\"NOPE\"").is_err());
}

#[test]
fn health_result_shapes() {
    let ok = HealthResult::Healthy { detail: "k8s namespace=tale-sandbox".into() };
    assert_eq!(
        serde_json::to_string(&ok).unwrap(),
        r#"{"ok":true,"detail":"k8s namespace=tale-sandbox"}"#
    );
    let bad = HealthResult::Unhealthy { error: "forbidden".into() };
    assert_eq!(serde_json::to_string(&bad).unwrap(), r#"{"ok":false,"error":"forbidden"}"#);
    assert_eq!(
        serde_json::from_str::<HealthResult>(r#"{"ok":false,"error":"forbidden"}"#).unwrap(),
        bad
    );
    assert!(serde_json::from_str::<HealthResult>(r#"{"ok":true,"error":"x"}"#).is_err());
}

#[test]
fn debug_of_the_config_never_shows_the_sandbox_token() {
    let cfg = SpawnerConfig {
        sandbox_token: Some("tok-s3cret-value".into()),
        ..SpawnerConfig::default()
    };
    let shown = format!("{cfg:?} {cfg:#?}");
    assert!(!shown.contains("tok-s3cret-value"), "{shown}");
    assert!(shown.contains("sandbox_token: Some(\"[redacted]\")"), "{shown}");
    assert!(shown.contains("runtime_image"), "the other fields are still shown: {shown}");
}
