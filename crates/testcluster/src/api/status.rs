//! Kubernetes `Status` error responses: one constructor per reason the cluster answers with
//! (`NotFound`, `Invalid`, `TooManyRequests`, ...), with the apiserver's codes and messages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Status, StatusCause, StatusDetails};

/// An API error, rendered as a `Status` object with the matching HTTP code.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) details: Option<Box<StatusDetails>>,
    pub(crate) retry_after_seconds: Option<u32>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError { code, reason, message: message.into(), details: None, retry_after_seconds: None }
    }

    fn with_details(mut self, kind: &str, name: &str) -> Self {
        self.details = Some(Box::new(StatusDetails {
            kind: Some(kind.to_string()),
            name: Some(name.to_string()),
            ..StatusDetails::default()
        }));
        self
    }

    /// 400 BadRequest.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 401 Unauthorized.
    pub(crate) fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 404 NotFound for a named object; `resource` is the plural resource name (`pods`).
    pub(crate) fn not_found(resource: &str, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{resource} \"{name}\" not found"))
            .with_details(resource, name)
    }

    /// 404 for a path no route serves.
    pub(crate) fn no_route() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource")
    }

    /// 405 MethodNotAllowed.
    pub(crate) fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource: {method}"),
        )
    }

    /// 409 AlreadyExists.
    pub(crate) fn already_exists(resource: &str, name: &str) -> Self {
        Self::new(409, "AlreadyExists", format!("{resource} \"{name}\" already exists"))
            .with_details(resource, name)
    }

    /// 409 Conflict (stale `resourceVersion` on update).
    pub(crate) fn conflict(resource: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {resource} \"{name}\": {why}"),
        )
        .with_details(resource, name)
    }

    /// 410 Expired (watch resumed from a compacted `resourceVersion`).
    pub(crate) fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 413 RequestEntityTooLarge.
    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    /// 415 UnsupportedMediaType.
    pub(crate) fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({content_type}) - accepted media types include: application/json"
            ),
        )
    }

    /// 422 Invalid with one cause per `(field, message)`.
    pub(crate) fn invalid(kind: &str, name: &str, causes: Vec<(String, String)>) -> Self {
        let summary: Vec<String> =
            causes.iter().map(|(field, why)| format!("{field}: {why}")).collect();
        let message = match summary.len() {
            1 => format!("{kind} \"{name}\" is invalid: {}", summary[0]),
            _ => format!("{kind} \"{name}\" is invalid: [{}]", summary.join(", ")),
        };
        let causes = causes
            .into_iter()
            .map(|(field, why)| StatusCause {
                field: Some(field),
                message: Some(why),
                reason: Some("FieldValueInvalid".to_string()),
            })
            .collect();
        let mut error = Self::new(422, "Invalid", message);
        error.details = Some(Box::new(StatusDetails {
            kind: Some(kind.to_string()),
            name: Some(name.to_string()),
            causes: Some(causes),
            ..StatusDetails::default()
        }));
        error
    }

    /// 429 TooManyRequests with a `Retry-After` header.
    pub(crate) fn too_many_requests(retry_after_seconds: u32) -> Self {
        let mut error = Self::new(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        );
        error.retry_after_seconds = Some(retry_after_seconds);
        error.details = Some(Box::new(StatusDetails {
            retry_after_seconds: Some(i32::try_from(retry_after_seconds).unwrap_or(i32::MAX)),
            ..StatusDetails::default()
        }));
        error
    }

    /// 500 InternalError (or another 5xx code).
    pub(crate) fn internal(code: u16, message: impl Into<String>) -> Self {
        let reason = if code == 503 { "ServiceUnavailable" } else { "InternalError" };
        Self::new(code, reason, message)
    }

    /// The `Status` object sent as the body (and in watch `ERROR` events).
    pub(crate) fn status(&self) -> Status {
        Status {
            code: Some(i32::from(self.code)),
            details: self.details.as_deref().cloned(),
            message: Some(self.message.clone()),
            reason: Some(self.reason.to_string()),
            status: Some("Failure".to_string()),
            ..Status::default()
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.status()).unwrap_or_default();
        let mut response =
            (code, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A `Status` with `status: Success`, as returned by deletes of non-graceful resources.
pub(crate) fn success_status(kind: &str, name: &str, uid: Option<String>) -> Status {
    Status {
        status: Some("Success".to_string()),
        details: Some(StatusDetails {
            kind: Some(kind.to_string()),
            name: Some(name.to_string()),
            uid,
            ..StatusDetails::default()
        }),
        ..Status::default()
    }
}
