//! PersistentVolumeClaims: create, get, list, delete. There is no provisioner: a valid claim is
//! `Bound` from the start, so the service's volume handling sees what a ready cluster gives it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PersistentVolumeClaimStatus};

use super::common::{QueryParams, decode_new, json, paginate, stamp_new};
use super::status::{ApiError, success_status};
use crate::state::Shared;
use crate::util::Key;

type ApiResult = Result<Response, ApiError>;

/// `POST /api/v1/namespaces/{ns}/persistentvolumeclaims`
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(namespace): Path<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> ApiResult {
    let seed = shared.store().resource_version();
    let (mut pvc, name): (PersistentVolumeClaim, _) =
        decode_new(query.as_deref(), body, "PersistentVolumeClaim", &namespace, seed).await?;
    let spec = pvc.spec.clone().unwrap_or_default();
    let storage = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .cloned();
    let mut causes = Vec::new();
    if spec.access_modes.as_ref().is_none_or(Vec::is_empty) {
        causes.push((
            "spec.accessModes".to_string(),
            "Required value: at least 1 access mode is required".to_string(),
        ));
    }
    if storage.is_none() {
        causes.push(("spec.resources[storage]".to_string(), "Required value".to_string()));
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid("PersistentVolumeClaim", &name, causes));
    }
    let mut store = shared.store();
    let key: Key = (namespace.clone(), name.clone());
    if store.pvcs.contains_key(&key) {
        return Err(ApiError::already_exists("persistentvolumeclaims", &name));
    }
    let rv = store.next_resource_version();
    stamp_new(&mut pvc.metadata, &namespace, &name, rv, rv);
    pvc.status = Some(PersistentVolumeClaimStatus {
        phase: Some("Bound".to_string()),
        access_modes: spec.access_modes.clone(),
        capacity: storage.map(|s| BTreeMap::from([("storage".to_string(), s)])),
        ..PersistentVolumeClaimStatus::default()
    });
    store.pvcs.insert(key, pvc.clone());
    Ok(json(StatusCode::CREATED, &pvc))
}

/// `GET /api/v1/namespaces/{ns}/persistentvolumeclaims/{name}`
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
) -> ApiResult {
    let store = shared.store();
    let pvc = store
        .pvcs
        .get(&(namespace, name.clone()))
        .ok_or_else(|| ApiError::not_found("persistentvolumeclaims", &name))?;
    Ok(json(StatusCode::OK, pvc))
}

/// `GET /api/v1/namespaces/{ns}/persistentvolumeclaims`
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    Path(namespace): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let query = QueryParams::parse(query.as_deref());
    let labels = query.label_selector()?;
    let (items, rv) = {
        let store = shared.store();
        let items: Vec<(Key, PersistentVolumeClaim)> = store
            .pvcs
            .iter()
            .filter(|(key, p)| key.0 == namespace && labels.matches(p.metadata.labels.as_ref()))
            .map(|(k, p)| (k.clone(), p.clone()))
            .collect();
        (items, store.resource_version())
    };
    let page = paginate(items, &query)?;
    Ok(page.into_list_response(rv))
}

/// `DELETE /api/v1/namespaces/{ns}/persistentvolumeclaims/{name}`
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
) -> ApiResult {
    let mut store = shared.store();
    let removed = store
        .pvcs
        .remove(&(namespace, name.clone()))
        .ok_or_else(|| ApiError::not_found("persistentvolumeclaims", &name))?;
    store.next_resource_version();
    Ok(json(StatusCode::OK, &success_status("persistentvolumeclaims", &name, removed.metadata.uid)))
}
