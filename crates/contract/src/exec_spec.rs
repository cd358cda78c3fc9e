//! The `spec.json` payload of the per-execution Secret (`ExecSpec`,
//! `buildExecSpec`, `parseExecSpec` of exec-spec.ts; spec §4.5).

use serde::{Deserialize, Serialize, Serializer};

use crate::config::SpawnerConfig;
use crate::error::{ExecSpecError, RequestError};
use crate::js_json::{self, JsString, JsValue};
use crate::wire::ExecuteRequest;

/// `ExecSpec.caps`: the byte caps the in-pod programs enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecCaps {
    /// `stdoutMaxBytes`.
    pub stdout_max_bytes: u64,
    /// `stderrMaxBytes`.
    pub stderr_max_bytes: u64,
    /// `outputFileMaxBytes`.
    pub output_file_max_bytes: u64,
    /// `outputTotalMaxBytes`.
    pub output_total_max_bytes: u64,
}

/// `ExecSpec` (exec-spec.ts): the `spec.json` payload, key order
/// `req, sandboxToken, caps, timeoutMs`. [`Self::to_json`] writes it byte for
/// byte like the TypeScript's `JSON.stringify(spec)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecSpec {
    /// The request; serialized as [`ExecuteRequest::verbatim`].
    #[serde(serialize_with = "serialize_verbatim")]
    pub req: ExecuteRequest,
    /// `cfg.sandboxToken` (`null` when unset).
    pub sandbox_token: Option<String>,
    /// The byte caps the harvest enforces on stderr and the output files.
    pub caps: ExecCaps,
    /// The clamped timeout in milliseconds (a JavaScript number: the clamp
    /// keeps a fractional request such as `1500.5`).
    #[serde(serialize_with = "js_json::serialize_number_ref")]
    pub timeout_ms: f64,
}

fn serialize_verbatim<S: Serializer>(req: &ExecuteRequest, s: S) -> Result<S::Ok, S::Error> {
    req.verbatim().serialize(s)
}

impl ExecSpec {
    /// `JSON.stringify(spec)`: the exact `spec.json` text, the request
    /// written as received (nested unknown keys, key order and lone
    /// surrogate escapes included).
    pub fn to_json(&self) -> String {
        let number = |n: u64| JsValue::Number(n as f64);
        let caps = JsValue::Object(vec![
            ("stdoutMaxBytes".into(), number(self.caps.stdout_max_bytes)),
            ("stderrMaxBytes".into(), number(self.caps.stderr_max_bytes)),
            ("outputFileMaxBytes".into(), number(self.caps.output_file_max_bytes)),
            ("outputTotalMaxBytes".into(), number(self.caps.output_total_max_bytes)),
        ]);
        let token = match &self.sandbox_token {
            Some(t) => JsValue::String(JsString::from(t.as_str())),
            None => JsValue::Null,
        };
        JsValue::Object(vec![
            ("req".into(), self.req.verbatim()),
            ("sandboxToken".into(), token),
            ("caps".into(), caps),
            ("timeoutMs".into(), JsValue::Number(self.timeout_ms)),
        ])
        .to_json()
    }
}

/// `buildExecSpec(cfg, req, timeoutMs)` (exec-spec.ts).
pub fn build_exec_spec(cfg: &SpawnerConfig, req: &ExecuteRequest, timeout_ms: f64) -> ExecSpec {
    ExecSpec {
        req: req.clone(),
        sandbox_token: cfg.sandbox_token.clone(),
        caps: ExecCaps {
            stdout_max_bytes: cfg.stdout_max_bytes,
            stderr_max_bytes: cfg.stderr_max_bytes,
            output_file_max_bytes: cfg.output_file_max_bytes,
            output_total_max_bytes: cfg.output_total_max_bytes,
        },
        timeout_ms,
    }
}

/// A strictly positive whole number, as this crate demands of the caps.
fn positive_int(value: Option<&JsValue>) -> Option<u64> {
    match value? {
        JsValue::Number(n) if n.fract() == 0.0 && *n >= 1.0 && *n < u64::MAX as f64 => {
            Some(*n as u64)
        }
        _ => None,
    }
}

/// A finite number above zero, as `parseExecSpec` demands of `timeoutMs`.
fn positive_number(value: Option<&JsValue>) -> Option<f64> {
    match value? {
        JsValue::Number(n) if n.is_finite() && *n > 0.0 => Some(*n),
        _ => None,
    }
}

/// `parseExecSpec(raw)` (exec-spec.ts, later version): what the in-pod
/// programs accept as `spec.json`. Each rejection names the field.
pub fn parse_exec_spec(raw: &str) -> Result<ExecSpec, ExecSpecError> {
    let value = js_json::parse(raw).map_err(|e| ExecSpecError::NotJson(e.to_string()))?;
    let is_object = |v: &&JsValue| matches!(v, JsValue::Object(_));
    let obj = Some(&value).filter(is_object).ok_or(ExecSpecError::NotAnObject)?;
    let req_value = obj.get("req").filter(is_object).ok_or(ExecSpecError::MissingReq)?;
    if !matches!(req_value.get("executionId"), Some(JsValue::String(_))) {
        return Err(ExecSpecError::MissingExecutionId);
    }
    let req = ExecuteRequest::from_js_value(req_value.clone()).map_err(|e| match e {
        RequestError::Malformed(reason) => ExecSpecError::InvalidReq(reason),
        other => ExecSpecError::InvalidReq(other.to_string()),
    })?;
    let caps = obj.get("caps").filter(is_object).ok_or(ExecSpecError::MissingCaps)?;
    let cap = |key: &'static str| positive_int(caps.get(key)).ok_or(ExecSpecError::InvalidCap(key));
    let caps = ExecCaps {
        stdout_max_bytes: cap("stdoutMaxBytes")?,
        stderr_max_bytes: cap("stderrMaxBytes")?,
        output_file_max_bytes: cap("outputFileMaxBytes")?,
        output_total_max_bytes: cap("outputTotalMaxBytes")?,
    };
    let timeout_ms = positive_number(obj.get("timeoutMs")).ok_or(ExecSpecError::InvalidTimeout)?;
    let sandbox_token = match obj.get("sandboxToken") {
        Some(JsValue::Null) => None,
        Some(JsValue::String(s)) => Some(s.as_str().to_string()),
        _ => return Err(ExecSpecError::InvalidToken),
    };
    Ok(ExecSpec { req, sandbox_token, caps, timeout_ms })
}
