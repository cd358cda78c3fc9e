//! `SpawnerConfig`: the fields the Kubernetes execute path reads (spec §3.4),
//! their execute-era defaults, and the environment parsing of `loadConfig`
//! (config.ts) including the `numEnv` rules.
//!
//! Parsing is pure: the caller passes a lookup function instead of this crate
//! reading the process environment.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Which generation of the TypeScript Pod/protocol shape to reproduce.
///
/// The default is the newest shape with an `execute()` (`/user` workspace,
/// attest volume, `ulimit` line); the others exist for comparison runs against
/// older spawner images.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContractVariant {
    /// `/workspace` era (k8s-pod-spec.ts `153bd6c6`): no `userEnv`, no attest, no ulimit.
    Workspace,
    /// `/user` era (k8s-pod-spec.ts `3ead0d2c`): `userEnv` passed to the runner.
    User,
    /// `/user` + attest volume + `ulimit` line (k8s-pod-spec.test.ts `0c5f54e5`).
    #[default]
    UserAttestUlimit,
}

impl ContractVariant {
    /// `WORKSPACE_MOUNT`: `/workspace` or `/user`.
    pub fn workspace_mount(self) -> &'static str {
        match self {
            ContractVariant::Workspace => "/workspace",
            _ => "/user",
        }
    }

    /// `TALE_DIR` (k8s-protocol.ts): `/workspace/.tale` or `/user/.runtime/tale`.
    pub fn tale_dir(self) -> &'static str {
        match self {
            ContractVariant::Workspace => "/workspace/.tale",
            _ => "/user/.runtime/tale",
        }
    }

    /// `EXIT_CODE_PATH` (k8s-protocol.ts).
    pub fn exit_code_path(self) -> String {
        format!("{}/exit-code", self.tale_dir())
    }

    /// `STDERR_PATH` (k8s-protocol.ts).
    pub fn stderr_path(self) -> String {
        format!("{}/stderr.log", self.tale_dir())
    }

    /// `PRESTAGE_PATH` (k8s-protocol.ts): under `ATTEST_DIR` in the attest variant.
    pub fn prestage_path(self) -> String {
        if self.has_attest_volume() {
            format!("{}/prestage.json", crate::constants::ATTEST_DIR)
        } else {
            format!("{}/prestage.json", self.tale_dir())
        }
    }

    /// Whether the Pod carries the `attest` volume (issue #1847).
    pub fn has_attest_volume(self) -> bool {
        matches!(self, ContractVariant::UserAttestUlimit)
    }

    /// Whether the runner wrapper sets `ulimit -u 128 -f 204800 -t 600 -c 0`.
    pub fn has_ulimit(self) -> bool {
        matches!(self, ContractVariant::UserAttestUlimit)
    }

    /// Whether `req.env` reaches the runner as `userEnv`.
    pub fn passes_user_env(self) -> bool {
        !matches!(self, ContractVariant::Workspace)
    }

    /// `<WS>/output`, as quoted in the harvest-failure messages.
    pub fn output_dir(self) -> String {
        format!("{}/output", self.workspace_mount())
    }
}

/// `k8s.cacheMode` (`SANDBOX_CACHE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// `none`: no cache volumes.
    #[default]
    None,
    /// `pvc`: per-organization pip/npm PVCs.
    Pvc,
}

/// `runtimeTier` (`SANDBOX_RUNTIME`; `runsc` is accepted as `gvisor`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeTier {
    /// `runc`: no RuntimeClass.
    #[default]
    Runc,
    /// `gvisor` (alias `runsc`).
    Gvisor,
    /// `sysbox`.
    Sysbox,
    /// `kata`.
    Kata,
}

impl RuntimeTier {
    /// `k8sRuntimeClassFor(tier)` (config.ts): the default RuntimeClass name.
    pub fn default_runtime_class(self) -> Option<&'static str> {
        match self {
            RuntimeTier::Runc => None,
            RuntimeTier::Gvisor => Some("gvisor"),
            RuntimeTier::Sysbox => Some("sysbox-runc"),
            RuntimeTier::Kata => Some("kata"),
        }
    }
}

/// `SpawnerConfig.cacheVolumePrefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheVolumePrefix {
    /// `SANDBOX_PIP_CACHE_VOLUME_PREFIX`.
    pub pip: String,
    /// `SANDBOX_NPM_CACHE_VOLUME_PREFIX`.
    pub npm: String,
}

/// `SpawnerConfig.k8s`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct K8sConfig {
    /// `SANDBOX_K8S_NAMESPACE`.
    pub namespace: String,
    /// Resolved RuntimeClass; `None` omits the field.
    pub runtime_class_name: Option<String>,
    /// `SANDBOX_SPAWNER_IMAGE`: image of the stage and harvest containers.
    pub spawner_image: String,
    /// `SANDBOX_CACHE`.
    pub cache_mode: CacheMode,
    /// `SANDBOX_K8S_WORKSPACE_SIZE_LIMIT`.
    pub workspace_size_limit: String,
    /// `SANDBOX_K8S_CACHE_STORAGECLASS` (only if non-empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_storage_class: Option<String>,
}

/// The `SpawnerConfig` fields read by the Kubernetes execute path.
///
/// Its `Debug` prints `sandbox_token` as `[redacted]`, so that no `{:?}` of the config, or of
/// anything holding it, can put the token into a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpawnerConfig {
    /// `SANDBOX_DEFAULT_TIMEOUT_MS` (min 1).
    pub default_timeout_ms: u64,
    /// `SANDBOX_MAX_TIMEOUT_MS` (min 1).
    pub max_timeout_ms: u64,
    /// `SANDBOX_STDOUT_MAX_BYTES` (min 1024).
    pub stdout_max_bytes: u64,
    /// `SANDBOX_STDERR_MAX_BYTES` (min 1024).
    pub stderr_max_bytes: u64,
    /// `SANDBOX_OUTPUT_FILE_MAX_BYTES` (min 1024).
    pub output_file_max_bytes: u64,
    /// `SANDBOX_OUTPUT_TOTAL_MAX_BYTES` (min 1024).
    pub output_total_max_bytes: u64,
    /// `SANDBOX_TOKEN`; unset or empty is `None` (execute era).
    pub sandbox_token: Option<String>,
    /// `SANDBOX_RUNTIME_IMAGE`: the runner image.
    pub runtime_image: String,
    /// `SANDBOX_EGRESS_PROXY`.
    pub egress_proxy: String,
    /// Cache PVC name prefixes.
    pub cache_volume_prefix: CacheVolumePrefix,
    /// Kubernetes settings.
    pub k8s: K8sConfig,
    /// `SANDBOX_RUNTIME` (init warning only).
    pub runtime_tier: RuntimeTier,
    /// `SANDBOX_DOCKER_IN_CONTAINER` (init warning only).
    pub docker_in_container: bool,
    /// Which TypeScript generation to reproduce (not an env var of the TypeScript;
    /// `TALE_SANDBOX_CONTRACT_VARIANT` here).
    pub variant: ContractVariant,
}

impl std::fmt::Debug for SpawnerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpawnerConfig")
            .field("default_timeout_ms", &self.default_timeout_ms)
            .field("max_timeout_ms", &self.max_timeout_ms)
            .field("stdout_max_bytes", &self.stdout_max_bytes)
            .field("stderr_max_bytes", &self.stderr_max_bytes)
            .field("output_file_max_bytes", &self.output_file_max_bytes)
            .field("output_total_max_bytes", &self.output_total_max_bytes)
            .field("sandbox_token", &self.sandbox_token.as_ref().map(|_| "[redacted]"))
            .field("runtime_image", &self.runtime_image)
            .field("egress_proxy", &self.egress_proxy)
            .field("cache_volume_prefix", &self.cache_volume_prefix)
            .field("k8s", &self.k8s)
            .field("runtime_tier", &self.runtime_tier)
            .field("docker_in_container", &self.docker_in_container)
            .field("variant", &self.variant)
            .finish()
    }
}

impl Default for SpawnerConfig {
    fn default() -> Self {
        SpawnerConfig {
            default_timeout_ms: 30_000,
            max_timeout_ms: 300_000,
            stdout_max_bytes: 5 * 1024 * 1024,
            stderr_max_bytes: 5 * 1024 * 1024,
            output_file_max_bytes: 50 * 1024 * 1024,
            output_total_max_bytes: 100 * 1024 * 1024,
            sandbox_token: None,
            runtime_image: "tale-sandbox-runtime:latest".into(),
            egress_proxy: "http://sandbox-egress:3128".into(),
            cache_volume_prefix: CacheVolumePrefix {
                pip: "tale-sandbox-pip-cache".into(),
                npm: "tale-sandbox-npm-cache".into(),
            },
            k8s: K8sConfig {
                namespace: "tale-sandbox".into(),
                runtime_class_name: None,
                spawner_image: "tale-sandbox:latest".into(),
                cache_mode: CacheMode::None,
                workspace_size_limit: "4Gi".into(),
                cache_storage_class: None,
            },
            runtime_tier: RuntimeTier::Runc,
            docker_in_container: false,
            variant: ContractVariant::default(),
        }
    }
}

/// Largest integer a JavaScript number represents exactly; larger env values are rejected.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// `numEnv(name, fallback, {min, max})` (config.ts): empty or whitespace-only
/// means unset; otherwise the value must be a finite whole number within
/// `[min, max]`.
///
/// Accepted spellings are those of JavaScript's `Number()` for whole numbers:
/// decimal (optionally with a fraction of zeros or an exponent, `3e4`) and
/// `0x`/`0o`/`0b` prefixes. Fractions are rejected ([`ConfigError::NotAnInteger`]).
pub fn num_env(
    name: &'static str,
    raw: Option<&str>,
    fallback: u64,
    min: u64,
    max: Option<u64>,
) -> Result<u64, ConfigError> {
    let Some(raw) = raw else { return Ok(fallback) };
    let text = raw.trim();
    if text.is_empty() {
        return Ok(fallback);
    }
    let value =
        js_number(text).ok_or_else(|| ConfigError::NotANumber { name, value: raw.into() })?;
    if value.fract() != 0.0 {
        return Err(ConfigError::NotAnInteger { name, value: text.into() });
    }
    if value < min as f64 {
        return Err(ConfigError::TooSmall { name, min, value: text.into() });
    }
    let max = max.unwrap_or(MAX_SAFE_INTEGER).min(MAX_SAFE_INTEGER);
    if value > max as f64 {
        return Err(ConfigError::TooLarge { name, max, value: text.into() });
    }
    Ok(value as u64)
}

/// JavaScript `Number(text)` for an already-trimmed, non-empty string;
/// `None` when the result would be `NaN` or infinite.
pub(crate) fn js_number(text: &str) -> Option<f64> {
    for (prefix, radix) in [("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)] {
        if let Some(digits) = text.strip_prefix(prefix) {
            return u64::from_str_radix(digits, radix).ok().map(|v| v as f64);
        }
    }
    // Rust's float grammar also takes "inf"/"nan"/"infinity"; JavaScript's
    // `Number` takes only "Infinity", which is rejected as non-finite anyway.
    let plain = text.strip_prefix(['+', '-']).unwrap_or(text);
    if !plain.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    value.is_finite().then_some(value)
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

impl SpawnerConfig {
    /// `loadConfig()` (config.ts) restricted to the fields of this struct.
    /// `env` returns the value of a variable, `None` when unset.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = SpawnerConfig::default();
        let get = |name: &str| env(name);
        let num = |name: &'static str, fallback: u64, min: u64| {
            num_env(name, get(name).as_deref(), fallback, min, None)
        };

        let cache_mode = match get("SANDBOX_CACHE").as_deref() {
            None | Some("none") => CacheMode::None,
            Some("pvc") => CacheMode::Pvc,
            Some(other) => {
                return Err(ConfigError::UnknownValue {
                    name: "SANDBOX_CACHE",
                    allowed: "'none' or 'pvc'",
                    value: other.into(),
                });
            }
        };
        let runtime_tier = match get("SANDBOX_RUNTIME").as_deref() {
            None | Some("runc") => RuntimeTier::Runc,
            Some("gvisor") | Some("runsc") => RuntimeTier::Gvisor,
            Some("sysbox") => RuntimeTier::Sysbox,
            Some("kata") => RuntimeTier::Kata,
            Some(other) => {
                return Err(ConfigError::UnknownValue {
                    name: "SANDBOX_RUNTIME",
                    allowed: "runc, gvisor (runsc), sysbox, kata",
                    value: other.into(),
                });
            }
        };
        let docker_in_container = match get("SANDBOX_DOCKER_IN_CONTAINER").as_deref().map(str::trim)
        {
            None | Some("") | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => {
                return Err(ConfigError::UnknownValue {
                    name: "SANDBOX_DOCKER_IN_CONTAINER",
                    allowed: "true, false, 1, 0",
                    value: other.into(),
                });
            }
        };
        let variant = match get("TALE_SANDBOX_CONTRACT_VARIANT").as_deref() {
            None | Some("user-attest-ulimit") => ContractVariant::UserAttestUlimit,
            Some("user") => ContractVariant::User,
            Some("workspace") => ContractVariant::Workspace,
            Some(other) => {
                return Err(ConfigError::UnknownValue {
                    name: "TALE_SANDBOX_CONTRACT_VARIANT",
                    allowed: "user-attest-ulimit, user, workspace",
                    value: other.into(),
                });
            }
        };
        // A tier without a class never gets one from SANDBOX_RUNTIME_CLASS.
        let runtime_class_name = runtime_tier
            .default_runtime_class()
            .map(|default| get("SANDBOX_RUNTIME_CLASS").unwrap_or_else(|| default.to_string()));

        Ok(SpawnerConfig {
            default_timeout_ms: num("SANDBOX_DEFAULT_TIMEOUT_MS", d.default_timeout_ms, 1)?,
            max_timeout_ms: num("SANDBOX_MAX_TIMEOUT_MS", d.max_timeout_ms, 1)?,
            stdout_max_bytes: num("SANDBOX_STDOUT_MAX_BYTES", d.stdout_max_bytes, 1024)?,
            stderr_max_bytes: num("SANDBOX_STDERR_MAX_BYTES", d.stderr_max_bytes, 1024)?,
            output_file_max_bytes: num(
                "SANDBOX_OUTPUT_FILE_MAX_BYTES",
                d.output_file_max_bytes,
                1024,
            )?,
            output_total_max_bytes: num(
                "SANDBOX_OUTPUT_TOTAL_MAX_BYTES",
                d.output_total_max_bytes,
                1024,
            )?,
            sandbox_token: non_empty(get("SANDBOX_TOKEN")),
            runtime_image: get("SANDBOX_RUNTIME_IMAGE").unwrap_or(d.runtime_image),
            egress_proxy: get("SANDBOX_EGRESS_PROXY").unwrap_or(d.egress_proxy),
            cache_volume_prefix: CacheVolumePrefix {
                pip: get("SANDBOX_PIP_CACHE_VOLUME_PREFIX").unwrap_or(d.cache_volume_prefix.pip),
                npm: get("SANDBOX_NPM_CACHE_VOLUME_PREFIX").unwrap_or(d.cache_volume_prefix.npm),
            },
            k8s: K8sConfig {
                namespace: get("SANDBOX_K8S_NAMESPACE").unwrap_or(d.k8s.namespace),
                runtime_class_name,
                spawner_image: get("SANDBOX_SPAWNER_IMAGE").unwrap_or(d.k8s.spawner_image),
                cache_mode,
                workspace_size_limit: get("SANDBOX_K8S_WORKSPACE_SIZE_LIMIT")
                    .unwrap_or(d.k8s.workspace_size_limit),
                cache_storage_class: non_empty(get("SANDBOX_K8S_CACHE_STORAGECLASS")),
            },
            runtime_tier,
            docker_in_container,
            variant,
        })
    }

    /// The timeout clamp of `execute` (§1.2 step 2):
    /// `Math.min(Math.max(requested ?? defaultTimeoutMs, 1000), maxTimeoutMs)`
    /// on JavaScript numbers: a fraction is kept (`1500.5`), a negative value
    /// or `-Infinity` gives 1000, `Infinity` gives `maxTimeoutMs`, `NaN`
    /// stays `NaN`. The result is finite unless `requested` is `NaN`.
    pub fn clamp_timeout_ms(&self, requested: Option<f64>) -> f64 {
        let requested = requested.unwrap_or(self.default_timeout_ms as f64);
        if requested.is_nan() {
            return requested;
        }
        requested.max(crate::constants::MIN_TIMEOUT_MS as f64).min(self.max_timeout_ms as f64)
    }
}
