//! Panic containment for exported objects.
//!
//! A panic must never unwind into Node: it would abort the whole process. [`Guarded`] runs each
//! call under `catch_unwind`, turns a panic into a thrown JS `Error`, and poisons the object,
//! because its state may be half-updated: every later call fails with a clear message instead of
//! returning possibly wrong bytes.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use napi::Result;

use crate::js_error::plain_error;

/// A value whose every use runs under panic containment.
pub struct Guarded<T> {
    value: T,
    /// The panic message that made the value unusable, if any.
    poisoned: Option<String>,
    /// Test builds only: makes the next guarded call panic.
    #[cfg(feature = "test-hooks")]
    panic_on_next_call: bool,
}

impl<T> Guarded<T> {
    /// Wraps a healthy value.
    pub fn new(value: T) -> Self {
        Self {
            value,
            poisoned: None,
            #[cfg(feature = "test-hooks")]
            panic_on_next_call: false,
        }
    }

    /// Runs `call` on the value; `what` names the JS method in error messages.
    pub fn with<R>(&mut self, what: &str, call: impl FnOnce(&mut T) -> Result<R>) -> Result<R> {
        if let Some(reason) = &self.poisoned {
            return Err(plain_error(format!(
                "accumulator is unusable after an internal error: {reason}"
            )));
        }
        #[cfg(feature = "test-hooks")]
        let inject_panic = std::mem::take(&mut self.panic_on_next_call);
        let value = &mut self.value;
        let outcome = catch_unwind(AssertUnwindSafe(move || {
            #[cfg(feature = "test-hooks")]
            if inject_panic {
                panic!("panic injected by the test hook");
            }
            call(value)
        }));
        match outcome {
            Ok(result) => result,
            Err(payload) => {
                let reason = format!("{what} panicked: {}", panic_message(payload.as_ref()));
                let error = plain_error(format!(
                    "internal error in StdoutAccumulator: {reason}; this accumulator is now unusable"
                ));
                self.poisoned = Some(reason);
                Err(error)
            }
        }
    }

    /// The value, for reading only (also when poisoned: reading cannot make it worse).
    pub fn peek(&self) -> &T {
        &self.value
    }

    /// Test builds only: the next [`Guarded::with`] call panics inside the containment.
    #[cfg(feature = "test-hooks")]
    pub fn arm_panic(&mut self) {
        self.panic_on_next_call = true;
    }
}

/// Runs `call` (which has no object to poison yet, e.g. a constructor) under panic containment.
pub fn contain<R>(what: &str, call: impl FnOnce() -> Result<R>) -> Result<R> {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|payload| {
        Err(plain_error(format!(
            "internal error in StdoutAccumulator: {what} panicked: {}",
            panic_message(payload.as_ref())
        )))
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
