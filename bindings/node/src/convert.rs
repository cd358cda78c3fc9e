//! Translation between the JS objects of spec §3 and the contract's Rust types.
//!
//! Objects cross as JSON text made and read by V8's own `JSON.stringify` / `JSON.parse`, so the
//! Rust side sees exactly what the TypeScript service would serialise, and JS gets exactly the
//! objects the contract's serialisers describe (key order included). Requests are read by the
//! contract's `ExecuteRequest::from_json` (JavaScript `JSON.parse` semantics); the
//! `SpawnerConfig` object is read here, field by field, so that a bad field is a `TypeError`
//! naming it.

use napi::bindgen_prelude::{FromNapiValue, Function, JsObjectValue, Object, Unknown};
use napi::{Env, JsValue, Result, ValueType};
use serde_json::{Map, Value};
use tale_sandbox_contract::config::{
    CacheMode, CacheVolumePrefix, ContractVariant, K8sConfig, RuntimeTier, SpawnerConfig,
};

/// Largest integer a JS number represents exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A JS error to throw or reject with: its class, message and optional `.code`.
#[derive(Debug, Clone)]
pub struct JsFailure {
    /// `TypeError` for a bad argument, `Error` otherwise.
    pub type_error: bool,
    /// The message.
    pub message: String,
    /// The stable `.code` (`K8S_INIT_FAILED`, ...).
    pub code: Option<&'static str>,
}

impl JsFailure {
    /// A `TypeError` with `message`.
    pub fn type_error(message: impl Into<String>) -> Self {
        JsFailure { type_error: true, message: message.into(), code: None }
    }

    /// An `Error` with `message` and `code`.
    pub fn error(message: impl Into<String>, code: &'static str) -> Self {
        JsFailure { type_error: false, message: message.into(), code: Some(code) }
    }

    /// The JS error object, as a `napi::Error` that throws or rejects with exactly it.
    pub fn into_napi(self, env: &Env) -> napi::Error {
        match self.to_js(env) {
            Ok(value) => napi::Error::from(value),
            Err(e) => e,
        }
    }

    fn to_js<'env>(&self, env: &'env Env) -> Result<Unknown<'env>> {
        let class = if self.type_error { "TypeError" } else { "Error" };
        let constructor: Function<'_, String, Unknown<'_>> =
            env.get_global()?.get_named_property(class)?;
        let error = constructor.new_instance(self.message.clone())?;
        if let Some(code) = self.code {
            let mut object = Object::from_unknown(error)?;
            object.set_named_property("code", code)?;
        }
        Ok(error)
    }
}

/// `JSON.stringify(value)`; `None` when it gives `undefined` (a function, `undefined`).
pub fn stringify(env: &Env, value: Unknown<'_>) -> Result<Option<String>> {
    let json: Object<'_> = env.get_global()?.get_named_property("JSON")?;
    let stringify: Function<'_, Unknown<'_>, Unknown<'_>> = json.get_named_property("stringify")?;
    let text = stringify.apply(json, value)?;
    if text.get_type()? == ValueType::String {
        Ok(Some(text.coerce_to_string()?.into_utf8()?.into_owned()?))
    } else {
        Ok(None)
    }
}

/// `JSON.parse(text)`.
pub fn parse<'env>(env: &'env Env, text: String) -> Result<Unknown<'env>> {
    let json: Object<'_> = env.get_global()?.get_named_property("JSON")?;
    let parse: Function<'_, String, Unknown<'_>> = json.get_named_property("parse")?;
    parse.apply(json, text)
}

/// The `typeof` of a value as a message shows it (`null` for null).
pub fn type_name(value: &Unknown<'_>) -> &'static str {
    match value.get_type() {
        Ok(ValueType::Null) => "null",
        Ok(ValueType::Undefined) => "undefined",
        Ok(ValueType::Boolean) => "boolean",
        Ok(ValueType::Number) => "number",
        Ok(ValueType::String) => "string",
        Ok(ValueType::Symbol) => "symbol",
        Ok(ValueType::Function) => "function",
        Ok(ValueType::BigInt) => "bigint",
        Ok(ValueType::Object) => "object",
        _ => "unknown",
    }
}

/// Whether the value is an object (not null, not a function).
pub fn is_object(value: &Unknown<'_>) -> bool {
    matches!(value.get_type(), Ok(ValueType::Object))
}

/// The `SpawnerConfig` in a JS object (spec §3.4). `what` names the argument in messages
/// (`cfg`). Fields the k8s path does not read are ignored, as the TypeScript ignores them.
pub fn spawner_config(
    env: &Env,
    value: Unknown<'_>,
    what: &str,
) -> std::result::Result<SpawnerConfig, JsFailure> {
    if !is_object(&value) {
        return Err(JsFailure::type_error(format!(
            "{what} must be a SpawnerConfig object, got {}",
            type_name(&value)
        )));
    }
    let text = stringify(env, value)
        .map_err(|e| JsFailure::type_error(format!("{what} cannot be serialised: {}", e.reason)))?
        .ok_or_else(|| JsFailure::type_error(format!("{what} must be a SpawnerConfig object")))?;
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| JsFailure::type_error(format!("{what} cannot be read: {e}")))?;
    config_from_json(&json, what).map_err(JsFailure::type_error)
}

/// [`spawner_config`] on the parsed JSON; the error is the `TypeError` message.
pub fn config_from_json(json: &Value, what: &str) -> std::result::Result<SpawnerConfig, String> {
    let root = Fields::object(json, what)?;
    let k8s_path = format!("{what}.k8s");
    let k8s = Fields::object(root.required("k8s")?, &k8s_path)?;
    let prefix_path = format!("{what}.cacheVolumePrefix");
    let prefix = Fields::object(root.required("cacheVolumePrefix")?, &prefix_path)?;
    let cache_mode = match k8s.string("cacheMode")?.as_str() {
        "none" => CacheMode::None,
        "pvc" => CacheMode::Pvc,
        other => {
            return Err(format!("{what}.k8s.cacheMode must be 'none' or 'pvc', got {other:?}"));
        }
    };
    let runtime_tier = match root.optional_string("runtimeTier")?.as_deref() {
        None | Some("runc") => RuntimeTier::Runc,
        Some("gvisor") | Some("runsc") => RuntimeTier::Gvisor,
        Some("sysbox") => RuntimeTier::Sysbox,
        Some("kata") => RuntimeTier::Kata,
        Some(other) => {
            return Err(format!(
                "{what}.runtimeTier must be one of runc, gvisor, sysbox, kata, got {other:?}"
            ));
        }
    };
    let variant = match root.optional_string("contractVariant")?.as_deref() {
        None | Some("user-attest-ulimit") => ContractVariant::UserAttestUlimit,
        Some("user") => ContractVariant::User,
        Some("workspace") => ContractVariant::Workspace,
        Some(other) => {
            return Err(format!(
                "{what}.contractVariant must be one of user-attest-ulimit, user, workspace, got {other:?}"
            ));
        }
    };
    Ok(SpawnerConfig {
        default_timeout_ms: root.integer("defaultTimeoutMs")?,
        max_timeout_ms: root.integer("maxTimeoutMs")?,
        stdout_max_bytes: root.integer("stdoutMaxBytes")?,
        stderr_max_bytes: root.integer("stderrMaxBytes")?,
        output_file_max_bytes: root.integer("outputFileMaxBytes")?,
        output_total_max_bytes: root.integer("outputTotalMaxBytes")?,
        // Execute era: `string | null`; an empty token is no token, as loadConfig reads it.
        sandbox_token: root.optional_string("sandboxToken")?.filter(|t| !t.is_empty()),
        runtime_image: root.string("runtimeImage")?,
        egress_proxy: root.string("egressProxy")?,
        cache_volume_prefix: CacheVolumePrefix {
            pip: prefix.string("pip")?,
            npm: prefix.string("npm")?,
        },
        k8s: K8sConfig {
            namespace: k8s.string("namespace")?,
            runtime_class_name: k8s.optional_string("runtimeClassName")?,
            spawner_image: k8s.string("spawnerImage")?,
            cache_mode,
            workspace_size_limit: k8s.string("workspaceSizeLimit")?,
            cache_storage_class: k8s
                .optional_string("cacheStorageClass")?
                .filter(|c| !c.is_empty()),
        },
        runtime_tier,
        docker_in_container: root.optional_bool("dockerInContainer")?.unwrap_or(false),
        variant,
    })
}

/// The fields of one JSON object, with messages that name `path.field`.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Fields<'a> {
    fn object(value: &'a Value, path: &'a str) -> std::result::Result<Self, String> {
        match value {
            Value::Object(map) => Ok(Fields { map, path }),
            other => Err(format!("{path} must be an object, got {}", json_type(other))),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    fn required(&self, name: &str) -> std::result::Result<&'a Value, String> {
        self.map.get(name).ok_or_else(|| format!("{}.{name} is required", self.path))
    }

    fn string(&self, name: &str) -> std::result::Result<String, String> {
        match self.required(name)? {
            Value::String(s) => Ok(s.clone()),
            other => {
                Err(format!("{}.{name} must be a string, got {}", self.path, json_type(other)))
            }
        }
    }

    fn optional_string(&self, name: &str) -> std::result::Result<Option<String>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "{}.{name} must be a string or null, got {}",
                self.path,
                json_type(other)
            )),
        }
    }

    fn optional_bool(&self, name: &str) -> std::result::Result<Option<bool>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => {
                Err(format!("{}.{name} must be a boolean, got {}", self.path, json_type(other)))
            }
        }
    }

    fn integer(&self, name: &str) -> std::result::Result<u64, String> {
        let value = self.required(name)?;
        let number =
            value.as_f64().filter(|n| n.fract() == 0.0 && *n >= 1.0 && *n <= MAX_SAFE_INTEGER);
        number.map(|n| n as u64).ok_or_else(|| {
            format!("{}.{name} must be a positive safe integer, got {value}", self.path)
        })
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Value {
        serde_json::json!({
            "defaultTimeoutMs": 30000, "maxTimeoutMs": 300000,
            "stdoutMaxBytes": 5242880, "stderrMaxBytes": 5242880,
            "outputFileMaxBytes": 52428800, "outputTotalMaxBytes": 104857600,
            "sandboxToken": "test", "runtimeImage": "tale-sandbox-runtime:test",
            "egressProxy": "http://sandbox-egress:3128",
            "cacheVolumePrefix": {"pip": "p", "npm": "n"},
            "k8s": {"namespace": "tale-sandbox", "runtimeClassName": null,
                    "spawnerImage": "tale-sandbox:test", "cacheMode": "none",
                    "workspaceSizeLimit": "4Gi"},
            "runtimeTier": "runc", "dockerInContainer": false,
            "port": 8080
        })
    }

    #[test]
    fn the_service_config_object_reads_as_the_contract_config() {
        let cfg = config_from_json(&fixture(), "cfg").unwrap();
        assert_eq!(cfg.k8s.namespace, "tale-sandbox");
        assert_eq!(cfg.sandbox_token.as_deref(), Some("test"));
        assert_eq!(cfg.k8s.runtime_class_name, None);
        assert_eq!(cfg.stdout_max_bytes, 5_242_880);
        assert_eq!(cfg.variant, ContractVariant::UserAttestUlimit);
    }

    #[test]
    fn a_bad_field_is_named() {
        let mut json = fixture();
        json["k8s"]["namespace"] = serde_json::json!(3);
        let err = config_from_json(&json, "cfg").unwrap_err();
        assert_eq!(err, "cfg.k8s.namespace must be a string, got number");
        let mut json = fixture();
        json.as_object_mut().unwrap().remove("maxTimeoutMs");
        assert_eq!(config_from_json(&json, "cfg").unwrap_err(), "cfg.maxTimeoutMs is required");
        let mut json = fixture();
        json["stdoutMaxBytes"] = serde_json::json!(1.5);
        assert!(
            config_from_json(&json, "cfg").unwrap_err().starts_with("cfg.stdoutMaxBytes must be")
        );
    }
}
