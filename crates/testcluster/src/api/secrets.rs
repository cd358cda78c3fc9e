//! Secrets: create (with `stringData` folded into `data` as the apiserver does), get, list,
//! replace with optimistic concurrency on `resourceVersion`, delete.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;

use super::common::{
    QueryParams, check_identity, decode_new, decode_object, json, paginate, read_body, stamp_new,
    wants_table,
};
use super::status::{ApiError, success_status};
use super::table;
use super::validation::secret_key_error;
use crate::state::Shared;
use crate::util::Key;

type ApiResult = Result<Response, ApiError>;

/// The apiserver's limit on the total size of a Secret's data.
const MAX_SECRET_BYTES: usize = 1024 * 1024;

/// Folds `stringData` into `data` (it wins, as in the apiserver) and validates keys and size.
fn normalise(secret: &mut Secret, name: &str) -> Result<(), ApiError> {
    if let Some(strings) = secret.string_data.take() {
        let data = secret.data.get_or_insert_with(Default::default);
        for (key, value) in strings {
            data.insert(key, ByteString(value.into_bytes()));
        }
    }
    if secret.type_.as_deref().is_none_or(str::is_empty) {
        secret.type_ = Some("Opaque".to_string());
    }
    let data = secret.data.clone().unwrap_or_default();
    let mut causes: Vec<(String, String)> = data
        .keys()
        .filter_map(|key| secret_key_error(key).map(|why| (format!("data[{key}]"), why)))
        .collect();
    let size: usize = data.iter().map(|(k, v)| k.len() + v.0.len()).sum();
    if size > MAX_SECRET_BYTES {
        causes.push((
            "data".to_string(),
            format!("Too long: must have at most {MAX_SECRET_BYTES} bytes"),
        ));
    }
    if causes.is_empty() { Ok(()) } else { Err(ApiError::invalid("Secret", name, causes)) }
}

/// `POST /api/v1/namespaces/{ns}/secrets`
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    Path(namespace): Path<String>,
    RawQuery(query): RawQuery,
    body: Body,
) -> ApiResult {
    let seed = shared.store().resource_version();
    let (mut secret, name): (Secret, _) =
        decode_new(query.as_deref(), body, "Secret", &namespace, seed).await?;
    normalise(&mut secret, &name)?;
    let mut store = shared.store();
    let key: Key = (namespace.clone(), name.clone());
    if store.secrets.contains_key(&key) {
        return Err(ApiError::already_exists("secrets", &name));
    }
    let rv = store.next_resource_version();
    stamp_new(&mut secret.metadata, &namespace, &name, rv, rv);
    store.secrets.insert(key, secret.clone());
    Ok(json(StatusCode::CREATED, &secret))
}

/// `GET /api/v1/namespaces/{ns}/secrets/{name}`
pub(crate) async fn get(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let store = shared.store();
    let secret = store
        .secrets
        .get(&(namespace, name.clone()))
        .ok_or_else(|| ApiError::not_found("secrets", &name))?;
    if wants_table(&headers) {
        return Ok(json(
            StatusCode::OK,
            &table::secrets(std::slice::from_ref(secret), store.resource_version(), None),
        ));
    }
    Ok(json(StatusCode::OK, secret))
}

/// `GET /api/v1/namespaces/{ns}/secrets`
pub(crate) async fn list_namespaced(
    State(shared): State<Arc<Shared>>,
    Path(namespace): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    list(&shared, Some(namespace), &QueryParams::parse(query.as_deref()), &headers)
}

/// `GET /api/v1/secrets`
pub(crate) async fn list_all(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    list(&shared, None, &QueryParams::parse(query.as_deref()), &headers)
}

fn list(
    shared: &Shared,
    namespace: Option<String>,
    query: &QueryParams,
    headers: &HeaderMap,
) -> ApiResult {
    if query.bool("watch")?.unwrap_or(false) {
        return Err(ApiError::method_not_allowed(
            "watch on secrets is not supported by the tale test cluster",
        ));
    }
    let labels = query.label_selector()?;
    let fields = query.field_selector()?;
    let (items, rv) = {
        let store = shared.store();
        let items: Vec<(Key, Secret)> = store
            .secrets
            .iter()
            .filter(|(key, s)| {
                namespace.as_ref().is_none_or(|ns| &key.0 == ns)
                    && labels.matches(s.metadata.labels.as_ref())
                    && fields.matches(&key.0, &key.1)
            })
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect();
        (items, store.resource_version())
    };
    let page = paginate(items, query)?;
    if wants_table(headers) {
        return Ok(json(StatusCode::OK, &table::secrets(&page.items, rv, page.continue_token)));
    }
    Ok(page.into_list_response(rv))
}

/// `PUT /api/v1/namespaces/{ns}/secrets/{name}`: unconditional without `resourceVersion`, optimistic
/// (409 Conflict when stale) with it.
pub(crate) async fn replace(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Body,
) -> ApiResult {
    QueryParams::parse(query.as_deref()).refuse_dry_run()?;
    let mut secret: Secret = decode_object(&read_body(body).await?, "Secret")?;
    let body_name = secret.metadata.name.clone().unwrap_or_default();
    if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    check_identity("Secret", &namespace, &secret.metadata, &name)?;
    normalise(&mut secret, &name)?;
    let mut store = shared.store();
    let key: Key = (namespace.clone(), name.clone());
    let current = store.secrets.get(&key).ok_or_else(|| ApiError::not_found("secrets", &name))?;
    if let Some(wanted) = secret.metadata.resource_version.as_ref().filter(|v| !v.is_empty())
        && Some(wanted) != current.metadata.resource_version.as_ref()
    {
        return Err(ApiError::conflict(
            "secrets",
            &name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    if current.immutable == Some(true) && current.data != secret.data {
        return Err(ApiError::invalid(
            "Secret",
            &name,
            vec![(
                "data".to_string(),
                "Forbidden: field is immutable when `immutable` is set".to_string(),
            )],
        ));
    }
    let (uid, created) =
        (current.metadata.uid.clone(), current.metadata.creation_timestamp.clone());
    let generation = current.metadata.generation.unwrap_or(1) + 1;
    let rv = store.next_resource_version();
    secret.metadata.namespace = Some(namespace);
    secret.metadata.uid = uid;
    secret.metadata.creation_timestamp = created;
    secret.metadata.generation = Some(generation);
    secret.metadata.resource_version = Some(rv.to_string());
    store.secrets.insert(key, secret.clone());
    Ok(json(StatusCode::OK, &secret))
}

/// `DELETE /api/v1/namespaces/{ns}/secrets/{name}`
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    QueryParams::parse(query.as_deref()).refuse_dry_run()?;
    let mut store = shared.store();
    let removed = store
        .secrets
        .remove(&(namespace, name.clone()))
        .ok_or_else(|| ApiError::not_found("secrets", &name))?;
    store.next_resource_version();
    Ok(json(StatusCode::OK, &success_status("secrets", &name, removed.metadata.uid)))
}
