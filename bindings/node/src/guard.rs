//! Panic containment for exported objects, whatever their class.
//!
//! A panic must never unwind into Node: it would abort the whole process. [`Guarded`] runs each
//! call under `catch_unwind`, turns a panic into a thrown JS `Error`, and poisons the object,
//! because its state may be half-updated: every later call fails with a clear message instead of
//! returning possibly wrong bytes. A class keeps its Rust state in a `Guarded<T>` and names
//! itself for the messages by implementing [`Contained`] for `T`.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use napi::Result;

use crate::js_error::plain_error;

/// The Rust state of a JS class, held in a [`Guarded`]: how the guard's messages name the class
/// and one of its objects.
pub trait Contained {
    /// The JS class name (`StdoutAccumulator`).
    const CLASS: &'static str;
    /// One object of the class, as a message names it (`accumulator`).
    const OBJECT: &'static str;
}

/// A value whose every use runs under panic containment.
pub struct Guarded<T: Contained> {
    value: T,
    /// The panic message that made the value unusable, if any.
    poisoned: Option<String>,
    /// Test builds only: makes the next guarded call panic.
    #[cfg(feature = "test-hooks")]
    panic_on_next_call: bool,
}

impl<T: Contained> Guarded<T> {
    /// Runs a JS constructor's `build` under panic containment (there is no object to poison
    /// yet) and guards the value it builds.
    pub fn construct(build: impl FnOnce() -> Result<T>) -> Result<Self> {
        let value = catch_unwind(AssertUnwindSafe(build)).unwrap_or_else(|payload| {
            Err(plain_error(format!(
                "internal error in {}: constructor panicked: {}",
                T::CLASS,
                panic_message(payload.as_ref())
            )))
        })?;
        Ok(Self {
            value,
            poisoned: None,
            #[cfg(feature = "test-hooks")]
            panic_on_next_call: false,
        })
    }

    /// Runs `call` on the value; `what` names the JS method in error messages.
    pub fn with<R>(&mut self, what: &str, call: impl FnOnce(&mut T) -> Result<R>) -> Result<R> {
        if let Some(reason) = &self.poisoned {
            return Err(plain_error(format!(
                "{} is unusable after an internal error: {reason}",
                T::OBJECT
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
                    "internal error in {}: {reason}; this {} is now unusable",
                    T::CLASS,
                    T::OBJECT
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

/// Runs a free-standing call (a constructor of a class without a [`Guarded`] state) under panic
/// containment: a panic becomes a thrown `Error` naming `class` and `what`.
pub fn contain<R>(class: &str, what: &str, call: impl FnOnce() -> Result<R>) -> Result<R> {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|payload| {
        Err(plain_error(format!(
            "internal error in {class}: {what} panicked: {}",
            panic_message(payload.as_ref())
        )))
    })
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
