//! The `spec.json` payload of the per-execution Secret (`ExecSpec`,
//! `buildExecSpec`, `parseExecSpec` of exec-spec.ts; spec §4.5).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::SpawnerConfig;
use crate::error::ExecSpecError;
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
/// `req, sandboxToken, caps, timeoutMs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecSpec {
    /// The request, verbatim.
    pub req: ExecuteRequest,
    /// `cfg.sandboxToken` (`null` when unset).
    pub sandbox_token: Option<String>,
    /// Byte caps.
    pub caps: ExecCaps,
    /// The clamped timeout.
    pub timeout_ms: u64,
}

/// `buildExecSpec(cfg, req, timeoutMs)` (exec-spec.ts).
pub fn build_exec_spec(cfg: &SpawnerConfig, req: &ExecuteRequest, timeout_ms: u64) -> ExecSpec {
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

/// A strictly positive whole number, as `parseExecSpec` demands of caps and timeout.
fn positive_int(value: Option<&Value>) -> Option<u64> {
    let n = value?.as_number()?;
    let v = match n.as_u64() {
        Some(v) => v,
        None => {
            let f = n.as_f64()?;
            if f.fract() != 0.0 || f < 1.0 || f > u64::MAX as f64 {
                return None;
            }
            f as u64
        }
    };
    (v > 0).then_some(v)
}

/// `parseExecSpec(raw)` (exec-spec.ts, later version): what the in-pod
/// programs accept as `spec.json`. Each rejection names the field.
pub fn parse_exec_spec(raw: &str) -> Result<ExecSpec, ExecSpecError> {
    let value: Value =
        serde_json::from_str(raw).map_err(|e| ExecSpecError::NotJson(e.to_string()))?;
    let obj = value.as_object().ok_or(ExecSpecError::NotAnObject)?;
    let req_value = obj
        .get("req")
        .filter(|r| r.is_object())
        .ok_or(ExecSpecError::MissingReq)?;
    if !req_value.get("executionId").is_some_and(Value::is_string) {
        return Err(ExecSpecError::MissingExecutionId);
    }
    let req = ExecuteRequest::deserialize(req_value)
        .map_err(|e| ExecSpecError::InvalidReq(e.to_string()))?;
    let caps = obj
        .get("caps")
        .and_then(Value::as_object)
        .ok_or(ExecSpecError::MissingCaps)?;
    let cap = |key: &'static str| positive_int(caps.get(key)).ok_or(ExecSpecError::InvalidCap(key));
    let caps = ExecCaps {
        stdout_max_bytes: cap("stdoutMaxBytes")?,
        stderr_max_bytes: cap("stderrMaxBytes")?,
        output_file_max_bytes: cap("outputFileMaxBytes")?,
        output_total_max_bytes: cap("outputTotalMaxBytes")?,
    };
    let timeout_ms = positive_int(obj.get("timeoutMs")).ok_or(ExecSpecError::InvalidTimeout)?;
    let sandbox_token = match obj.get("sandboxToken") {
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        _ => return Err(ExecSpecError::InvalidToken),
    };
    Ok(ExecSpec {
        req,
        sandbox_token,
        caps,
        timeout_ms,
    })
}
