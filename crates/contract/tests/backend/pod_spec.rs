//! Spec §7.5 (`k8s-pod-spec.test.ts`, /user + attest version), the name
//! safety checks of §2.3 and the variants of §4.

use crate::fixture::*;
use k8s_openapi::api::core::v1::{Container, Pod};
use tale_sandbox_contract::config::{CacheMode, ContractVariant};
use tale_sandbox_contract::error::PodSpecError;
use tale_sandbox_contract::names::*;
use tale_sandbox_contract::pod::*;
use tale_sandbox_contract::wire::{CacheStores, Language};

fn build(variant: ContractVariant) -> Pod {
    build_sandbox_pod(&fixture_config(variant), &pod_input()).unwrap()
}

fn default_pod() -> Pod {
    build(ContractVariant::UserAttestUlimit)
}

fn container<'a>(pod: &'a Pod, name: &str) -> &'a Container {
    let spec = pod.spec.as_ref().unwrap();
    spec.containers
        .iter()
        .chain(spec.init_containers.as_deref().unwrap_or_default())
        .find(|c| c.name == name)
        .unwrap()
}

fn mounts(c: &Container) -> Vec<(String, String, Option<bool>)> {
    c.volume_mounts
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|m| (m.name.clone(), m.mount_path.clone(), m.read_only))
        .collect()
}

fn env_names(c: &Container) -> Vec<String> {
    c.env.as_deref().unwrap_or_default().iter().map(|e| e.name.clone()).collect()
}

fn is_lower_hex(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[test]
fn pod_name_is_deterministic_dns_safe_and_prefixed() {
    let a = pod_name_for(EXEC_ID);
    assert_eq!(a, pod_name_for(EXEC_ID));
    assert!(a.starts_with("tale-sbx-") && a.len() <= 63);
    assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    // sha1("k74m9zr5b8jcgvx2pqfwsdyhntq3l1a0") starts with 68e46bf12cb2eecd (computed with Python hashlib).
    assert_eq!(a, "tale-sbx-68e46bf12cb2eecd");
    for ugly in ["UPPER_case__id", "a", &"x".repeat(64), "ünïcode id with spaces"] {
        let name = pod_name_for(ugly);
        let hash = name.strip_prefix("tale-sbx-").unwrap();
        assert!(hash.len() == 16 && is_lower_hex(hash), "{name}");
    }
    assert_ne!(pod_name_for("a"), pod_name_for("b"));
}

#[test]
fn secret_and_pvc_names() {
    let s = secret_name_for(EXEC_ID);
    assert_eq!(s, "tale-sbx-68e46bf12cb2eecd-spec");
    assert!(s.len() <= 63);
    assert_eq!(
        pvc_name_for("tale-sandbox-pip-cache", ORG_ID),
        "tale-sandbox-pip-cache-485789cc4c764d82"
    );
}

#[test]
fn metadata_labels_and_annotations() {
    let pod = default_pod();
    let labels = pod.metadata.labels.as_ref().unwrap();
    assert_eq!(labels["tale.sandbox"], "1");
    assert_eq!(labels["tale.sandbox/role"], "runtime");
    let ann = pod.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann["tale.dev/execution-id"], EXEC_ID);
    assert_eq!(ann["tale.dev/organization-id"], ORG_ID);
    assert_eq!(ann["tale.dev/started-at"], "1700000000000");
    assert_eq!(pod.metadata.namespace.as_deref(), Some("tale-sandbox"));
}

#[test]
fn pod_hardening() {
    let pod = default_pod();
    let spec = pod.spec.as_ref().unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
    assert_eq!(spec.automount_service_account_token, Some(false));
    assert_eq!(spec.enable_service_links, Some(false));
    assert_eq!(spec.termination_grace_period_seconds, Some(0));
    let psc = spec.security_context.as_ref().unwrap();
    assert_eq!(psc.fs_group, Some(65534));
    assert_eq!(psc.seccomp_profile.as_ref().unwrap().type_, "RuntimeDefault");
    for name in ["stage", "runner", "harvest"] {
        let sc = container(&pod, name).security_context.as_ref().unwrap();
        assert_eq!(
            (sc.run_as_user, sc.run_as_group, sc.run_as_non_root),
            (Some(65534), Some(65534), Some(true)),
            "{name}"
        );
        assert_eq!(
            (sc.read_only_root_filesystem, sc.allow_privilege_escalation),
            (Some(true), Some(false)),
            "{name}"
        );
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_deref(),
            Some(&["ALL".to_string()][..])
        );
    }
    assert!(spec.active_deadline_seconds.is_none() && spec.service_account_name.is_none());
}

#[test]
fn container_shape() {
    let pod = default_pod();
    let spec = pod.spec.as_ref().unwrap();
    let init: Vec<_> =
        spec.init_containers.as_deref().unwrap().iter().map(|c| c.name.as_str()).collect();
    let main: Vec<_> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(init, ["stage"]);
    assert_eq!(main, ["runner", "harvest"]);
}

#[test]
fn runner_command_args_resources() {
    let pod = default_pod();
    let runner = container(&pod, "runner");
    assert_eq!(runner.image.as_deref(), Some("tale-sandbox-runtime:test"));
    assert_eq!(runner.image_pull_policy.as_deref(), Some("IfNotPresent"));
    let cmd = runner.command.as_deref().unwrap();
    assert_eq!(&cmd[..2], ["/bin/sh", "-c"]);
    let wrapper = &cmd[2];
    assert!(wrapper.contains(r#"/entrypoint.sh "$0" "$1" "$2" "$3""#));
    assert!(wrapper.contains("2>/user/.runtime/tale/stderr.log"));
    assert!(wrapper.contains("echo $? > /user/.runtime/tale/exit-code"));
    assert!(!wrapper.contains(".staged") && !wrapper.contains("exec /entrypoint.sh"));
    assert!(wrapper.contains("ulimit -u 128 -f 204800 -t 600 -c 0"));
    assert_eq!(wrapper.lines().last(), Some("echo $? > /user/.runtime/tale/exit-code"));
    assert_eq!(
        runner.args.as_deref().unwrap(),
        ["python", "/user/code/packages.json", "/user/code/options.json", "main.py"]
    );
    let res = runner.resources.as_ref().unwrap();
    for map in [res.requests.as_ref().unwrap(), res.limits.as_ref().unwrap()] {
        assert_eq!(map["cpu"].0, "1");
        assert_eq!(map["memory"].0, "1500Mi");
    }
}

#[test]
fn runner_env_proxy_no_cache_no_token_and_filtered_user_env() {
    let pod = default_pod();
    let runner = container(&pod, "runner");
    assert_eq!(
        env_names(runner),
        ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "HOME", "FOO", "MY_VAR"]
    );
    let env = runner.env.as_deref().unwrap();
    assert_eq!(env[0].value.as_deref(), Some("http://sandbox-egress:3128"));
    assert_eq!(env[2].value.as_deref(), Some("127.0.0.1,localhost"));
    assert!(!env_names(runner).iter().any(|n| n == "SANDBOX_TOKEN" || n.contains("CACHE")));
}

#[test]
fn secret_only_in_helpers_and_attest_not_in_runner() {
    let pod = default_pod();
    for helper in ["stage", "harvest"] {
        let m = mounts(container(&pod, helper));
        assert!(m.contains(&("exec-spec".into(), "/tale".into(), Some(true))), "{helper}");
        assert!(m.contains(&("attest".into(), "/attest".into(), None)), "{helper}");
        assert!(m.contains(&("workspace".into(), "/user".into(), None)), "{helper}");
        let c = container(&pod, helper);
        assert_eq!(c.image.as_deref(), Some("tale-sandbox:test"));
        assert_eq!(c.command.as_deref().unwrap()[0], "bun");
        assert_eq!(c.working_dir.as_deref(), Some("/app"));
    }
    assert_eq!(
        container(&pod, "stage").command.as_deref().unwrap()[1],
        "/app/src/backend/kubernetes/k8s-stage.ts"
    );
    assert_eq!(
        container(&pod, "harvest").command.as_deref().unwrap()[1],
        "/app/src/backend/kubernetes/k8s-harvest.ts"
    );
    let runner = mounts(container(&pod, "runner"));
    assert!(runner.iter().all(|(name, _, _)| name != "exec-spec" && name != "attest"));
    assert!(runner.contains(&("workspace".into(), "/user".into(), None)));
    assert!(!ContractVariant::UserAttestUlimit.prestage_path().starts_with("/user/"));
    assert_eq!(ContractVariant::UserAttestUlimit.prestage_path(), "/attest/prestage.json");
}

#[test]
fn workspace_size_limit_and_runtime_class() {
    let mut cfg = fixture_config(ContractVariant::UserAttestUlimit);
    cfg.k8s.workspace_size_limit = "10Gi".into();
    let pod = build_sandbox_pod(&cfg, &pod_input()).unwrap();
    let spec = pod.spec.as_ref().unwrap();
    let ws = &spec.volumes.as_deref().unwrap()[0];
    assert_eq!(ws.empty_dir.as_ref().unwrap().size_limit.as_ref().unwrap().0, "10Gi");
    assert!(spec.runtime_class_name.is_none());
    let json = serde_json::to_value(&pod).unwrap();
    assert!(json["spec"].get("runtimeClassName").is_none(), "key omitted for runc");
    for class in ["gvisor", "sysbox-runc"] {
        cfg.k8s.runtime_class_name = Some(class.into());
        let pod = build_sandbox_pod(&cfg, &pod_input()).unwrap();
        assert_eq!(pod.spec.unwrap().runtime_class_name.as_deref(), Some(class));
    }
}

#[test]
fn pvc_mode_mounts_claims_and_sets_cache_env() {
    let mut cfg = fixture_config(ContractVariant::UserAttestUlimit);
    cfg.k8s.cache_mode = CacheMode::Pvc;
    let mut input = pod_input();
    input.cache = Some(CacheStores { pip: "pip-claim".into(), npm: "npm-claim".into() });
    let pod = build_sandbox_pod(&cfg, &input).unwrap();
    let runner = container(&pod, "runner");
    let names = env_names(runner);
    assert!(names.contains(&"PIP_CACHE_DIR".into()) && names.contains(&"NPM_CONFIG_CACHE".into()));
    assert!(mounts(runner).contains(&("pip-cache".into(), "/cache/pip".into(), None)));
    // pvc mode without cache stores, and cache stores in none mode: no cache.
    let no_cache = build_sandbox_pod(&cfg, &pod_input()).unwrap();
    assert!(!env_names(container(&no_cache, "runner")).contains(&"PIP_CACHE_DIR".into()));
    let none_mode =
        build_sandbox_pod(&fixture_config(ContractVariant::UserAttestUlimit), &input).unwrap();
    assert!(!env_names(container(&none_mode, "runner")).contains(&"PIP_CACHE_DIR".into()));
}

#[test]
fn rejects_unsafe_inputs_naming_the_field() {
    let cfg = fixture_config(ContractVariant::UserAttestUlimit);
    type Mutation = Box<dyn Fn(&mut SandboxPodInput)>;
    let cases: [(&str, Mutation); 3] = [
        ("executionId", Box::new(|i| i.execution_id = "bad;id".into())),
        ("organizationId", Box::new(|i| i.organization_id = "org 456".into())),
        ("entryPath", Box::new(|i| i.entry_path = "../escape.py".into())),
    ];
    for (field, mutate) in cases {
        let mut input = pod_input();
        mutate(&mut input);
        let err = build_sandbox_pod(&cfg, &input).unwrap_err();
        assert!(matches!(&err, PodSpecError::UnsafeValue { field: f, .. } if *f == field), "{err}");
        assert!(err.to_string().contains(field), "{err}");
    }
    let mut input = pod_input();
    input.entry_path = "../escape.py".into();
    assert_eq!(
        build_sandbox_pod(&cfg, &input).unwrap_err().to_string(),
        r#"k8s-pod-spec: entryPath value rejected by safety regex: "../escape.py""#
    );
    let mut input = pod_input();
    input.language = Language::Bash;
    assert_eq!(
        build_sandbox_pod(&cfg, &input).unwrap_err().to_string(),
        "k8s-pod-spec: bad language: bash"
    );
}

#[test]
fn entry_path_rule_equals_the_lookahead_regex() {
    let user = ContractVariant::User;
    let ws = ContractVariant::Workspace;
    let ok_user = [
        "main.py",
        "src/app.js",
        "_x",
        "-x",
        "a.b.c",
        "/user/code/main.py",
        "/user/code/.hidden",
        "/user/.runtime/tale/runner.py",
        "/user/code/a/b/c.py",
        "a./b",
        &"a".repeat(256),
    ];
    for p in ok_user {
        assert!(is_safe_entry_path(p, user), "{p} should pass");
    }
    let bad_user = [
        "",
        "../escape.py",
        "a/../b",
        "a..b",
        ".hidden",
        "/etc/passwd",
        "/user/code/",
        "/user/code/../x",
        "/user/code/a..",
        "/user/output/x.py",
        "/workspace/code/main.py",
        "main py",
        "main.py\n",
        "a;b",
        "ü.py",
        &"a".repeat(257),
        "/user/.runtime/tale/",
        "/user/.runtime/talex/a",
    ];
    for p in bad_user {
        assert!(!is_safe_entry_path(p, user), "{p:?} should fail");
    }
    assert!(is_safe_entry_path(&format!("/user/code/{}", "a".repeat(256)), user));
    assert!(!is_safe_entry_path(&format!("/user/code/{}", "a".repeat(257)), user));
    assert!(is_safe_entry_path("/workspace/code/main.py", ws));
    assert!(is_safe_entry_path("/workspace/.tale/runner.js", ws));
    assert!(!is_safe_entry_path("/user/code/main.py", ws));
    assert!(!is_safe_entry_path("/workspace/.tale/../x", ws));
}

#[test]
fn id_and_env_name_checks() {
    assert!(is_safe_execution_id(&"a".repeat(64)) && !is_safe_execution_id(&"a".repeat(65)));
    assert!(
        is_safe_organization_id(&"a".repeat(128)) && !is_safe_organization_id(&"a".repeat(129))
    );
    assert!(
        !is_safe_execution_id("") && !is_safe_execution_id("a b") && !is_safe_execution_id("é")
    );
    assert!(is_allowed_user_env_name("FOO") && is_allowed_user_env_name("_x1"));
    for bad in ["", "1A", "A-B", "home", "Path", "http_proxy", "TMPDIR", "uv_cache_dir"] {
        assert!(!is_allowed_user_env_name(bad), "{bad}");
    }
}

#[test]
fn workspace_variant_paths() {
    let pod = build(ContractVariant::Workspace);
    let runner = container(&pod, "runner");
    let wrapper = &runner.command.as_deref().unwrap()[2];
    assert_eq!(
        wrapper,
        "mkdir -p /workspace/.tale\n/entrypoint.sh \"$0\" \"$1\" \"$2\" \"$3\" 2>/workspace/.tale/stderr.log\necho $? > /workspace/.tale/exit-code"
    );
    assert_eq!(runner.args.as_deref().unwrap()[1], "/workspace/code/packages.json");
    assert_eq!(
        env_names(runner),
        ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "HOME"],
        "no userEnv in the /workspace era"
    );
}

#[test]
fn entry_path_from_request() {
    use tale_sandbox_contract::error::RequestError;
    use tale_sandbox_contract::wire::ExecuteRequest;
    let mut req = fixture_request();
    assert_eq!(req.runner_entry_path(ContractVariant::User).unwrap(), "main.py");
    req.steps = Some(vec!["a.py".into()]);
    assert_eq!(
        req.runner_entry_path(ContractVariant::User).unwrap(),
        "/user/.runtime/tale/runner.py"
    );
    assert_eq!(
        req.runner_entry_path(ContractVariant::Workspace).unwrap(),
        "/workspace/.tale/runner.py"
    );
    req.language = Language::Node;
    assert_eq!(
        req.runner_entry_path(ContractVariant::UserAttestUlimit).unwrap(),
        "/user/.runtime/tale/runner.js"
    );
    req.language = Language::Polyglot;
    assert_eq!(
        req.runner_entry_path(ContractVariant::User).unwrap(),
        "/user/.runtime/tale/runner.py"
    );
    // The generated wrapper paths pass the entry-path safety check of their era.
    for v in [ContractVariant::Workspace, ContractVariant::User, ContractVariant::UserAttestUlimit]
    {
        assert!(is_safe_entry_path(&req.runner_entry_path(v).unwrap(), v));
    }
    let neither = ExecuteRequest { steps: None, entry_path: None, ..fixture_request() };
    assert_eq!(neither.runner_entry_path(ContractVariant::User), Err(RequestError::MissingEntry));
}

#[test]
fn pod_input_from_request_builds_the_golden_pod() {
    let mut req = fixture_request();
    req.env = Some(fixture_user_env());
    let input =
        SandboxPodInput::from_request(&req, ContractVariant::UserAttestUlimit, NOW, None).unwrap();
    assert_eq!(input, pod_input());
}

/// The README's security section: the exec Secret reaches the pod only as the read-only
/// `exec-spec` volume of the `stage` and `harvest` helpers, in every contract variant and cache
/// mode: one volume refers to it, no other container mounts that volume, and no container takes
/// any Secret through `env` or `envFrom`. Every container runs hardened, seccomp included.
#[test]
fn exec_secret_reaches_only_the_helpers_and_every_container_is_hardened() {
    for variant in
        [ContractVariant::Workspace, ContractVariant::User, ContractVariant::UserAttestUlimit]
    {
        for cache in [CacheMode::None, CacheMode::Pvc] {
            let mut cfg = fixture_config(variant);
            cfg.k8s.cache_mode = cache;
            let pod = build_sandbox_pod(&cfg, &pod_input()).unwrap();
            let spec = pod.spec.as_ref().unwrap();
            let secret_volumes: Vec<_> = spec
                .volumes
                .as_deref()
                .unwrap()
                .iter()
                .filter_map(|v| v.secret.as_ref().map(|s| (v.name.as_str(), s)))
                .collect();
            assert_eq!(secret_volumes.len(), 1, "{variant:?} {cache:?}");
            let (volume, source) = secret_volumes[0];
            assert_eq!(volume, "exec-spec");
            assert_eq!(source.secret_name.as_deref(), Some(secret_name_for(EXEC_ID).as_str()));
            let all = spec.containers.iter().chain(spec.init_containers.as_deref().unwrap());
            let mut mounting = Vec::new();
            for c in all {
                for m in c.volume_mounts.as_deref().unwrap_or_default() {
                    if m.name == volume {
                        assert_eq!(m.read_only, Some(true), "{} mounts it writable", c.name);
                        mounting.push(c.name.clone());
                    }
                }
                let env = c.env.as_deref().unwrap_or_default();
                assert!(
                    env.iter().all(|e| e.value_from.is_none()),
                    "{}: an env var taken from elsewhere",
                    c.name
                );
                assert!(c.env_from.is_none(), "{}: envFrom", c.name);
                let sc = c.security_context.as_ref().unwrap();
                assert_eq!(
                    sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()),
                    Some("RuntimeDefault"),
                    "{}",
                    c.name
                );
                assert_eq!(sc.privileged, None, "{}", c.name);
                assert_eq!(
                    (sc.run_as_non_root, sc.allow_privilege_escalation),
                    (Some(true), Some(false)),
                    "{}",
                    c.name
                );
            }
            mounting.sort();
            assert_eq!(mounting, ["harvest", "stage"], "{variant:?} {cache:?}");
            assert_eq!(spec.automount_service_account_token, Some(false));
            assert!(spec.service_account_name.is_none() && spec.host_network.is_none());
        }
    }
}
