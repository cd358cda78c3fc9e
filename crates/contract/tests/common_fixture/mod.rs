//! Shared fixtures (spec §7.1): the TypeScript test config and request.
#![allow(dead_code)]

use indexmap::IndexMap;
use tale_sandbox_contract::config::{ContractVariant, SpawnerConfig};
use tale_sandbox_contract::pod::SandboxPodInput;
use tale_sandbox_contract::wire::{ExecuteRequest, Language};

pub const EXEC_ID: &str = "k74m9zr5b8jcgvx2pqfwsdyhntq3l1a0";
pub const ORG_ID: &str = "org_456";
pub const NOW: i64 = 1_700_000_000_000;

pub fn fixture_config(variant: ContractVariant) -> SpawnerConfig {
    let mut cfg = SpawnerConfig::default();
    cfg.k8s.namespace = "tale-sandbox".into();
    cfg.k8s.runtime_class_name = None;
    cfg.k8s.spawner_image = "tale-sandbox:test".into();
    cfg.runtime_image = "tale-sandbox-runtime:test".into();
    cfg.k8s.workspace_size_limit = "4Gi".into();
    cfg.default_timeout_ms = 30_000;
    cfg.max_timeout_ms = 300_000;
    cfg.stdout_max_bytes = 5_242_880;
    cfg.stderr_max_bytes = 5_242_880;
    cfg.output_file_max_bytes = 52_428_800;
    cfg.output_total_max_bytes = 104_857_600;
    cfg.egress_proxy = "http://sandbox-egress:3128".into();
    cfg.sandbox_token = Some("test".into());
    cfg.variant = variant;
    cfg
}

pub fn fixture_request() -> ExecuteRequest {
    ExecuteRequest::from_json(
        r#"{"executionId":"k74m9zr5b8jcgvx2pqfwsdyhntq3l1a0","organizationId":"org_456",
            "language":"python","files":[],"entryPath":"main.py","outputUploadSlots":[],
            "outputUrlEndpoint":"http://platform/ep1","reportUploadedEndpoint":"http://platform/ep2"}"#,
    )
    .expect("fixture request parses")
}

/// The userEnv every golden Pod is built with: two names pass, three are dropped
/// (baseline name in lower case, invalid identifier, baseline `PATH` in mixed case).
pub fn fixture_user_env() -> IndexMap<String, String> {
    [
        ("FOO", "bar"),
        ("home", "evil"),
        ("9LIVES", "x"),
        ("MY_VAR", "v"),
        ("Path", "p"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub fn pod_input() -> SandboxPodInput {
    SandboxPodInput {
        execution_id: EXEC_ID.into(),
        organization_id: ORG_ID.into(),
        language: Language::Python,
        entry_path: "main.py".into(),
        started_at_ms: NOW,
        cache: None,
        user_env: Some(fixture_user_env()),
    }
}
