//! Request plumbing shared by the Kubernetes handlers: query values read as the apiserver reads them,
//! JSON bodies with its size limit and decode errors, the metadata stamped on new objects, and list
//! pages with continue tokens. Uses only `status`, `validation` and the crate's leaves.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::BodyExt;
use k8s_openapi::Metadata;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::status::ApiError;
use super::validation::{dns1123_label_error, dns1123_subdomain_error};
use crate::selector::{FieldSelector, LabelSelector};
use crate::util::api_now;

/// The apiserver's request body limit.
pub(crate) const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Parsed query string. For a repeated key the first value counts, as with Go's `url.Values.Get`.
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        QueryParams(pairs)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A boolean as Go's `strconv.ParseBool` reads it; an empty value counts as absent.
    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(Some(true)),
            Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(Some(false)),
            Some(other) => Err(ApiError::bad_request(format!(
                "invalid value for query parameter {key}: strconv.ParseBool: parsing {other:?}: invalid syntax"
            ))),
        }
    }

    /// A 64-bit integer; an empty value counts as absent.
    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid value for query parameter {key}: strconv.ParseInt: parsing {text:?}: invalid syntax"
                ))
            }),
        }
    }

    pub(crate) fn label_selector(&self) -> Result<LabelSelector, ApiError> {
        LabelSelector::parse(self.get("labelSelector").unwrap_or("")).map_err(ApiError::bad_request)
    }

    pub(crate) fn field_selector(&self) -> Result<FieldSelector, ApiError> {
        FieldSelector::parse(self.get("fieldSelector").unwrap_or("")).map_err(ApiError::bad_request)
    }

    /// This cluster does not implement server-side dry runs; refusing beats silently persisting.
    pub(crate) fn refuse_dry_run(&self) -> Result<(), ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(()),
            Some("All") => {
                Err(ApiError::bad_request("dryRun is not supported by the tale test cluster"))
            }
            Some(other) => Err(ApiError::bad_request(format!(
                "unsupported dryRun value {other:?}: must be \"All\""
            ))),
        }
    }
}

/// How much of a refused body is still read (and dropped) before the 413 is sent, and for how
/// long: see [`read_body`].
const LINGER_BYTES: usize = 64 * 1024 * 1024;
const LINGER: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads a request body of at most [`MAX_BODY_BYTES`].
///
/// A larger body is refused with 413 — after reading the rest of it (dropped, up to
/// [`LINGER_BYTES`] and [`LINGER`]) like a web server's lingering close: a connection closed with
/// the client's bytes still unread is reset, and the reset can reach the client before the 413
/// does (Node then reports `EPIPE` instead of the status).
pub(crate) async fn read_body(mut body: Body) -> Result<Bytes, ApiError> {
    let mut collected = Vec::new();
    loop {
        match body.frame().await {
            None => return Ok(Bytes::from(collected)),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                if collected.len() + data.len() > MAX_BODY_BYTES {
                    break;
                }
                collected.extend_from_slice(&data);
            }
            Some(Err(error)) => {
                return Err(ApiError::bad_request(format!(
                    "reading the request body failed: {error}"
                )));
            }
        }
    }
    drop(collected);
    let drain = async {
        let mut dropped = 0;
        while dropped < LINGER_BYTES {
            match body.frame().await {
                Some(Ok(frame)) => dropped += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
    Err(ApiError::too_large(MAX_BODY_BYTES))
}

/// Decodes a JSON object of `kind` in `v1`, with the apiserver's errors for malformed JSON, a missing or
/// wrong kind or version, and fields of the wrong type.
pub(crate) fn decode_object<T: DeserializeOwned>(bytes: &[u8], kind: &str) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
    })?;
    let object = value.as_object().ok_or_else(|| {
        ApiError::bad_request(
            "couldn't get version/kind; json parse error: the body is not a JSON object",
        )
    })?;
    let found_kind = object.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if found_kind.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Object 'Kind' is missing in '{}'",
            String::from_utf8_lossy(bytes)
        )));
    }
    let version = object.get("apiVersion").and_then(|v| v.as_str()).unwrap_or("");
    if found_kind != kind || version != "v1" {
        return Err(ApiError::bad_request(format!(
            "{found_kind} in version {version:?} cannot be handled as a {kind}: no kind {found_kind:?} is registered for version {version:?} on this endpoint"
        )));
    }
    serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(format!(
            "{kind} in version \"v1\" cannot be handled as a {kind}: {e}"
        ))
    })
}

/// The name a create request ends up with (`generateName` gets five random characters).
pub(crate) fn resolve_name(meta: &ObjectMeta, seed: u64) -> Option<String> {
    if let Some(name) = meta.name.as_ref().filter(|n| !n.is_empty()) {
        return Some(name.clone());
    }
    let prefix = meta.generate_name.as_ref().filter(|n| !n.is_empty())?;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let suffix: String = (0..5)
        .map(|_| ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize] as char)
        .collect();
    Some(format!("{prefix}{suffix}"))
}

/// Validates namespace and name of an object to create, and that the body agrees with the URL.
pub(crate) fn check_identity(
    kind: &str,
    namespace: &str,
    meta: &ObjectMeta,
    name: &str,
) -> Result<(), ApiError> {
    if let Some(body_namespace) = meta.namespace.as_deref().filter(|n| !n.is_empty())
        && body_namespace != namespace
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let mut causes = Vec::new();
    if let Some(why) = dns1123_label_error(namespace) {
        causes.push(("metadata.namespace".to_string(), why));
    }
    if name.is_empty() {
        causes.push((
            "metadata.name".to_string(),
            "Required value: name or generateName is required".to_string(),
        ));
    } else if let Some(why) = dns1123_subdomain_error(name) {
        causes.push(("metadata.name".to_string(), why));
    }
    if causes.is_empty() { Ok(()) } else { Err(ApiError::invalid(kind, name, causes)) }
}

/// Fills the server-owned metadata of a new object.
pub(crate) fn stamp_new(
    meta: &mut ObjectMeta,
    namespace: &str,
    name: &str,
    resource_version: u64,
    uid_seed: u64,
) {
    meta.name = Some(name.to_string());
    meta.namespace = Some(namespace.to_string());
    meta.generate_name = meta.generate_name.take().filter(|g| !g.is_empty());
    meta.uid = Some(uid(uid_seed));
    meta.resource_version = Some(resource_version.to_string());
    meta.creation_timestamp = Some(api_now());
    meta.generation = Some(1);
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.managed_fields = None;
    meta.self_link = None;
}

/// A random-looking, unique UUID from a counter.
pub(crate) fn uid(seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7a1e_5eed);
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// A response with `status` and `body` serialised as JSON (`application/json`).
pub(crate) fn json<T: Serialize>(code: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (code, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => {
            ApiError::internal(500, format!("serialising the response failed: {e}")).into_response()
        }
    }
}

/// Whether the client asked for a `meta.k8s.io` Table (kubectl's server-side printing).
pub(crate) fn wants_table(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.contains("as=Table") && t.contains("g=meta.k8s.io")))
}

/// One page of a sorted listing, with the continue token of the next page.
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) continue_token: Option<String>,
    pub(crate) remaining: Option<i64>,
}

impl<T: Serialize + k8s_openapi::ListableResource> Page<T> {
    /// The page as a `<Kind>List` response at resource version `rv`.
    pub(crate) fn into_list_response(self, rv: u64) -> Response {
        let list = k8s_openapi::List {
            items: self.items,
            metadata: ListMeta {
                resource_version: Some(rv.to_string()),
                continue_: self.continue_token,
                remaining_item_count: self.remaining,
                ..ListMeta::default()
            },
        };
        json(StatusCode::OK, &list)
    }
}

/// The common start of a create (`POST`): refuses a dry run, decodes the body as a `kind`, and
/// settles its name (`generateName` included) and namespace. Returns the object and its name.
pub(crate) async fn decode_new<T>(
    query: Option<&str>,
    body: Body,
    kind: &str,
    namespace: &str,
    name_seed: u64,
) -> Result<(T, String), ApiError>
where
    T: DeserializeOwned + Metadata<Ty = ObjectMeta>,
{
    QueryParams::parse(query).refuse_dry_run()?;
    let object: T = decode_object(&read_body(body).await?, kind)?;
    let name = resolve_name(object.metadata(), name_seed).unwrap_or_default();
    check_identity(kind, namespace, object.metadata(), &name)?;
    Ok((object, name))
}

/// Applies `limit` and `continue` to items sorted by `(namespace, name)`.
pub(crate) fn paginate<T>(
    items: Vec<((String, String), T)>,
    query: &QueryParams,
) -> Result<Page<T>, ApiError> {
    let after = match query.get("continue").filter(|c| !c.is_empty()) {
        None => None,
        Some(token) => {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.split_once('/').map(|(ns, n)| (ns.to_string(), n.to_string())))
                .ok_or_else(|| {
                    ApiError::bad_request("continue key is not valid: malformed token")
                })?;
            Some(decoded)
        }
    };
    let limit = match query.int("limit")? {
        None | Some(0) => None,
        Some(n) if n < 0 => {
            return Err(ApiError::bad_request(format!("limit must not be negative, got {n}")));
        }
        Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let mut rest: Vec<((String, String), T)> =
        items.into_iter().filter(|(key, _)| after.as_ref().is_none_or(|a| key > a)).collect();
    let Some(limit) = limit.filter(|&l| l < rest.len()) else {
        return Ok(Page {
            items: rest.into_iter().map(|(_, t)| t).collect(),
            continue_token: None,
            remaining: None,
        });
    };
    let remaining = rest.split_off(limit);
    let last = &rest[rest.len() - 1].0;
    let token =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}/{}", last.0, last.1));
    Ok(Page {
        items: rest.into_iter().map(|(_, t)| t).collect(),
        continue_token: Some(token),
        remaining: Some(remaining.len() as i64),
    })
}
