//! Typed errors of the contract crate. Messages reproduce the TypeScript
//! texts where those are wire-visible (spec §4.3, §4.5, §3.4).

use thiserror::Error;

/// A Pod-builder input failed validation (`buildSandboxPod`'s `assertSafe`
/// and language check).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PodSpecError {
    /// `k8s-pod-spec: <name> value rejected by safety regex: <JSON value>`.
    #[error("k8s-pod-spec: {field} value rejected by safety regex: {}", json_quote(value))]
    UnsafeValue {
        /// The input field (`executionId`, `organizationId`, `entryPath`).
        field: &'static str,
        /// The rejected value.
        value: String,
    },
    /// `k8s-pod-spec: bad language: <lang>` (bash is not accepted by the backend).
    #[error("k8s-pod-spec: bad language: {0}")]
    BadLanguage(String),
}

/// A request could not be accepted by the backend (the dispatcher's checks
/// and §1.2 step 1/3).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    /// `invalid executionId` (dispatcher, `ID_ALPHABET_RE`).
    #[error("invalid executionId")]
    InvalidExecutionId,
    /// `invalid organizationId` (dispatcher, `ORG_ID_ALPHABET_RE`).
    #[error("invalid organizationId")]
    InvalidOrganizationId,
    /// `invalid language` (dispatcher / backend re-check: only python, node, polyglot).
    #[error("invalid language")]
    InvalidLanguage,
    /// Neither `entryPath` nor `steps` given (upstream validation guarantees
    /// one; the TypeScript would pass `undefined` on and fail in the Pod builder).
    #[error("request has neither entryPath nor steps")]
    MissingEntry,
    /// The body is not JSON or does not match the `ExecuteRequest` shape
    /// (unknown language, a `timeoutMs` that is not a number, missing field, …).
    #[error("invalid ExecuteRequest: {0}")]
    Malformed(String),
}

/// A configuration value from the environment is unusable (`numEnv` and the
/// enum-valued variables of `loadConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// `Env var <name> is not a finite number: <JSON value>`.
    #[error("Env var {name} is not a finite number: {}", json_quote(value))]
    NotANumber {
        /// Variable name.
        name: &'static str,
        /// Raw value.
        value: String,
    },
    /// The value is a finite number but not a whole number (the TypeScript
    /// accepts fractions; this crate does not, see DIFFERENCES.md).
    #[error("Env var {name} must be a whole number; got: {value}")]
    NotAnInteger {
        /// Variable name.
        name: &'static str,
        /// Raw value.
        value: String,
    },
    /// `Env var <name> must be >= <min>; got: <n>`.
    #[error("Env var {name} must be >= {min}; got: {value}")]
    TooSmall {
        /// Variable name.
        name: &'static str,
        /// Lower bound.
        min: u64,
        /// Parsed value as written.
        value: String,
    },
    /// `Env var <name> must be <= <max>; got: <n>`.
    #[error("Env var {name} must be <= {max}; got: {value}")]
    TooLarge {
        /// Variable name.
        name: &'static str,
        /// Upper bound.
        max: u64,
        /// Parsed value as written.
        value: String,
    },
    /// An enum-valued variable (`SANDBOX_CACHE`, `SANDBOX_RUNTIME`, …) has an unknown value.
    #[error("{name} must be one of {allowed}; got: {}", json_quote(value))]
    UnknownValue {
        /// Variable name.
        name: &'static str,
        /// Human-readable list of accepted values.
        allowed: &'static str,
        /// Raw value.
        value: String,
    },
}

/// `parseExecSpec` rejections (spec §4.5, §7.6). Messages contain the field name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExecSpecError {
    /// `exec-spec: payload is not valid JSON: …`.
    #[error("exec-spec: payload is not valid JSON: {0}")]
    NotJson(String),
    /// `exec-spec: payload is not an object`.
    #[error("exec-spec: payload is not an object")]
    NotAnObject,
    /// `exec-spec: missing or invalid `req``.
    #[error("exec-spec: missing or invalid `req`")]
    MissingReq,
    /// `exec-spec: missing or invalid `req.executionId``.
    #[error("exec-spec: missing or invalid `req.executionId`")]
    MissingExecutionId,
    /// `req` is an object with an executionId but does not match the request shape.
    #[error("exec-spec: invalid `req`: {0}")]
    InvalidReq(String),
    /// `exec-spec: missing or invalid `caps``.
    #[error("exec-spec: missing or invalid `caps`")]
    MissingCaps,
    /// A caps field is missing, not a number, or not positive.
    #[error("exec-spec: missing or invalid `caps.{0}`")]
    InvalidCap(&'static str),
    /// `timeoutMs` missing, not a number, or not positive.
    #[error("exec-spec: missing or invalid `timeoutMs`")]
    InvalidTimeout,
    /// `sandboxToken` key missing or neither string nor null.
    #[error("exec-spec: missing or invalid `sandboxToken`")]
    InvalidToken,
}

/// A marker line was found but its JSON is unusable (`parseStartedLine` /
/// `parseResultLine` warn and return null in this case).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed {marker} line: {reason}")]
pub struct ProtocolError {
    /// The marker of the line (`__TALE_RESULT__` or `__TALE_HARVEST_STARTED__`).
    pub marker: &'static str,
    /// Why the payload was rejected.
    pub reason: String,
}

fn json_quote(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("{value:?}"))
}
