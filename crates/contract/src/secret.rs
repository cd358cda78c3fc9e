//! The per-execution Secret (`buildExecSecret` of exec-spec.ts; spec §4.5).

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::config::SpawnerConfig;
use crate::constants::EXEC_SPEC_FILENAME;
use crate::names::{secret_annotations, secret_labels, secret_name_for};
use crate::wire::ExecuteRequest;

pub use crate::exec_spec::{ExecCaps, ExecSpec, build_exec_spec, parse_exec_spec};

/// `buildExecSecret(cfg, req, timeoutMs, startedAtMs)` (exec-spec.ts): an
/// `Opaque` Secret whose `stringData["spec.json"]` is [`ExecSpec::to_json`]
/// (the apiserver does the base64).
pub fn build_exec_secret(
    cfg: &SpawnerConfig,
    req: &ExecuteRequest,
    timeout_ms: f64,
    started_at_ms: i64,
) -> Secret {
    let spec_json = build_exec_spec(cfg, req, timeout_ms).to_json();
    Secret {
        metadata: ObjectMeta {
            name: Some(secret_name_for(&req.execution_id)),
            namespace: Some(cfg.k8s.namespace.clone()),
            labels: Some(secret_labels()),
            annotations: Some(secret_annotations(&req.execution_id, started_at_ms)),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        string_data: Some([(EXEC_SPEC_FILENAME.to_string(), spec_json)].into()),
        ..Default::default()
    }
}
