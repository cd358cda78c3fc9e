//! Validation of the JS `StdoutAccumulator` constructor options and the JS error messages
//! shared by the Node (napi) and wasm bindings.
//!
//! Both bindings depend on this crate so their checks and messages cannot drift apart; the
//! cross-surface tests in `tests/` assert the same messages on both.

#![forbid(unsafe_code)]

use tale_sandbox_accumulator::{Config, ConfigError, Mode, UsageError};

/// Largest integer a JS number represents exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// The option names the constructor accepts. Anything else is rejected, so a typo such as
/// `timestamp: true` cannot silently select raw mode.
pub const KNOWN_OPTIONS: [&str; 2] = ["capBytes", "timestamps"];

/// One option value as read from JS, reduced to what validation needs.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// The property is absent or `undefined`.
    Missing,
    Bool(bool),
    Number(f64),
    /// Any other JS value; the string is its `typeof` (or `"null"`) for the message.
    Other(&'static str),
}

/// Which JS error constructor a validation failure maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsErrorKind {
    /// `TypeError`: the value has the wrong type or shape.
    Type,
    /// `RangeError`: the value is well-formed but this platform cannot honour it.
    Range,
}

/// A rejected constructor argument, with the message the JS caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsError {
    /// The JS error constructor to throw.
    pub kind: JsErrorKind,
    /// The message of the thrown error.
    pub message: String,
}

impl OptionsError {
    fn type_error(message: String) -> Self {
        Self { kind: JsErrorKind::Type, message }
    }
}

/// Message for a constructor argument that is not an options object.
pub fn not_an_object(got: &str) -> OptionsError {
    OptionsError::type_error(format!(
        "new StdoutAccumulator(options): options must be an object like \
         {{ capBytes: number, timestamps?: boolean }}, got {got}"
    ))
}

/// Message for a property name outside [`KNOWN_OPTIONS`].
pub fn unknown_option(name: &str) -> OptionsError {
    OptionsError::type_error(format!(
        "new StdoutAccumulator(options): unknown option '{name}' (known options: capBytes, timestamps)"
    ))
}

/// Turns the two option values into an accumulator [`Config`].
///
/// `capBytes` must be a positive safe integer; `timestamps` must be a boolean when present and
/// defaults to `false` (raw mode).
pub fn config_from(
    cap_bytes: &OptionValue,
    timestamps: &OptionValue,
) -> Result<Config, OptionsError> {
    let cap_bytes = match *cap_bytes {
        OptionValue::Number(n) if n.fract() == 0.0 && (1.0..=MAX_SAFE_INTEGER).contains(&n) => n,
        ref other => return Err(cap_not_a_positive_safe_integer(other)),
    };
    // A cap the platform cannot address (over 4 GiB in 32-bit wasm) cannot be honoured exactly.
    if cap_bytes > usize::MAX as f64 {
        return Err(OptionsError {
            kind: JsErrorKind::Range,
            message: format!(
                "new StdoutAccumulator(options): capBytes {cap_bytes} exceeds what this platform can \
                 address ({} bytes)",
                usize::MAX
            ),
        });
    }
    let mode = match *timestamps {
        OptionValue::Missing | OptionValue::Bool(false) => Mode::Raw,
        OptionValue::Bool(true) => Mode::Timestamped,
        ref other => {
            return Err(OptionsError::type_error(format!(
                "new StdoutAccumulator(options): timestamps must be a boolean when present, got {}",
                describe(other)
            )));
        }
    };
    Ok(Config { cap_bytes: cap_bytes as usize, mode })
}

fn cap_not_a_positive_safe_integer(got: &OptionValue) -> OptionsError {
    OptionsError::type_error(format!(
        "new StdoutAccumulator(options): capBytes must be a positive safe integer, got {}",
        describe(got)
    ))
}

/// Message for a `push` argument that is not a `Uint8Array`.
pub fn chunk_not_uint8array(got: &str) -> String {
    format!("StdoutAccumulator.push(chunk): chunk must be a Uint8Array, got {got}")
}

/// The range `stdoutSlice(start, end)` copies out of `len` bytes of stdout, read as
/// `Array.prototype.slice` and `Uint8Array.prototype.slice` read their arguments: fractions are
/// truncated, `NaN` and a missing `start` are 0, a missing `end` is `len`, negative values count
/// from the end, both are clamped to `0..=len`, and `end` before `start` gives an empty range.
pub fn slice_bounds(len: usize, start: Option<f64>, end: Option<f64>) -> (usize, usize) {
    let at = |value: f64| -> usize {
        let value = if value.is_nan() { 0.0 } else { value.trunc() };
        if value < 0.0 {
            len.saturating_sub((-value).min(len as f64) as usize)
        } else {
            value.min(len as f64) as usize
        }
    };
    let from = start.map_or(0, at);
    let to = end.map_or(len, at);
    (from, to.max(from))
}

/// Message for `push` without an open read.
pub const PUSH_OUTSIDE_READ: &str =
    "StdoutAccumulator.push() called outside a read: call beginRead() first";

/// Message for `endRead` without an open read.
pub const END_OUTSIDE_READ: &str =
    "StdoutAccumulator.endRead() called outside a read: call beginRead() first";

/// Message for `trySkip` without an open read.
pub const TRY_SKIP_OUTSIDE_READ: &str =
    "StdoutAccumulator.trySkip() called outside a read: call beginRead() first";

/// Reads the argument of `trySkip(length)`: a non-negative safe integer. Any other number is a
/// `RangeError`, anything but a number a `TypeError`.
pub fn skip_length(value: &OptionValue) -> Result<u64, OptionsError> {
    match *value {
        OptionValue::Number(n) if n.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER).contains(&n) => {
            Ok(n as u64)
        }
        ref other => Err(OptionsError {
            kind: if matches!(other, OptionValue::Number(_)) {
                JsErrorKind::Range
            } else {
                JsErrorKind::Type
            },
            message: format!(
                "StdoutAccumulator.trySkip(length): length must be a non-negative safe integer, \
                 got {}",
                describe(other)
            ),
        }),
    }
}

/// The message for bytes that the package's JS side counted as skippable (within what
/// `skippableAhead()` allowed) and that the accumulator then refused to pass over: a broken
/// contract, never expected. The words of the JS side's own settle
/// (npm/sandbox-native/skip-layer.js), for the bindings' internal settle-and-push call.
pub fn skip_refused(pending: u64) -> String {
    format!(
        "internal error in StdoutAccumulator: {pending} bytes counted as skippable were refused \
         by trySkip; this accumulator's counts are no longer exact"
    )
}

/// What the bindings' internal settle-and-push call returns, from the bytes the push accepted and
/// what `skippableAhead()` said after it: `accepted` when it is positive; otherwise `-ahead`
/// (never `-0`). So a result `> 0` is an accepted count (and nothing may be skipped), a result
/// `<= 0` means nothing was accepted and the next `-result` bytes may be passed over.
pub fn settled_push_result(accepted: f64, ahead: f64) -> f64 {
    if accepted > 0.0 {
        accepted
    } else if ahead > 0.0 {
        -ahead
    } else {
        0.0
    }
}

/// A byte count as a JS number: counts past `Number.MAX_SAFE_INTEGER` (only the "everything"
/// of `skippableAhead()` while a response is ignored) are given as that value, which stays
/// exact under the subtractions a caller makes.
pub fn js_count(count: u64) -> f64 {
    count.min(MAX_SAFE_INTEGER as u64) as f64
}

/// The JS message for a [`UsageError`]: the core names its Rust calls, JS callers see the JS
/// method they called.
pub fn usage_error_message(error: &UsageError) -> String {
    match error {
        // The bindings call `try_skip` only inside `push`, to decide what to copy.
        UsageError::PushOutsideRead | UsageError::TrySkipOutsideRead => {
            PUSH_OUTSIDE_READ.to_owned()
        }
        UsageError::EndOutsideRead => END_OUTSIDE_READ.to_owned(),
        // A kind added to the core later: its Rust wording, under the class name, until it is
        // given a JS message here.
        other => format!("StdoutAccumulator: {other}"),
    }
}

/// The JS error for a [`ConfigError`]: the error [`config_from`] gives for the same value
/// (validation there rejects it first, so this is only a safety net).
pub fn config_error(error: &ConfigError) -> OptionsError {
    match error {
        ConfigError::ZeroCap => cap_not_a_positive_safe_integer(&OptionValue::Number(0.0)),
        other => OptionsError::type_error(format!("new StdoutAccumulator(options): {other}")),
    }
}

fn describe(value: &OptionValue) -> String {
    match value {
        OptionValue::Missing => "undefined".to_owned(),
        OptionValue::Bool(b) => format!("boolean {b}"),
        OptionValue::Number(n) => format!("number {}", js_number_text(*n)),
        OptionValue::Other(kind) => (*kind).to_owned(),
    }
}

/// Formats a number the way JS prints it in the common cases (`5`, `1.5`, `NaN`, `Infinity`).
fn js_number_text(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_owned()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity".to_owned() } else { "-Infinity".to_owned() }
    } else if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{n:.0}")
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_length_takes_non_negative_safe_integers_only() {
        assert_eq!(skip_length(&OptionValue::Number(0.0)), Ok(0));
        assert_eq!(skip_length(&OptionValue::Number(65_536.0)), Ok(65_536));
        assert_eq!(
            skip_length(&OptionValue::Number(MAX_SAFE_INTEGER)),
            Ok(MAX_SAFE_INTEGER as u64)
        );
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, MAX_SAFE_INTEGER + 1.0] {
            let error = skip_length(&OptionValue::Number(bad)).unwrap_err();
            assert_eq!(error.kind, JsErrorKind::Range, "{bad}");
        }
        let error = skip_length(&OptionValue::Other("string")).unwrap_err();
        assert_eq!(error.kind, JsErrorKind::Type);
        assert_eq!(
            error.message,
            "StdoutAccumulator.trySkip(length): length must be a non-negative safe integer, got string"
        );
        assert_eq!(skip_length(&OptionValue::Missing).unwrap_err().kind, JsErrorKind::Type);
        assert_eq!(skip_length(&OptionValue::Bool(true)).unwrap_err().kind, JsErrorKind::Type);
        assert_eq!(js_count(u64::MAX), MAX_SAFE_INTEGER);
        assert_eq!(js_count(7), 7.0);
    }

    #[test]
    fn settled_push_results_tell_accepted_counts_from_budgets() {
        assert_eq!(settled_push_result(5.0, 0.0), 5.0);
        // A positive count wins: after new bytes nothing is skippable anyway.
        assert_eq!(settled_push_result(5.0, 100.0), 5.0);
        assert_eq!(settled_push_result(0.0, 65_536.0), -65_536.0);
        let none = settled_push_result(0.0, 0.0);
        assert!(none == 0.0 && none.is_sign_positive(), "{none}");
        assert_eq!(settled_push_result(0.0, MAX_SAFE_INTEGER), -MAX_SAFE_INTEGER);
        assert_eq!(
            skip_refused(65_536),
            "internal error in StdoutAccumulator: 65536 bytes counted as skippable were refused by \
             trySkip; this accumulator's counts are no longer exact"
        );
    }

    #[test]
    fn slice_bounds_read_arguments_as_array_slice_does() {
        assert_eq!(slice_bounds(10, None, None), (0, 10));
        assert_eq!(slice_bounds(10, Some(3.0), None), (3, 10));
        assert_eq!(slice_bounds(10, Some(3.9), Some(7.2)), (3, 7));
        assert_eq!(slice_bounds(10, Some(-4.0), None), (6, 10));
        assert_eq!(slice_bounds(10, Some(-40.0), Some(-8.0)), (0, 2));
        assert_eq!(slice_bounds(10, Some(8.0), Some(2.0)), (8, 8));
        assert_eq!(slice_bounds(10, Some(f64::NAN), Some(f64::INFINITY)), (0, 10));
        assert_eq!(slice_bounds(10, Some(f64::NEG_INFINITY), Some(99.0)), (0, 10));
        assert_eq!(slice_bounds(0, Some(1.0), Some(2.0)), (0, 0));
    }

    #[test]
    fn cap_and_mode_are_taken_exactly() {
        let config =
            config_from(&OptionValue::Number(5_242_880.0), &OptionValue::Bool(true)).unwrap();
        assert_eq!(config, Config { cap_bytes: 5_242_880, mode: Mode::Timestamped });
        let config = config_from(&OptionValue::Number(1.0), &OptionValue::Missing).unwrap();
        assert_eq!(config, Config { cap_bytes: 1, mode: Mode::Raw });
    }

    #[test]
    fn cap_must_be_a_positive_safe_integer() {
        for bad in [0.0, -0.0, -1.0, 0.5, 1.5, f64::NAN, f64::INFINITY, MAX_SAFE_INTEGER + 1.0] {
            let error = config_from(&OptionValue::Number(bad), &OptionValue::Missing).unwrap_err();
            assert_eq!(error.kind, JsErrorKind::Type, "{bad}");
            assert!(
                error.message.contains("capBytes must be a positive safe integer"),
                "{}",
                error.message
            );
        }
        let error = config_from(&OptionValue::Other("string"), &OptionValue::Missing).unwrap_err();
        assert!(error.message.ends_with("got string"), "{}", error.message);
    }

    #[test]
    fn largest_safe_integer_fits_or_is_a_range_error() {
        let result = config_from(&OptionValue::Number(MAX_SAFE_INTEGER), &OptionValue::Missing);
        if usize::BITS >= 64 {
            assert_eq!(result.unwrap().cap_bytes, 9_007_199_254_740_991);
        } else {
            assert_eq!(result.unwrap_err().kind, JsErrorKind::Range);
        }
    }

    #[test]
    fn core_errors_get_the_js_names() {
        let zero = config_from(&OptionValue::Number(0.0), &OptionValue::Missing).unwrap_err();
        assert_eq!(config_error(&ConfigError::ZeroCap), zero);
        assert_eq!(usage_error_message(&UsageError::PushOutsideRead), PUSH_OUTSIDE_READ);
        assert_eq!(usage_error_message(&UsageError::TrySkipOutsideRead), PUSH_OUTSIDE_READ);
        assert_eq!(usage_error_message(&UsageError::EndOutsideRead), END_OUTSIDE_READ);
        for message in [PUSH_OUTSIDE_READ, END_OUTSIDE_READ, zero.message.as_str()] {
            assert!(!message.contains('_'), "a Rust name in {message:?}");
        }
    }

    #[test]
    fn timestamps_must_be_boolean_when_present() {
        let error = config_from(&OptionValue::Number(10.0), &OptionValue::Number(1.0)).unwrap_err();
        assert_eq!(error.kind, JsErrorKind::Type);
        assert!(
            error.message.ends_with("timestamps must be a boolean when present, got number 1"),
            "{}",
            error.message
        );
    }
}
