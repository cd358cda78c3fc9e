//! Throwing specific JS error classes (`TypeError`, `RangeError`) from napi methods.
//!
//! napi-rs turns a returned `Err` into a plain `Error`; for the other classes the exception is
//! thrown first and the method returns a `PendingException` error, which napi-rs leaves in place.

use napi::{Env, Error, Status};

use tale_sandbox_binding_options::{JsErrorKind, OptionsError};

/// Throws a `TypeError` with `message` and returns the error for the method to return.
pub fn type_error(env: &Env, message: &str) -> Error {
    throw(env, JsErrorKind::Type, message)
}

/// Throws the JS error class that an [`OptionsError`] names.
pub fn options_error(env: &Env, error: &OptionsError) -> Error {
    throw(env, error.kind, &error.message)
}

/// A plain JS `Error` with `message` (napi-rs throws it when the method returns it).
pub fn plain_error(message: impl Into<String>) -> Error {
    Error::new(Status::GenericFailure, message.into())
}

fn throw(env: &Env, kind: JsErrorKind, message: &str) -> Error {
    let thrown = match kind {
        JsErrorKind::Type => env.throw_type_error(message, None),
        JsErrorKind::Range => env.throw_range_error(message, None),
    };
    match thrown {
        Ok(()) => Error::new(Status::PendingException, message.to_owned()),
        // Throwing can only fail while the environment is tearing down; fall back to a plain Error.
        Err(_) => plain_error(message),
    }
}
