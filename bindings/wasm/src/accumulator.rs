//! The `StdoutAccumulator` class: the wasm face of [`tale_sandbox_accumulator::StdoutAccumulator`].
//!
//! Same API, validation and messages as the Node addon (`tale-sandbox-binding-options`). Wasm cannot
//! read JS memory in place, so a chunk is copied into linear memory through a reused scratch
//! buffer — in pieces, and only the pieces the accumulator will look at
//! ([`core::StdoutAccumulator::try_skip`]; small pieces deep in a raw response, where a chunk
//! is usually looked at in one small window only) — or, for new raw bytes that all go into
//! stdout, straight into stdout ([`core::StdoutAccumulator::try_push_in_place`]); accepted
//! bytes are copied out into a fresh `Uint8Array`, except on the fast path (`pushCount`,
//! `stdoutLength`, `stdoutSlice`), which copies stdout out only when and as much as the caller
//! asks.
//!
//! Panics: `wasm32-unknown-unknown` aborts on panic, so a panic surfaces in JS as a
//! `WebAssembly.RuntimeError` ("unreachable") and cannot be caught in Rust; the accumulator is
//! written not to panic.

use js_sys::{Array, ArrayBuffer, DataView, Object, Reflect, Uint8Array};
use tale_sandbox_accumulator as core;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use tale_sandbox_binding_options::{
    JsErrorKind, KNOWN_OPTIONS, OptionValue, OptionsError, TRY_SKIP_OUTSIDE_READ,
    chunk_not_uint8array, config_error, config_from, js_count, not_an_object, settled_push_result,
    skip_length, skip_refused, slice_bounds, unknown_option, usage_error_message,
};

/// A chunk is handed over in pieces of at most this size, each copied only if it is needed; the
/// scratch buffer never grows past it.
const PIECE_BYTES: usize = 64 * 1024;
/// Deep in a raw response, a chunk that is looked at is usually looked at only in one small
/// window (a 64-byte sample, the last 4 KiB consumed): such a chunk is offered in pieces of this
/// size, so that only the piece holding the window is copied.
const SMALL_PIECE_BYTES: usize = 4 * 1024;
/// Response offset from which chunks are offered in small pieces: past the first response bytes,
/// which raw mode keeps whole in case the response is a new file (up to 64 KiB), and past the
/// piece after them, so that where a new file is found, and so what is kept of it, is the same
/// as with 64 KiB pieces.
const SMALL_PIECES_FROM: u64 = 2 * PIECE_BYTES as u64;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options of `new StdoutAccumulator(options)`. */
export interface StdoutAccumulatorOptions {
  /** Keep the first `capBytes` bytes of stdout; a positive safe integer. */
  capBytes: number
  /**
   * `true` when the log responses were read with `timestamps=true` (timestamped mode);
   * `false` or absent for raw snapshot polls.
   */
  timestamps?: boolean
}

/** What `finish()` returns: a snapshot of the accumulated stdout. */
export interface StdoutOutcome {
  /** The first `capBytes` bytes of stdout that could be proven, in order. */
  stdout: Uint8Array
  /** `stdout` decoded as UTF-8, without a trailing character cut by the cap. */
  text: string
  /** `true` when `stdout` is not the whole stream: bytes past the cap, or a gap. */
  truncated: boolean
  /** Stdout bytes seen, including those past the cap. */
  totalBytes: number
  /** Log rotations detected. */
  rotations: number
  /** Places where bytes may be missing (a rotation between reads, a cut response). */
  gaps: number
  /** Malformed timestamp prefixes seen (timestamped mode). */
  malformed: number
}

/**
 * What `byteCounts()` returns: where the bytes fed so far went, counted since the accumulator was
 * created. Take it before a response's `beginRead()` and after its `endRead()`/`abandonRead()`:
 * the differences are what that response brought. Once a read is closed,
 * `wire = accepted + duplicate + skipped + framing`.
 */
export interface ByteCounts {
  /** Response bytes fed (pushed). */
  wire: number
  /** Stream bytes newly taken (timestamp prefixes stripped), also past the cap: `totalBytes`. */
  accepted: number
  /** Of `accepted`, the bytes kept in `stdout` (under the cap). */
  kept: number
  /** Content bytes that re-served what was already taken (overlap of a resumed read, a re-read snapshot). */
  duplicate: number
  /** Content bytes seen but not used without being known duplicates (after a malformed prefix, an undecidable line). */
  skipped: number
  /** Timestamp prefix bytes (`wire` minus the rest); 0 in raw mode. */
  framing: number
  /** `finish().rotations`, without copying stdout. */
  rotations: number
  /** `finish().gaps`, without copying stdout. */
  gaps: number
  /** `finish().malformed`, without copying stdout. */
  malformed: number
}
"#;

/// Turns the sequence of pod-log responses of one container into its exact stdout, surviving
/// kubelet log rotation and reporting every possible loss.
#[wasm_bindgen]
pub struct StdoutAccumulator {
    inner: core::StdoutAccumulator,
    scratch: Vec<u8>,
    /// Bytes of the open response fed so far (pushed or skipped).
    response_offset: u64,
}

#[wasm_bindgen]
impl StdoutAccumulator {
    /// Creates an accumulator. Throws a `TypeError` for missing or malformed options.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "StdoutAccumulatorOptions")] options: JsValue,
    ) -> Result<StdoutAccumulator, JsValue> {
        let config = read_config(&options).map_err(options_error)?;
        let inner =
            core::StdoutAccumulator::new(config).map_err(|e| options_error(config_error(&e)))?;
        Ok(Self { inner, scratch: Vec::new(), response_offset: 0 })
    }

    /// A new log response starts (a poll, a stream, a reconnect). A read still open is abandoned
    /// first; returns the bytes accepted by abandoning it (usually none).
    #[wasm_bindgen(js_name = beginRead)]
    pub fn begin_read(&mut self) -> Uint8Array {
        self.response_offset = 0;
        Uint8Array::from(self.inner.begin_read())
    }

    /// Feeds the next chunk of the open response; returns the bytes newly accepted into stdout.
    /// Throws a `TypeError` for a non-`Uint8Array` chunk and an `Error` outside a read.
    pub fn push(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] chunk: &JsValue,
    ) -> Result<Uint8Array, JsValue> {
        let before = self.inner.stdout().len();
        self.feed(chunk)?;
        Ok(Uint8Array::from(&self.inner.stdout()[before..]))
    }

    /// The fast path of `push`: feeds the next chunk of the open response exactly as `push`
    /// does, but returns only how many bytes it newly accepted into stdout and copies nothing
    /// out (they are `stdout`'s last bytes: `stdoutSlice(stdoutLength - n)`). The same errors
    /// as `push`.
    #[wasm_bindgen(js_name = pushCount)]
    pub fn push_count(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] chunk: &JsValue,
    ) -> Result<f64, JsValue> {
        let before = self.inner.stdout().len();
        self.feed(chunk)?;
        Ok((self.inner.stdout().len() - before) as f64)
    }

    /// How many of the open response's next bytes `trySkip` would pass over without looking at
    /// them (in one call or in several smaller ones): bytes of a raw poll that re-serve what
    /// was already taken, up to the next place the accumulator checks; everything while it
    /// ignores the rest of a response (then `Number.MAX_SAFE_INTEGER`). 0 in timestamped mode
    /// and outside a read. The package's `pushCount` uses it to count such chunks without
    /// handing them over.
    #[wasm_bindgen(js_name = skippableAhead)]
    pub fn skippable_ahead(&self) -> f64 {
        js_count(self.inner.skippable_ahead())
    }

    /// Passes over the next `length` bytes of the open response without looking at them, if the
    /// accumulator has no use for them, and returns `true`, exactly as if they had been pushed;
    /// returns `false` and changes nothing when it needs them (push them then). Any `length`
    /// up to `skippableAhead` is passed over. Throws a `TypeError` for a non-number, a
    /// `RangeError` for a number that is not a non-negative safe integer, and an `Error`
    /// outside a read.
    #[wasm_bindgen(js_name = trySkip)]
    pub fn try_skip(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "number")] length: &JsValue,
    ) -> Result<bool, JsValue> {
        let length = skip_length(&value_of(length)).map_err(options_error)?;
        self.skip(length)
    }

    /// Internal (not declared, and deleted from the prototype by the package's JS side, which
    /// takes it first): what that JS side does for each chunk it hands over, in one call instead
    /// of three. Passes over the `pending` bytes it counted, exactly as `trySkip(pending)` does,
    /// when `pending > 0` (a refusal is an internal error); then pushes `chunk` exactly as
    /// `pushCount(chunk)` does; then returns the accepted count when it is positive, otherwise
    /// minus `skippableAhead()` (see [`settled_push_result`]). `pending` is a number here (the
    /// glue converts what it is given), checked as `trySkip` checks its length.
    #[wasm_bindgen(js_name = __settlePushCount, skip_typescript)]
    pub fn settle_push_count(&mut self, chunk: &JsValue, pending: f64) -> Result<f64, JsValue> {
        let pending = skip_length(&OptionValue::Number(pending)).map_err(options_error)?;
        if pending > 0 && !self.skip(pending)? {
            return Err(js_error_plain(&skip_refused(pending)));
        }
        let accepted = self.push_count(chunk)?;
        let ahead = if accepted > 0.0 { 0.0 } else { self.skippable_ahead() };
        Ok(settled_push_result(accepted, ahead))
    }

    /// `true` when the accumulator was created with `timestamps: true` (timestamped mode), as
    /// the option was given.
    #[wasm_bindgen(getter)]
    pub fn timestamps(&self) -> bool {
        self.inner.config().mode == core::Mode::Timestamped
    }

    /// How many bytes of stdout are accepted so far (the length `finish().stdout` would have).
    #[wasm_bindgen(getter, js_name = stdoutLength)]
    pub fn stdout_length(&self) -> f64 {
        self.inner.stdout().len() as f64
    }

    /// A copy of the stdout accepted so far from `start` to `end` (exclusive), read like
    /// `Uint8Array.prototype.slice`: both optional, negative values count from the end, clamped
    /// to `stdoutLength`. With `pushCount`, what a live tail needs: `stdoutSlice(lengthBefore)`
    /// after some pushes.
    #[wasm_bindgen(js_name = stdoutSlice)]
    pub fn stdout_slice(&self, start: Option<f64>, end: Option<f64>) -> Uint8Array {
        let stdout = self.inner.stdout();
        let (from, to) = slice_bounds(stdout.len(), start, end);
        Uint8Array::from(&stdout[from..to])
    }

    /// The open response ended normally; returns the bytes accepted at its end.
    /// Throws an `Error` outside a read.
    #[wasm_bindgen(js_name = endRead)]
    pub fn end_read(&mut self) -> Result<Uint8Array, JsValue> {
        self.inner
            .end_read()
            .map(Uint8Array::from)
            .map_err(|e| js_error_plain(&usage_error_message(&e)))
    }

    /// The open response was cut (a connection error): what it carried is kept, but it proves
    /// nothing about the log's length. Returns the bytes accepted at its end (usually none); does
    /// nothing without an open read.
    #[wasm_bindgen(js_name = abandonRead)]
    pub fn abandon_read(&mut self) -> Uint8Array {
        Uint8Array::from(self.inner.abandon_read())
    }

    /// Where the bytes fed so far went (see the `ByteCounts` type): a few counters, cheap.
    #[wasm_bindgen(js_name = byteCounts, unchecked_return_type = "ByteCounts")]
    pub fn byte_counts(&self) -> Result<JsValue, JsValue> {
        let counts = self.inner.byte_counts();
        let result = Object::new();
        let set = |key: &str, value: u64| {
            Reflect::set(&result, &JsValue::from_str(key), &(value as f64).into())
        };
        set("wire", counts.wire)?;
        set("accepted", counts.accepted)?;
        set("kept", counts.kept)?;
        set("duplicate", counts.duplicate)?;
        set("skipped", counts.skipped)?;
        set("framing", counts.framing())?;
        let outcome = self.inner.finish();
        set("rotations", outcome.rotations)?;
        set("gaps", outcome.gaps)?;
        set("malformed", outcome.malformed)?;
        Ok(result.into())
    }

    /// A snapshot of the result; may be called more than once, and reads may continue after it.
    #[wasm_bindgen(unchecked_return_type = "StdoutOutcome")]
    pub fn finish(&self) -> Result<JsValue, JsValue> {
        let outcome = self.inner.finish();
        let result = Object::new();
        let set =
            |key: &str, value: JsValue| Reflect::set(&result, &JsValue::from_str(key), &value);
        set("stdout", Uint8Array::from(outcome.stdout).into())?;
        set("text", JsValue::from_str(&outcome.text()))?;
        set("truncated", JsValue::from_bool(outcome.truncated))?;
        set("totalBytes", JsValue::from_f64(outcome.total_bytes as f64))?;
        set("rotations", JsValue::from_f64(outcome.rotations as f64))?;
        set("gaps", JsValue::from_f64(outcome.gaps as f64))?;
        set("malformed", JsValue::from_f64(outcome.malformed as f64))?;
        Ok(result.into())
    }
}

impl StdoutAccumulator {
    /// What `trySkip` does once its argument is read: passes over the next `length` bytes of
    /// the open read if the accumulator has no use for them.
    fn skip(&mut self, length: u64) -> Result<bool, JsValue> {
        if !self.inner.is_reading() {
            return Err(js_error_plain(TRY_SKIP_OUTSIDE_READ));
        }
        let skipped = match usize::try_from(length) {
            Ok(len) => {
                self.inner.try_skip(len).map_err(|_| js_error_plain(TRY_SKIP_OUTSIDE_READ))?
            }
            // Past 4 GiB (wasm32): only within `skippableAhead`, which may be skipped in any
            // pieces, so none of them can be refused midway.
            Err(_) if length <= self.inner.skippable_ahead() => {
                let mut left = length;
                while left > 0 {
                    let piece = left.min(u32::MAX as u64);
                    let piece_len = usize::try_from(piece).unwrap_or(usize::MAX);
                    if !self
                        .inner
                        .try_skip(piece_len)
                        .map_err(|_| js_error_plain(TRY_SKIP_OUTSIDE_READ))?
                    {
                        break;
                    }
                    left -= piece_len as u64;
                }
                left == 0
            }
            Err(_) => false,
        };
        if skipped {
            self.response_offset += length;
        }
        Ok(skipped)
    }

    /// Hands `chunk` to the core (what `push` and `pushCount` share).
    fn feed(&mut self, chunk: &JsValue) -> Result<(), JsValue> {
        let chunk = as_uint8array(chunk)?;
        let usage = |e: core::UsageError| js_error_plain(&usage_error_message(&e));
        let len = chunk.length() as usize;
        // Copying into linear memory is the main cost of a push here, and a raw poll re-serves
        // the whole file: ask before copying, piece by piece, so only what is read is copied.
        // Only the first call can fail (outside a read); nothing below changes that state, so
        // no accepted bytes can be left unreturned by an error midway.
        if self.inner.try_skip(len).map_err(usage)? {
            self.response_offset += len as u64;
            return Ok(());
        }
        let mut at = 0;
        while at < len {
            // Re-served bytes deep in a raw response are only checked at a few windows: pass
            // over what the accumulator says it would not look at, and copy the rest in small
            // pieces (a checked window is met in the first of them). Before that, and once the
            // response serves new bytes, everything is read, in large pieces. The first bytes
            // after the hold are always handed over whole, so that a new file found there
            // continues from the hold as it would with the whole chunk.
            let small = self.response_offset + at as u64 >= SMALL_PIECES_FROM
                && self.inner.rechecked_ahead() > 0;
            if small {
                let ahead = self.inner.skippable_ahead().min((len - at) as u64) as usize;
                // Within `skippable_ahead`, so passed over by contract; `false` would only mean
                // pushing these bytes after all.
                if ahead > 0 && self.inner.try_skip(ahead).map_err(usage)? {
                    at += ahead;
                    continue;
                }
            }
            let end = len.min(at + if small { SMALL_PIECE_BYTES } else { PIECE_BYTES });
            let whole = at == 0 && end == len;
            if whole || small || !self.inner.try_skip(end - at).map_err(usage)? {
                let piece =
                    if whole { chunk.clone() } else { chunk.subarray(at as u32, end as u32) };
                // New bytes that all go into stdout are copied once, straight there; anything
                // the accumulator reads first goes through the scratch buffer.
                if !self
                    .inner
                    .try_push_in_place(end - at, |buf| piece.copy_to_uninit(buf))
                    .map_err(usage)?
                {
                    self.scratch.clear();
                    self.scratch.reserve(end - at);
                    let bytes =
                        piece.copy_to_uninit(&mut self.scratch.spare_capacity_mut()[..end - at]);
                    self.inner.push(bytes).map_err(usage)?;
                }
            }
            at = end;
        }
        self.response_offset += len as u64;
        Ok(())
    }
}

/// Reads and validates the constructor options.
fn read_config(options: &JsValue) -> Result<core::Config, OptionsError> {
    if !options.is_object() {
        return Err(not_an_object(type_name(options)));
    }
    if Array::is_array(options) {
        return Err(not_an_object("an array"));
    }
    let options: &Object = options.unchecked_ref();
    for key in Object::keys(options).iter() {
        let key = key.as_string().unwrap_or_default();
        if !KNOWN_OPTIONS.contains(&key.as_str()) {
            return Err(unknown_option(&key));
        }
    }
    let cap_bytes = option_value(options, "capBytes")?;
    let timestamps = option_value(options, "timestamps")?;
    config_from(&cap_bytes, &timestamps)
}

fn option_value(options: &Object, name: &str) -> Result<OptionValue, OptionsError> {
    let value = Reflect::get(options, &JsValue::from_str(name)).map_err(|e| OptionsError {
        kind: JsErrorKind::Type,
        message: format!("new StdoutAccumulator(options): reading {name} threw: {e:?}"),
    })?;
    Ok(value_of(&value))
}

/// A JS value as the shared validation sees it (an option's value, or `trySkip`'s length).
fn value_of(value: &JsValue) -> OptionValue {
    if value.is_undefined() {
        OptionValue::Missing
    } else if let Some(flag) = value.as_bool() {
        OptionValue::Bool(flag)
    } else if let Some(number) = value.as_f64() {
        OptionValue::Number(number)
    } else {
        OptionValue::Other(type_name(value))
    }
}

/// Returns the argument as a `Uint8Array` (a `Buffer` is one); anything else is a `TypeError`.
fn as_uint8array(chunk: &JsValue) -> Result<&Uint8Array, JsValue> {
    if let Some(bytes) = chunk.dyn_ref::<Uint8Array>() {
        return Ok(bytes);
    }
    let got = if ArrayBuffer::is_view(chunk) && !chunk.is_instance_of::<DataView>() {
        "another kind of typed array"
    } else if chunk.is_instance_of::<ArrayBuffer>() {
        "an ArrayBuffer"
    } else if Array::is_array(chunk) {
        "an array"
    } else {
        type_name(chunk)
    };
    Err(js_error(JsErrorKind::Type, &chunk_not_uint8array(got)))
}

/// The `typeof`-style name used in messages (the same names as the Node addon).
fn type_name(value: &JsValue) -> &'static str {
    if value.is_null() {
        return "null";
    }
    match value.js_typeof().as_string().as_deref() {
        Some("undefined") => "undefined",
        Some("boolean") => "boolean",
        Some("number") => "number",
        Some("string") => "string",
        Some("symbol") => "symbol",
        Some("object") => "object",
        Some("function") => "function",
        Some("bigint") => "bigint",
        _ => "a value of another type",
    }
}

fn options_error(error: OptionsError) -> JsValue {
    js_error(error.kind, &error.message)
}

fn js_error(kind: JsErrorKind, message: &str) -> JsValue {
    match kind {
        JsErrorKind::Type => js_sys::TypeError::new(message).into(),
        JsErrorKind::Range => js_sys::RangeError::new(message).into(),
    }
}

fn js_error_plain(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}
