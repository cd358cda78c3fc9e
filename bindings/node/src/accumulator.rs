//! The `StdoutAccumulator` class: the Node face of [`tale_sandbox_accumulator::StdoutAccumulator`].
//!
//! Chunks are borrowed from the caller's `Uint8Array` without copying; the accepted bytes (usually
//! a small part of the chunk) are copied into a fresh `Uint8Array` that JS owns. The fast path
//! (`pushCount`, `stdoutLength`, `stdoutSlice`) copies nothing out: a caller that does not need
//! every delta as it comes learns how many bytes were accepted and copies stdout only when (and
//! as much as) it wants, so a push costs what the native push costs plus one call.
//!
//! An accumulator holds up to `capBytes` of native memory that V8 cannot see, so the object tells
//! V8 about it (`napi_adjust_external_memory`) as it grows and when it is collected, as Node
//! advises for objects that own large native buffers: the garbage collector's heuristics then
//! weigh an abandoned accumulator by its real size. (Node's `process.memoryUsage().external`
//! does not show these adjustments, so they cannot be observed from JS.)

use napi::bindgen_prelude::{
    JsObjectValue, KeyCollectionMode, KeyConversion, KeyFilter, Object, ObjectFinalize,
    Uint8ArraySlice, Unknown,
};
use napi::{Env, JsValue, Result, ValueType};
use napi_derive::napi;
use tale_sandbox_accumulator as core;

use crate::guard::{Contained, Guarded};
use crate::js_error::{options_error, plain_error, type_error};
use tale_sandbox_binding_options::{
    KNOWN_OPTIONS, OptionValue, TRY_SKIP_OUTSIDE_READ, chunk_not_uint8array, config_error,
    config_from, js_count, not_an_object, settled_push_result, skip_length, skip_refused,
    slice_bounds, unknown_option, usage_error_message,
};

// Declared for the generated TypeScript types; the constructor reads the raw JS value itself so
// that every malformed option gets a precise message (napi's own conversion errors are generic).
/// Options of `new StdoutAccumulator(options)`.
#[napi(object)]
pub struct StdoutAccumulatorOptions {
    /// Keep the first `capBytes` bytes of stdout; a positive safe integer.
    pub cap_bytes: f64,
    /// `true` when the log responses were read with `timestamps=true` (timestamped mode);
    /// `false` or absent for raw snapshot polls.
    pub timestamps: Option<bool>,
}

/// What `finish()` returns: a snapshot of the accumulated stdout.
#[napi(object)]
pub struct StdoutOutcome<'env> {
    /// The first `capBytes` bytes of stdout that could be proven, in order.
    // Spelled out: some napi-derive 3.x releases print the Rust type name here.
    #[napi(ts_type = "Uint8Array")]
    pub stdout: Uint8ArraySlice<'env>,
    /// `stdout` decoded as UTF-8, without a trailing character cut by the cap.
    pub text: String,
    /// `true` when `stdout` is not the whole stream: bytes past the cap, or a gap.
    pub truncated: bool,
    /// Stdout bytes seen, including those past the cap.
    pub total_bytes: f64,
    /// Log rotations detected.
    pub rotations: f64,
    /// Places where bytes may be missing (a rotation between reads, a cut response).
    pub gaps: f64,
    /// Malformed timestamp prefixes seen (timestamped mode).
    pub malformed: f64,
}

/// Turns the sequence of pod-log responses of one container into its exact stdout, surviving
/// kubelet log rotation and reporting every possible loss.
#[napi(custom_finalize)]
pub struct StdoutAccumulator {
    inner: Guarded<core::StdoutAccumulator>,
    /// Native bytes reported to V8 as held by this object.
    reported: i64,
}

impl Contained for core::StdoutAccumulator {
    const CLASS: &'static str = "StdoutAccumulator";
    const OBJECT: &'static str = "accumulator";
}

/// Memory changes smaller than this are not reported yet, so that most calls make no extra call.
const REPORT_STEP: i64 = 64 * 1024;

impl StdoutAccumulator {
    /// Runs a guarded call that may grow or release buffers, then brings V8's count up to date.
    fn changing<R>(
        &mut self,
        env: &Env,
        what: &str,
        call: impl FnOnce(&mut core::StdoutAccumulator) -> Result<R>,
    ) -> Result<R> {
        let result = self.inner.with(what, call);
        self.report_memory(env);
        result
    }

    /// Brings V8's count of this object's native memory up to date (after a call that may have
    /// grown or released buffers).
    fn report_memory(&mut self, env: &Env) {
        let held = i64::try_from(self.inner.peek().retained_bytes()).unwrap_or(i64::MAX);
        let change = held - self.reported;
        if change.abs() >= REPORT_STEP || (held == 0 && change != 0) {
            // Only a hint to the garbage collector: if it fails, the next call tries again.
            if env.adjust_external_memory(change).is_ok() {
                self.reported = held;
            }
        }
    }
}

impl StdoutAccumulator {
    /// What `pushCount` does, for the generated method and the plain callback of `fast_path`:
    /// `chunk` hands over the chunk's bytes (or the `TypeError` for a bad chunk) inside the
    /// panic containment, so both report errors in the same order.
    pub(crate) fn push_count_with<B: std::ops::Deref<Target = [u8]>>(
        &mut self,
        env: &Env,
        chunk: impl FnOnce() -> Result<B>,
    ) -> Result<f64> {
        self.changing(env, "pushCount", |acc| {
            let chunk = chunk()?;
            let accepted = acc.push(&chunk).map_err(|e| plain_error(usage_error_message(&e)))?;
            Ok(accepted.len() as f64)
        })
    }

    /// What the package's internal settle-and-push call does (the plain callback of
    /// `fast_path`, which the JS side of `pushCount` calls once per chunk it hands over): passes
    /// over the `pending` bytes the JS side counted, exactly as `trySkip(pending)` does (a
    /// refusal is an internal error), then pushes the chunk exactly as `pushCount` does
    /// ([`push_count_with`](Self::push_count_with)), then returns
    /// [`settled_push_result`] of what it accepted and `skippableAhead()`.
    pub(crate) fn settle_push_count_with<B: std::ops::Deref<Target = [u8]>>(
        &mut self,
        env: &Env,
        pending: &OptionValue,
        chunk: impl FnOnce() -> Result<B>,
    ) -> Result<f64> {
        let pending = skip_length(pending).map_err(|e| options_error(env, &e))?;
        if pending > 0 && !self.inner.with("trySkip", |acc| skip(acc, pending))? {
            return Err(plain_error(skip_refused(pending)));
        }
        let accepted = self.push_count_with(env, chunk)?;
        let ahead = if accepted > 0.0 { 0.0 } else { self.skippable_ahead()? };
        Ok(settled_push_result(accepted, ahead))
    }
}

/// What `trySkip` does once its argument is read: passes over the next `length` bytes of the
/// open read if the accumulator has no use for them.
fn skip(acc: &mut core::StdoutAccumulator, length: u64) -> Result<bool> {
    if !acc.is_reading() {
        return Err(plain_error(TRY_SKIP_OUTSIDE_READ));
    }
    // A length past the address space cannot be a response's next bytes.
    let Ok(length) = usize::try_from(length) else { return Ok(false) };
    acc.try_skip(length).map_err(|_| plain_error(TRY_SKIP_OUTSIDE_READ))
}

impl ObjectFinalize for StdoutAccumulator {
    fn finalize(self, env: Env) -> Result<()> {
        // Only a hint to the garbage collector: never worth an exception from a finalizer.
        if self.reported != 0 {
            let _ = env.adjust_external_memory(-self.reported);
        }
        Ok(())
    }
}

#[napi]
impl StdoutAccumulator {
    /// Creates an accumulator. Throws a `TypeError` for missing or malformed options.
    #[napi(constructor, ts_args_type = "options: StdoutAccumulatorOptions")]
    pub fn new(env: Env, options: Unknown<'_>) -> Result<Self> {
        let inner = Guarded::construct(|| {
            let config = read_config(&env, options)?;
            core::StdoutAccumulator::new(config).map_err(|e| options_error(&env, &config_error(&e)))
        })?;
        Ok(Self { inner, reported: 0 })
    }

    /// A new log response starts (a poll, a stream, a reconnect). A read still open is abandoned
    /// first; returns the bytes accepted by abandoning it (usually none).
    #[napi(ts_return_type = "Uint8Array")]
    pub fn begin_read<'env>(&mut self, env: &'env Env) -> Result<Uint8ArraySlice<'env>> {
        self.changing(env, "beginRead", |acc| Uint8ArraySlice::copy_from(env, acc.begin_read()))
    }

    /// Feeds the next chunk of the open response; returns the bytes newly accepted into stdout.
    /// Throws a `TypeError` for a non-`Uint8Array` chunk and an `Error` outside a read.
    #[napi(ts_args_type = "chunk: Uint8Array", ts_return_type = "Uint8Array")]
    pub fn push<'env>(
        &mut self,
        env: &'env Env,
        chunk: Unknown<'env>,
    ) -> Result<Uint8ArraySlice<'env>> {
        self.changing(env, "push", |acc| {
            let chunk = borrow_chunk(env, chunk)?;
            let accepted = acc.push(&chunk).map_err(|e| plain_error(usage_error_message(&e)))?;
            Uint8ArraySlice::copy_from(env, accepted)
        })
    }

    /// The fast path of `push`: feeds the next chunk of the open response exactly as `push`
    /// does, but returns only how many bytes it newly accepted into stdout and copies nothing
    /// out (they are `stdout`'s last bytes: `stdoutSlice(stdoutLength - n)`). The same errors
    /// as `push`.
    // When the addon loads, a plain Node-API callback with the same behaviour replaces this
    // method on the prototype (see `fast_path`); this one declares it and is its fallback.
    #[napi(ts_args_type = "chunk: Uint8Array")]
    pub fn push_count(&mut self, env: &Env, chunk: Unknown<'_>) -> Result<f64> {
        self.push_count_with(env, || borrow_chunk(env, chunk))
    }

    /// How many of the open response's next bytes `trySkip` would pass over without looking at
    /// them (in one call or in several smaller ones): bytes of a raw poll that re-serve what
    /// was already taken, up to the next place the accumulator checks; everything while it
    /// ignores the rest of a response (then `Number.MAX_SAFE_INTEGER`). 0 in timestamped mode
    /// and outside a read. The package's `pushCount` uses it to count such chunks without
    /// handing them over.
    // Replaced on the prototype by a plain Node-API callback when the addon loads (`fast_path`).
    #[napi]
    pub fn skippable_ahead(&mut self) -> Result<f64> {
        self.inner.with("skippableAhead", |acc| Ok(js_count(acc.skippable_ahead())))
    }

    /// Passes over the next `length` bytes of the open response without looking at them, if the
    /// accumulator has no use for them, and returns `true`, exactly as if they had been pushed;
    /// returns `false` and changes nothing when it needs them (push them then). Any `length`
    /// up to `skippableAhead` is passed over. Throws a `TypeError` for a non-number, a
    /// `RangeError` for a number that is not a non-negative safe integer, and an `Error`
    /// outside a read.
    // Replaced on the prototype by a plain Node-API callback when the addon loads (`fast_path`).
    #[napi(ts_args_type = "length: number")]
    pub fn try_skip(&mut self, env: &Env, length: Unknown<'_>) -> Result<bool> {
        self.inner.with("trySkip", |acc| {
            let length = skip_length(&option_value(length)?).map_err(|e| options_error(env, &e))?;
            skip(acc, length)
        })
    }

    /// `true` when the accumulator was created with `timestamps: true` (timestamped mode), as
    /// the option was given.
    #[napi(getter)]
    pub fn timestamps(&mut self) -> Result<bool> {
        self.inner.with("timestamps", |acc| Ok(acc.config().mode == core::Mode::Timestamped))
    }

    /// How many bytes of stdout are accepted so far (the length `finish().stdout` would have).
    #[napi(getter)]
    pub fn stdout_length(&mut self) -> Result<f64> {
        self.inner.with("stdoutLength", |acc| Ok(acc.stdout().len() as f64))
    }

    /// A copy of the stdout accepted so far from `start` to `end` (exclusive), read like
    /// `Uint8Array.prototype.slice`: both optional, negative values count from the end, clamped
    /// to `stdoutLength`. With `pushCount`, what a live tail needs: `stdoutSlice(lengthBefore)`
    /// after some pushes.
    #[napi(ts_return_type = "Uint8Array")]
    pub fn stdout_slice<'env>(
        &mut self,
        env: &'env Env,
        start: Option<f64>,
        end: Option<f64>,
    ) -> Result<Uint8ArraySlice<'env>> {
        self.inner.with("stdoutSlice", |acc| {
            let stdout = acc.stdout();
            let (from, to) = slice_bounds(stdout.len(), start, end);
            Uint8ArraySlice::copy_from(env, &stdout[from..to])
        })
    }

    /// The open response ended normally; returns the bytes accepted at its end.
    /// Throws an `Error` outside a read.
    #[napi(ts_return_type = "Uint8Array")]
    pub fn end_read<'env>(&mut self, env: &'env Env) -> Result<Uint8ArraySlice<'env>> {
        self.changing(env, "endRead", |acc| {
            let accepted = acc.end_read().map_err(|e| plain_error(usage_error_message(&e)))?;
            Uint8ArraySlice::copy_from(env, accepted)
        })
    }

    /// The open response was cut (a connection error): what it carried is kept, but it proves
    /// nothing about the log's length. Returns the bytes accepted at its end (usually none); does
    /// nothing without an open read.
    #[napi(ts_return_type = "Uint8Array")]
    pub fn abandon_read<'env>(&mut self, env: &'env Env) -> Result<Uint8ArraySlice<'env>> {
        self.changing(env, "abandonRead", |acc| Uint8ArraySlice::copy_from(env, acc.abandon_read()))
    }

    /// A snapshot of the result; may be called more than once, and reads may continue after it.
    #[napi]
    pub fn finish<'env>(&mut self, env: &'env Env) -> Result<StdoutOutcome<'env>> {
        self.inner.with("finish", |acc| {
            let outcome = acc.finish();
            Ok(StdoutOutcome {
                stdout: Uint8ArraySlice::copy_from(env, outcome.stdout)?,
                text: outcome.text().into_owned(),
                truncated: outcome.truncated,
                total_bytes: outcome.total_bytes as f64,
                rotations: outcome.rotations as f64,
                gaps: outcome.gaps as f64,
                malformed: outcome.malformed as f64,
            })
        })
    }
}

// A separate impl block: `#[napi]` registers every method of a block, so a `cfg` on one method
// would leave a dangling registration.
#[cfg(feature = "test-hooks")]
#[napi]
impl StdoutAccumulator {
    /// Test builds only (`test-hooks` feature): makes the next call on this object panic inside
    /// the panic containment, so tests can prove a panic becomes a thrown `Error`.
    #[napi(js_name = "__armPanicForTest")]
    pub fn arm_panic_for_test(&mut self) {
        self.inner.arm_panic();
    }
}

/// Reads and validates the constructor options.
fn read_config(env: &Env, options: Unknown<'_>) -> Result<core::Config> {
    let options = match options.get_type()? {
        ValueType::Object if !options.is_array()? => {
            // SAFETY: the value was just checked to be an object.
            unsafe { options.cast::<Object<'_>>()? }
        }
        ValueType::Object => return Err(options_error(env, &not_an_object("an array"))),
        other => return Err(options_error(env, &not_an_object(type_name(other)))),
    };
    for key in own_enumerable_string_keys(&options)? {
        if !KNOWN_OPTIONS.contains(&key.as_str()) {
            return Err(options_error(env, &unknown_option(&key)));
        }
    }
    let cap_bytes = option_value(options.get_named_property::<Unknown<'_>>("capBytes")?)?;
    let timestamps = option_value(options.get_named_property::<Unknown<'_>>("timestamps")?)?;
    config_from(&cap_bytes, &timestamps).map_err(|e| options_error(env, &e))
}

/// The keys `Object.keys()` would list, as the wasm binding sees them.
fn own_enumerable_string_keys(object: &Object<'_>) -> Result<Vec<String>> {
    let names = object.get_all_property_names(
        KeyCollectionMode::OwnOnly,
        KeyFilter::Enumerable,
        KeyConversion::NumbersToStrings,
    )?;
    let mut keys = Vec::new();
    for index in 0..names.get_array_length()? {
        let name = names.get_element::<Unknown<'_>>(index)?;
        // Symbol keys are not option names and `Object.keys()` skips them too.
        if name.get_type()? == ValueType::String {
            // SAFETY: the value type was just checked.
            keys.push(unsafe { name.cast::<String>()? });
        }
    }
    Ok(keys)
}

/// A JS value as the shared validation sees it (an option's value, or `trySkip`'s length).
pub(crate) fn option_value(value: Unknown<'_>) -> Result<OptionValue> {
    Ok(match value.get_type()? {
        ValueType::Undefined => OptionValue::Missing,
        // SAFETY (both casts): the value type was just checked.
        ValueType::Boolean => OptionValue::Bool(unsafe { value.cast::<bool>()? }),
        ValueType::Number => OptionValue::Number(unsafe { value.cast::<f64>()? }),
        other => OptionValue::Other(type_name(other)),
    })
}

/// Borrows the bytes of a `Uint8Array` (or `Buffer`) argument; anything else is a `TypeError`.
pub(crate) fn borrow_chunk<'env>(env: &Env, chunk: Unknown<'env>) -> Result<Uint8ArraySlice<'env>> {
    let kind = chunk.get_type()?;
    if kind == ValueType::Object && chunk.is_typedarray()? {
        // Any other typed array (Int8Array, Uint16Array...) fails this conversion.
        // SAFETY: the value is a typed array.
        if let Ok(bytes) = unsafe { chunk.cast::<Uint8ArraySlice<'env>>() } {
            return Ok(bytes);
        }
        return Err(type_error(env, &chunk_not_uint8array("another kind of typed array")));
    }
    let got = if kind == ValueType::Object && chunk.is_arraybuffer()? {
        "an ArrayBuffer"
    } else if kind == ValueType::Object && chunk.is_array()? {
        "an array"
    } else {
        type_name(kind)
    };
    Err(type_error(env, &chunk_not_uint8array(got)))
}

/// The `typeof`-style name used in messages.
fn type_name(kind: ValueType) -> &'static str {
    match kind {
        ValueType::Undefined => "undefined",
        ValueType::Null => "null",
        ValueType::Boolean => "boolean",
        ValueType::Number => "number",
        ValueType::String => "string",
        ValueType::Symbol => "symbol",
        ValueType::Object => "object",
        ValueType::Function => "function",
        ValueType::BigInt => "bigint",
        _ => "a value of another type",
    }
}
