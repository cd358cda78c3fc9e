//! Discovery (`/version`, `/api`, `/apis`, `/api/v1`) and namespaces, enough for kubectl and client
//! libraries to find the resources served.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use k8s_openapi::api::core::v1::{Namespace, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    APIGroupList, APIResource, APIResourceList, APIVersions, ListMeta, ObjectMeta,
    ServerAddressByClientCIDR,
};
use k8s_openapi::apimachinery::pkg::version::Info;

use super::common::json;
use super::status::ApiError;
use super::validation::dns1123_label_error;
use crate::state::Shared;

/// The Kubernetes version this cluster claims to be (log semantics of kubelet 1.33).
pub const KUBERNETES_VERSION: (&str, &str) = ("1", "33");

/// `GET /version`
pub(crate) async fn version() -> Response {
    let (major, minor) = KUBERNETES_VERSION;
    json(
        StatusCode::OK,
        &Info {
            major: major.to_string(),
            minor: minor.to_string(),
            git_version: format!("v{major}.{minor}.0-tale-testcluster"),
            git_commit: "0000000000000000000000000000000000000000".to_string(),
            git_tree_state: "clean".to_string(),
            build_date: "2026-01-01T00:00:00Z".to_string(),
            go_version: "go1.24 (simulated)".to_string(),
            compiler: "rustc".to_string(),
            platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
            ..Info::default()
        },
    )
}

/// `GET /api`
pub(crate) async fn api_versions(State(shared): State<Arc<Shared>>) -> Response {
    // `host:port`, without the scheme, as the apiserver reports it.
    let address = shared
        .address
        .split_once("://")
        .map_or(shared.address.as_str(), |(_, rest)| rest)
        .to_string();
    json(
        StatusCode::OK,
        &APIVersions {
            versions: vec!["v1".to_string()],
            server_address_by_client_cidrs: vec![ServerAddressByClientCIDR {
                client_cidr: "0.0.0.0/0".to_string(),
                server_address: address,
            }],
        },
    )
}

/// `GET /apis`: no API groups besides the core group.
pub(crate) async fn api_groups() -> Response {
    json(StatusCode::OK, &APIGroupList { groups: Vec::new() })
}

fn resource(
    name: &str,
    singular: &str,
    kind: &str,
    namespaced: bool,
    verbs: &[&str],
    short: &[&str],
) -> APIResource {
    APIResource {
        name: name.to_string(),
        singular_name: singular.to_string(),
        kind: kind.to_string(),
        namespaced,
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        short_names: (!short.is_empty()).then(|| short.iter().map(|s| s.to_string()).collect()),
        categories: (name == "pods" || name == "persistentvolumeclaims")
            .then(|| vec!["all".to_string()]),
        ..APIResource::default()
    }
}

/// `GET /api/v1`
pub(crate) async fn core_v1_resources() -> Response {
    json(
        StatusCode::OK,
        &APIResourceList {
            group_version: "v1".to_string(),
            resources: vec![
                resource("namespaces", "namespace", "Namespace", false, &["get", "list"], &["ns"]),
                resource(
                    "persistentvolumeclaims",
                    "persistentvolumeclaim",
                    "PersistentVolumeClaim",
                    true,
                    &["create", "delete", "get", "list"],
                    &["pvc"],
                ),
                resource(
                    "pods",
                    "pod",
                    "Pod",
                    true,
                    &["create", "delete", "get", "list", "watch"],
                    &["po"],
                ),
                resource("pods/log", "", "Pod", true, &["get"], &[]),
                resource(
                    "secrets",
                    "secret",
                    "Secret",
                    true,
                    &["create", "delete", "get", "list", "update"],
                    &[],
                ),
            ],
        },
    )
}

/// `GET /apis/{group}/...` and other unknown API paths.
pub(crate) async fn unknown_api() -> ApiError {
    ApiError::no_route()
}

fn namespace_object(name: &str) -> Namespace {
    Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some([("kubernetes.io/metadata.name".to_string(), name.to_string())].into()),
            ..ObjectMeta::default()
        },
        status: Some(NamespaceStatus {
            phase: Some("Active".to_string()),
            ..NamespaceStatus::default()
        }),
        ..Namespace::default()
    }
}

/// `GET /api/v1/namespaces/{ns}`: every valid namespace exists (objects are created in it on demand).
pub(crate) async fn get_namespace(Path(name): Path<String>) -> Result<Response, ApiError> {
    if dns1123_label_error(&name).is_some() {
        return Err(ApiError::not_found("namespaces", &name));
    }
    Ok(json(StatusCode::OK, &namespace_object(&name)))
}

/// `GET /api/v1/namespaces`: `default`, `kube-system` and every namespace holding an object.
pub(crate) async fn list_namespaces(State(shared): State<Arc<Shared>>) -> Response {
    let (names, rv) = {
        let store = shared.store();
        let mut names: BTreeSet<String> = [
            "default".to_string(),
            "kube-system".to_string(),
            shared.config.default_namespace.clone(),
        ]
        .into();
        names.extend(
            store
                .pods
                .keys()
                .chain(store.secrets.keys())
                .chain(store.pvcs.keys())
                .map(|k| k.0.clone()),
        );
        (names, store.resource_version())
    };
    json(
        StatusCode::OK,
        &k8s_openapi::List {
            items: names.iter().map(|n| namespace_object(n)).collect(),
            metadata: ListMeta { resource_version: Some(rv.to_string()), ..ListMeta::default() },
        },
    )
}
