//! `StdoutAccumulator.prototype.pushCount`, `skippableAhead` and `trySkip` as plain Node-API
//! callbacks.
//!
//! A raw poll re-serves the whole log file in 64 KiB chunks, and the accumulator passes over
//! most of them in nanoseconds; what such a call costs is the binding around it. A method that
//! napi-rs generates pays, on every call, for its receiver bookkeeping (a shared borrow registry
//! and a class identity lookup, both behind a global lock, and a few allocations), which made a
//! `pushCount` of a skipped chunk cost about ten times the native work. These three methods
//! touch nothing of JS while they run and return a number or a boolean, so they need none of
//! that: `pushCount` is called for every chunk the package's JS side hands over, and
//! `skippableAhead`/`trySkip` by that JS side around them (npm/sandbox-native/skip-layer.js).
//! Each callback replaces the generated method on the class prototype when the addon loads, with
//! the same name, arguments, result, errors and panic containment (the generated methods do the
//! work for both: `StdoutAccumulator::push_count_with`, `skippable_ahead`, `try_skip`).
//!
//! A fourth callback, installed as [`SETTLE_PUSH_COUNT`], does in one call what the JS side did
//! in three for each chunk it hands over: `trySkip(pending)` for the chunks it counted, then
//! `pushCount(chunk)`, then `skippableAhead()` (`StdoutAccumulator::settle_push_count_with`).
//! It is internal: the JS side takes it from the prototype and deletes it there when it installs
//! itself, so the class shows only its declared methods.
//!
//! The receiver is checked with the Node-API type tag that napi-rs puts on every
//! `StdoutAccumulator` it constructs (Node-API 8), before its native pointer is used: any other
//! receiver is a `TypeError`, never a misread object.

// napi-rs registers the `module_exports` hook only outside `cfg(test)`, where nothing else
// reaches this module.
#![cfg_attr(test, allow(dead_code))]

use std::ffi::{CStr, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;

use napi::bindgen_prelude::{FromNapiValue, JsObjectValue, Object, TypeTag, Unknown};
use napi::{Env, Error, JsError, JsValue, Result, Status, sys};
use napi_derive::napi;
use tale_sandbox_binding_options::OptionValue;

use crate::accumulator::{StdoutAccumulator, borrow_chunk, option_value};
use crate::guard::panic_message;
use crate::js_error::type_error;

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// The prototype property under which the settle-and-push callback is installed, for the JS side
/// (npm/sandbox-native/skip-layer.js, which deletes it from the prototype) and nothing else.
pub const SETTLE_PUSH_COUNT: &CStr = c"__settlePushCount";

/// Installs the plain callbacks as `StdoutAccumulator.prototype.pushCount`, `skippableAhead` and
/// `trySkip`, and the internal [`SETTLE_PUSH_COUNT`] (run by napi-rs once the classes are
/// registered).
#[napi(module_exports)]
pub fn install_fast_path(exports: Object, env: Env) -> Result<()> {
    // A class is a function, which `Object`'s checked conversion refuses.
    let class: Unknown = exports.get_named_property("StdoutAccumulator")?;
    // SAFETY: a function is an object; only its properties are read.
    let class: Object = unsafe { class.cast()? };
    let prototype: Object = class.get_named_property("prototype")?;
    // The attributes napi-rs gives class methods (writable, enumerable, configurable); the
    // internal method is not enumerable, and stays configurable so that the JS side can delete it.
    let method = sys::PropertyAttributes::writable
        | sys::PropertyAttributes::enumerable
        | sys::PropertyAttributes::configurable;
    let methods: [(&CStr, Callback, sys::napi_property_attributes); 4] = [
        (c"pushCount", push_count, method),
        (c"skippableAhead", skippable_ahead, method),
        (c"trySkip", try_skip, method),
        (SETTLE_PUSH_COUNT, settle_push_count, sys::PropertyAttributes::configurable),
    ];
    for (name, callback, attributes) in methods {
        let mut function = ptr::null_mut();
        // SAFETY: plain Node-API calls on live values of this env; the name is NUL-terminated.
        unsafe {
            check(sys::napi_create_function(
                env.raw(),
                name.as_ptr(),
                name.count_bytes() as isize,
                Some(callback),
                ptr::null_mut(),
                &mut function,
            ))?;
            let property = sys::napi_property_descriptor {
                utf8name: name.as_ptr(),
                name: ptr::null_mut(),
                method: None,
                getter: None,
                setter: None,
                value: function,
                attributes,
                data: ptr::null_mut(),
            };
            check(sys::napi_define_properties(env.raw(), prototype.raw(), 1, &property))?;
        }
    }
    Ok(())
}

/// `pushCount(chunk)`.
unsafe extern "C" fn push_count(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: called by Node-API with a live env and callback info.
    unsafe {
        contained(env, info, "pushCount", |wrapper, accumulator, [chunk]| {
            let accepted =
                accumulator.push_count_with(wrapper, || chunk_bytes(env, wrapper, chunk))?;
            let mut result = ptr::null_mut();
            check(sys::napi_create_double(env, accepted, &mut result))?;
            Ok(result)
        })
    }
}

/// `__settlePushCount(chunk, pending)` (internal, see [`SETTLE_PUSH_COUNT`]): `trySkip(pending)`
/// when `pending > 0` (a refusal is an internal error), `pushCount(chunk)`, and `skippableAhead()`
/// when nothing was accepted, in one call. Returns the accepted count when it is positive,
/// otherwise minus what may be skipped next (`StdoutAccumulator::settle_push_count_with`).
unsafe extern "C" fn settle_push_count(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: called by Node-API with a live env and callback info.
    unsafe {
        contained(env, info, "pushCount", |wrapper, accumulator, [chunk, pending]| {
            let mut count = 0.0;
            let pending =
                if sys::napi_get_value_double(env, pending, &mut count) == sys::Status::napi_ok {
                    OptionValue::Number(count)
                } else {
                    // Not a number: `trySkip`'s checks give the precise TypeError.
                    option_value(Unknown::from_napi_value(env, pending)?)?
                };
            let result = accumulator
                .settle_push_count_with(wrapper, &pending, || chunk_bytes(env, wrapper, chunk))?;
            let mut value = ptr::null_mut();
            check(sys::napi_create_double(env, result, &mut value))?;
            Ok(value)
        })
    }
}

/// `skippableAhead()`.
unsafe extern "C" fn skippable_ahead(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: called by Node-API with a live env and callback info.
    unsafe {
        contained(env, info, "skippableAhead", |_, accumulator, []| {
            let ahead = accumulator.skippable_ahead()?;
            let mut result = ptr::null_mut();
            check(sys::napi_create_double(env, ahead, &mut result))?;
            Ok(result)
        })
    }
}

/// `trySkip(length)`.
unsafe extern "C" fn try_skip(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: called by Node-API with a live env and callback info.
    unsafe {
        contained(env, info, "trySkip", |wrapper, accumulator, [length]| {
            let skipped = accumulator.try_skip(wrapper, Unknown::from_napi_value(env, length)?)?;
            let mut result = ptr::null_mut();
            check(sys::napi_get_boolean(env, skipped, &mut result))?;
            Ok(result)
        })
    }
}

/// Runs `call` with the callback's receiver, checked to be a `StdoutAccumulator`, and its first
/// `N` arguments (`undefined` for those missing). Every failure, and any panic, becomes a thrown
/// exception.
///
/// # Safety
/// `env` and `info` must be the live arguments of a Node-API callback.
unsafe fn contained<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    name: &str,
    call: impl FnOnce(&Env, &mut StdoutAccumulator, [sys::napi_value; N]) -> Result<sys::napi_value>,
) -> sys::napi_value {
    // SAFETY: see the function's contract.
    let outcome =
        catch_unwind(AssertUnwindSafe(|| unsafe { with_receiver(env, info, name, call) }))
            .unwrap_or_else(|payload| {
                Err(Error::new(
                    Status::GenericFailure,
                    format!(
                        "internal error in StdoutAccumulator: {name} panicked: {}",
                        panic_message(payload.as_ref())
                    ),
                ))
            });
    match outcome {
        Ok(value) => value,
        Err(error) => {
            // A pending exception (a TypeError already thrown) stays as it is.
            if error.status != Status::PendingException {
                // SAFETY: the env is live; throwing is what the callback's caller expects.
                unsafe { JsError::from(error).throw_into(env) };
            }
            ptr::null_mut()
        }
    }
}

/// # Safety
/// `env` and `info` must be the live arguments of a Node-API callback.
unsafe fn with_receiver<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    name: &str,
    call: impl FnOnce(&Env, &mut StdoutAccumulator, [sys::napi_value; N]) -> Result<sys::napi_value>,
) -> Result<sys::napi_value> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    let mut this = ptr::null_mut();
    // SAFETY (every call below): Node-API calls with the callback's live env and values, and
    // out-pointers to locals. A missing argument is filled in as `undefined`.
    unsafe {
        check(sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            &mut this,
            ptr::null_mut(),
        ))?;
        let wrapper = Env::from_raw(env);
        let not_ours =
            || type_error(&wrapper, &format!("{name}: the receiver is not a StdoutAccumulator"));
        let mut ours = false;
        let tag = <StdoutAccumulator as TypeTag>::type_tag();
        if sys::napi_check_object_type_tag(env, this, &tag, &mut ours) != sys::Status::napi_ok
            || !ours
        {
            return Err(not_ours());
        }
        let mut native: *mut c_void = ptr::null_mut();
        check(sys::napi_unwrap(env, this, &mut native))?;
        if native.is_null() {
            return Err(not_ours());
        }
        // The tag says napi-rs wrapped a `StdoutAccumulator` here. Nothing in these calls runs
        // JS, so no other call can reach the object while this borrow lives.
        let accumulator = &mut *native.cast::<StdoutAccumulator>();
        call(&wrapper, accumulator, argv)
    }
}

/// The bytes of `pushCount`'s `chunk`, borrowed in place; anything but a `Uint8Array` is the
/// generated method's precise `TypeError`.
///
/// # Safety
/// `env` and `chunk` must be live, `wrapper` must wrap `env`, and the slice must not outlive the
/// callback.
unsafe fn chunk_bytes<'a>(
    env: sys::napi_env,
    wrapper: &Env,
    chunk: sys::napi_value,
) -> Result<&'a [u8]> {
    // SAFETY: see the function's contract.
    unsafe {
        if let Some(bytes) = typed_array_bytes(env, chunk) {
            return Ok(bytes);
        }
        let slice = borrow_chunk(wrapper, Unknown::from_napi_value(env, chunk)?)?;
        // SAFETY: the bytes of a live argument, used only within this callback.
        Ok(std::slice::from_raw_parts(slice.as_ptr(), slice.len()))
    }
}

/// The bytes of `value` when it is a `Uint8Array` (a `Buffer` is one), borrowed in place.
///
/// # Safety
/// `env` and `value` must be live, and the slice must not outlive the callback.
unsafe fn typed_array_bytes<'a>(env: sys::napi_env, value: sys::napi_value) -> Option<&'a [u8]> {
    let mut kind = 0;
    let mut length = 0;
    let mut data = ptr::null_mut();
    // SAFETY: see the function's contract; fails (without throwing) for anything but a typed array.
    let status = unsafe {
        sys::napi_get_typedarray_info(
            env,
            value,
            &mut kind,
            &mut length,
            &mut data,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok || kind != sys::TypedarrayType::uint8_array {
        return None;
    }
    if length == 0 || data.is_null() {
        return Some(&[]);
    }
    // SAFETY: Node-API reports `length` bytes at `data` for this live Uint8Array.
    Some(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), length) })
}

fn check(status: sys::napi_status) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::from(status),
            "a Node-API call failed in a StdoutAccumulator method",
        ))
    }
}
