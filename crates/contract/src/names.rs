//! Object names, labels, annotations and the identifier safety checks
//! (spec §2.3, §4.1–§4.3).

use std::collections::BTreeMap;

use sha1::{Digest, Sha1};

use crate::config::ContractVariant;
use crate::constants::{
    ANNOTATION_EXECUTION_ID, ANNOTATION_ORGANIZATION_ID, ANNOTATION_STARTED_AT, BASELINE_ENV_NAMES,
    LABEL_ROLE, LABEL_SANDBOX, LABEL_VALUE_SET, MAX_ENTRY_PATH_PART_LEN, MAX_ID_LEN, MAX_ORG_LEN,
    ROLE_EXEC_SPEC, ROLE_RUNTIME,
};

/// First 16 lowercase hex digits of `sha1(utf8(input))`.
fn sha1_prefix16(input: &str) -> String {
    let digest = Sha1::digest(input.as_bytes());
    let mut out = String::with_capacity(16);
    for byte in &digest[..8] {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// `podNameFor(id)` (k8s-pod-spec.ts): `tale-sbx-` + 16 hex digits of sha1(id).
pub fn pod_name_for(execution_id: &str) -> String {
    format!("tale-sbx-{}", sha1_prefix16(execution_id))
}

/// `secretNameFor(id)` (exec-spec.ts): `podNameFor(id) + "-spec"`.
pub fn secret_name_for(execution_id: &str) -> String {
    format!("{}-spec", pod_name_for(execution_id))
}

/// The cache PVC name of `ensureCachePvcs` (k8s-cache.ts):
/// `<prefix>-` + 16 hex digits of sha1(organizationId).
pub fn pvc_name_for(prefix: &str, organization_id: &str) -> String {
    format!("{prefix}-{}", sha1_prefix16(organization_id))
}

/// Labels of the sandbox Pod: `tale.sandbox: "1"`, `tale.sandbox/role: "runtime"`.
pub fn pod_labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_SANDBOX.to_string(), LABEL_VALUE_SET.to_string()),
        (LABEL_ROLE.to_string(), ROLE_RUNTIME.to_string()),
    ])
}

/// Labels of the exec Secret: `tale.sandbox: "1"`, `tale.sandbox/role: "exec-spec"`.
pub fn secret_labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_SANDBOX.to_string(), LABEL_VALUE_SET.to_string()),
        (LABEL_ROLE.to_string(), ROLE_EXEC_SPEC.to_string()),
    ])
}

/// Annotations of the sandbox Pod (raw ids + `String(startedAtMs)`).
pub fn pod_annotations(
    execution_id: &str,
    organization_id: &str,
    started_at_ms: i64,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (ANNOTATION_EXECUTION_ID.to_string(), execution_id.to_string()),
        (ANNOTATION_ORGANIZATION_ID.to_string(), organization_id.to_string()),
        (ANNOTATION_STARTED_AT.to_string(), started_at_ms.to_string()),
    ])
}

/// Annotations of the exec Secret (raw execution id + `String(startedAtMs)`).
pub fn secret_annotations(execution_id: &str, started_at_ms: i64) -> BTreeMap<String, String> {
    BTreeMap::from([
        (ANNOTATION_EXECUTION_ID.to_string(), execution_id.to_string()),
        (ANNOTATION_STARTED_AT.to_string(), started_at_ms.to_string()),
    ])
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn is_path_char(c: char) -> bool {
    is_id_char(c) || c == '.' || c == '/'
}

fn is_id_like(value: &str, max: usize) -> bool {
    // All accepted characters are ASCII, so the byte length is the char count.
    !value.is_empty() && value.len() <= max && value.chars().all(is_id_char)
}

/// `ID_RE` / `ID_ALPHABET_RE`: `^[a-zA-Z0-9_-]{1,64}$`.
pub fn is_safe_execution_id(value: &str) -> bool {
    is_id_like(value, MAX_ID_LEN)
}

/// `ORG_RE` / `ORG_ID_ALPHABET_RE`: `^[a-zA-Z0-9_-]{1,128}$`.
pub fn is_safe_organization_id(value: &str) -> bool {
    is_id_like(value, MAX_ORG_LEN)
}

/// `ENTRY_PATH_RE` of the variant's era, without look-ahead:
///
/// * absolute: `<WS>/code/` or `<TALE_DIR>/` followed by 1–256 of
///   `[A-Za-z0-9_./-]` containing no `..`;
/// * relative: 1–256 of `[A-Za-z0-9_./-]`, first one of `[A-Za-z0-9_-]`, no `..`.
///
/// The TypeScript `(?!.*\.\.)` sits at the start of the path part and `.*`
/// reaches its end (the class has no newline), so it means "no `..` anywhere
/// in the path part".
pub fn is_safe_entry_path(value: &str, variant: ContractVariant) -> bool {
    let code_prefix = format!("{}/code/", variant.workspace_mount());
    let tale_prefix = format!("{}/", variant.tale_dir());
    let path_part_ok = |part: &str| {
        !part.is_empty()
            && part.len() <= MAX_ENTRY_PATH_PART_LEN
            && part.chars().all(is_path_char)
            && !part.contains("..")
    };
    let absolute_ok = [&code_prefix, &tale_prefix]
        .iter()
        .filter_map(|prefix| value.strip_prefix(prefix.as_str()))
        .any(path_part_ok);
    absolute_ok || (value.starts_with(is_id_char) && path_part_ok(value))
}

/// `ENV_NAME_RE` (`^[A-Za-z_][A-Za-z0-9_]*$`) and not a `BASELINE_ENV_NAMES`
/// entry once upper-cased: whether a user env var may reach the runner.
pub fn is_allowed_user_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    first_ok && rest_ok && !BASELINE_ENV_NAMES.contains(&name.to_ascii_uppercase().as_str())
}
