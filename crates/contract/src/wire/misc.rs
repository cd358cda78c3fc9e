//! Phase events, `HealthResult`, `CacheStores` (wire.ts, backend/types.ts).

use serde::{Deserialize, Serialize};

/// `SandboxPhaseEvent` (wire.ts). The Kubernetes scanner emits only
/// `installing` and `running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// `preparing`.
    Preparing,
    /// `installing`.
    Installing,
    /// `running`.
    Running,
    /// `completed`.
    Completed,
}

/// `HealthResult` (backend/types.ts): `{ ok: true, detail }` or `{ ok: false, error }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthResult {
    /// `{ ok: true, detail }`.
    Healthy {
        /// e.g. `k8s namespace=<ns>`.
        detail: String,
    },
    /// `{ ok: false, error }`.
    Unhealthy {
        /// The error message.
        error: String,
    },
}

#[derive(Serialize, Deserialize)]
struct HealthWire {
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Serialize for HealthResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let wire = match self {
            HealthResult::Healthy { detail } => {
                HealthWire { ok: true, detail: Some(detail.clone()), error: None }
            }
            HealthResult::Unhealthy { error } => {
                HealthWire { ok: false, detail: None, error: Some(error.clone()) }
            }
        };
        wire.serialize(s)
    }
}

impl<'de> Deserialize<'de> for HealthResult {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = HealthWire::deserialize(d)?;
        match (wire.ok, wire.detail, wire.error) {
            (true, Some(detail), None) => Ok(HealthResult::Healthy { detail }),
            (false, None, Some(error)) => Ok(HealthResult::Unhealthy { error }),
            _ => Err(serde::de::Error::custom(
                "HealthResult needs {ok:true,detail} or {ok:false,error}",
            )),
        }
    }
}

/// `CacheStores` (backend/types.ts): the per-organization cache PVC claim names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStores {
    /// pip cache claim.
    pub pip: String,
    /// npm cache claim.
    pub npm: String,
}

impl HealthResult {
    /// `health()` success: `{ ok: true, detail: "k8s namespace=<ns>" }`.
    pub fn for_namespace(namespace: &str) -> Self {
        HealthResult::Healthy { detail: format!("k8s namespace={namespace}") }
    }
}
