//! `buildSandboxPod` (k8s-pod-spec.ts, spec §4.3–§4.6) as a k8s-openapi `Pod`.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, Pod, PodSecurityContext, PodSpec,
    ResourceRequirements, SeccompProfile, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::config::{CacheMode, ContractVariant, SpawnerConfig};
use crate::constants::{
    ATTEST_DIR, CACHE_PVC_STORAGE, EXEC_SPEC_MOUNT_DIR, HARVEST_CONTAINER, HARVEST_ENTRY,
    LABEL_CACHE, LABEL_VALUE_SET, RUNNER_CONTAINER, RUNTIME_GID, RUNTIME_UID, STAGE_CONTAINER,
    STAGE_ENTRY,
};
use crate::error::{PodSpecError, RequestError};
use crate::names::{
    is_allowed_user_env_name, is_safe_entry_path, is_safe_execution_id, is_safe_organization_id,
    pod_annotations, pod_labels, pod_name_for, pvc_name_for, secret_name_for,
};
use crate::wire::{CacheStores, ExecuteRequest, Language};

/// The `ulimit` line of the attest variant (docker parity: pids 128, fsize
/// 100 MiB in 512-byte blocks, cpu 600 s, no core files).
pub const RUNNER_ULIMIT_LINE: &str = "ulimit -u 128 -f 204800 -t 600 -c 0";

/// `SandboxPodInput` (k8s-pod-spec.ts).
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxPodInput {
    /// Raw execution id (validated against `ID_RE`).
    pub execution_id: String,
    /// Raw organization id (validated against `ORG_RE`).
    pub organization_id: String,
    /// Runtime language (python, node or polyglot).
    pub language: Language,
    /// Entry path handed to `/entrypoint.sh` as `$3` (validated against `ENTRY_PATH_RE`).
    pub entry_path: String,
    /// Wall-clock start, written to the `tale.dev/started-at` annotation.
    pub started_at_ms: i64,
    /// Cache claims; only used when `cfg.k8s.cacheMode` is `pvc`.
    pub cache: Option<CacheStores>,
    /// Step-scoped env for the runner (ignored by the `/workspace` variant).
    pub user_env: Option<IndexMap<String, String>>,
}

impl SandboxPodInput {
    /// The builder input `execute` derives from a request (§1.2 step 8):
    /// ids, language, [`ExecuteRequest::runner_entry_path`], `startedAtMs`,
    /// the cache claims, and `req.env` as `userEnv`.
    pub fn from_request(
        req: &ExecuteRequest,
        variant: ContractVariant,
        started_at_ms: i64,
        cache: Option<CacheStores>,
    ) -> Result<Self, RequestError> {
        Ok(SandboxPodInput {
            execution_id: req.execution_id.clone(),
            organization_id: req.organization_id.clone(),
            language: req.language,
            entry_path: req.runner_entry_path(variant)?,
            started_at_ms,
            cache,
            user_env: req.env.clone(),
        })
    }
}

/// `CacheStores` for an organization (`ensureCachePvcs`, k8s-cache.ts): the
/// pip and npm claim names derived from the configured prefixes.
pub fn cache_stores_for(cfg: &SpawnerConfig, organization_id: &str) -> CacheStores {
    CacheStores {
        pip: pvc_name_for(&cfg.cache_volume_prefix.pip, organization_id),
        npm: pvc_name_for(&cfg.cache_volume_prefix.npm, organization_id),
    }
}

/// The cache PVC body `ensureCachePvcs` POSTs on a 404 (spec §4.8):
/// `ReadWriteMany`, `2Gi`, label `tale.sandbox-cache: "1"`, and
/// `storageClassName` only when `SANDBOX_K8S_CACHE_STORAGECLASS` is set.
pub fn build_cache_pvc(cfg: &SpawnerConfig, claim_name: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(claim_name.to_string()),
            labels: Some([(LABEL_CACHE.to_string(), LABEL_VALUE_SET.to_string())].into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteMany".into()]),
            storage_class_name: cfg.k8s.cache_storage_class.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(quantities(&[("storage", CACHE_PVC_STORAGE)])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: None,
    }
}

/// `RUNNER_WRAPPER` (k8s-pod-spec.ts): the runner's `sh -c` script. The last
/// line is always the `echo` into the exit-code file, so a surviving wrapper
/// exits 0.
pub fn runner_wrapper(variant: ContractVariant) -> String {
    let mut lines = vec![format!("mkdir -p {}", variant.tale_dir())];
    if variant.has_ulimit() {
        lines.push(RUNNER_ULIMIT_LINE.to_string());
    }
    lines.push(format!("/entrypoint.sh \"$0\" \"$1\" \"$2\" \"$3\" 2>{}", variant.stderr_path()));
    lines.push(format!("echo $? > {}", variant.exit_code_path()));
    lines.join("\n")
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), ..Default::default() }
}

fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount { name: name.into(), mount_path: path.into(), ..Default::default() }
}

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()
}

fn empty_dir(name: &str, medium: Option<&str>, size_limit: Option<&str>) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: medium.map(Into::into),
            size_limit: size_limit.map(|s| Quantity(s.into())),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn runtime_default_seccomp() -> SeccompProfile {
    SeccompProfile { type_: "RuntimeDefault".into(), ..Default::default() }
}

/// `hardenedSecurityContext`: identical on all three containers.
fn hardened_security_context() -> SecurityContext {
    SecurityContext {
        run_as_user: Some(RUNTIME_UID),
        run_as_group: Some(RUNTIME_GID),
        run_as_non_root: Some(true),
        read_only_root_filesystem: Some(true),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Default::default() }),
        seccomp_profile: Some(runtime_default_seccomp()),
        ..Default::default()
    }
}

fn helper_container(name: &str, entry: &str, cfg: &SpawnerConfig) -> Container {
    let variant = cfg.variant;
    let mut mounts = vec![
        mount("workspace", variant.workspace_mount()),
        VolumeMount { read_only: Some(true), ..mount("exec-spec", EXEC_SPEC_MOUNT_DIR) },
        mount("helper-tmp", "/helper-tmp"),
    ];
    if variant.has_attest_volume() {
        mounts.push(mount("attest", ATTEST_DIR));
    }
    Container {
        name: name.into(),
        image: Some(cfg.k8s.spawner_image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["bun".into(), entry.into()]),
        working_dir: Some("/app".into()),
        env: Some(vec![env("HOME", "/helper-tmp"), env("TMPDIR", "/helper-tmp")]),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(&[("cpu", "100m"), ("memory", "256Mi")])),
            limits: Some(quantities(&[("cpu", "1"), ("memory", "1Gi")])),
            ..Default::default()
        }),
        security_context: Some(hardened_security_context()),
        volume_mounts: Some(mounts),
        ..Default::default()
    }
}

/// Validate the builder input like `buildSandboxPod` does, in its order:
/// executionId, organizationId, entryPath, language.
pub fn validate_pod_input(
    inp: &SandboxPodInput,
    variant: ContractVariant,
) -> Result<(), PodSpecError> {
    let unsafe_value = |field: &'static str, value: &str| PodSpecError::UnsafeValue {
        field,
        value: value.to_string(),
    };
    if !is_safe_execution_id(&inp.execution_id) {
        return Err(unsafe_value("executionId", &inp.execution_id));
    }
    if !is_safe_organization_id(&inp.organization_id) {
        return Err(unsafe_value("organizationId", &inp.organization_id));
    }
    if !is_safe_entry_path(&inp.entry_path, variant) {
        return Err(unsafe_value("entryPath", &inp.entry_path));
    }
    if !inp.language.is_backend_supported() {
        return Err(PodSpecError::BadLanguage(inp.language.as_str().to_string()));
    }
    Ok(())
}

/// `buildSandboxPod(cfg, input)` (k8s-pod-spec.ts): the one-shot sandbox Pod
/// (`stage` initContainer, `runner` + `harvest` containers, shared workspace).
/// The shape follows `cfg.variant`.
pub fn build_sandbox_pod(cfg: &SpawnerConfig, inp: &SandboxPodInput) -> Result<Pod, PodSpecError> {
    let variant = cfg.variant;
    validate_pod_input(inp, variant)?;
    let ws = variant.workspace_mount();
    let pvc_cache = match (&inp.cache, cfg.k8s.cache_mode) {
        (Some(cache), CacheMode::Pvc) => Some(cache),
        _ => None,
    };

    let mut runner_env = vec![
        env("HTTPS_PROXY", &cfg.egress_proxy),
        env("HTTP_PROXY", &cfg.egress_proxy),
        env("NO_PROXY", "127.0.0.1,localhost"),
        env("HOME", "/tmp"),
    ];
    if pvc_cache.is_some() {
        runner_env.push(env("PIP_CACHE_DIR", "/cache/pip"));
        runner_env.push(env("UV_CACHE_DIR", "/cache/pip"));
        runner_env.push(env("NPM_CONFIG_CACHE", "/cache/npm"));
    }
    let user_env = inp.user_env.as_ref().filter(|_| variant.passes_user_env());
    runner_env.extend(
        user_env
            .into_iter()
            .flatten()
            .filter(|(name, _)| is_allowed_user_env_name(name))
            .map(|(name, value)| env(name, value)),
    );

    let mut runner_mounts = vec![mount("workspace", ws), mount("tmp", "/tmp")];
    let mut volumes = vec![
        empty_dir("workspace", None, Some(&cfg.k8s.workspace_size_limit)),
        empty_dir("tmp", Some("Memory"), Some("128Mi")),
        Volume {
            name: "exec-spec".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret_name_for(&inp.execution_id)),
                ..Default::default()
            }),
            ..Default::default()
        },
        empty_dir("helper-tmp", Some("Memory"), Some("64Mi")),
    ];
    if let Some(cache) = pvc_cache {
        runner_mounts.push(mount("pip-cache", "/cache/pip"));
        runner_mounts.push(mount("npm-cache", "/cache/npm"));
        for (name, claim) in [("pip-cache", &cache.pip), ("npm-cache", &cache.npm)] {
            volumes.push(Volume {
                name: name.into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
    }
    if variant.has_attest_volume() {
        // Only "an emptyDir" is known of the TypeScript attest volume (spec §4.6).
        volumes.push(empty_dir("attest", None, None));
    }

    let runner = Container {
        name: RUNNER_CONTAINER.into(),
        image: Some(cfg.runtime_image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), runner_wrapper(variant)]),
        args: Some(vec![
            inp.language.as_str().into(),
            format!("{ws}/code/packages.json"),
            format!("{ws}/code/options.json"),
            inp.entry_path.clone(),
        ]),
        env: Some(runner_env),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(&[("cpu", "1"), ("memory", "1500Mi")])),
            limits: Some(quantities(&[("cpu", "1"), ("memory", "1500Mi")])),
            ..Default::default()
        }),
        security_context: Some(hardened_security_context()),
        volume_mounts: Some(runner_mounts),
        ..Default::default()
    };

    Ok(Pod {
        metadata: ObjectMeta {
            name: Some(pod_name_for(&inp.execution_id)),
            namespace: Some(cfg.k8s.namespace.clone()),
            labels: Some(pod_labels()),
            annotations: Some(pod_annotations(
                &inp.execution_id,
                &inp.organization_id,
                inp.started_at_ms,
            )),
            ..Default::default()
        },
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            termination_grace_period_seconds: Some(0),
            runtime_class_name: cfg.k8s.runtime_class_name.clone(),
            security_context: Some(PodSecurityContext {
                fs_group: Some(RUNTIME_GID),
                seccomp_profile: Some(runtime_default_seccomp()),
                ..Default::default()
            }),
            volumes: Some(volumes),
            init_containers: Some(vec![helper_container(STAGE_CONTAINER, STAGE_ENTRY, cfg)]),
            containers: vec![runner, helper_container(HARVEST_CONTAINER, HARVEST_ENTRY, cfg)],
            ..Default::default()
        }),
        status: None,
    })
}
