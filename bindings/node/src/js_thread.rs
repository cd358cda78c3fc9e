//! Running Rust closures on the JS thread, in order, and forwarding `tracing` events to a JS
//! logger.
//!
//! [`JsQueue`] is one threadsafe function per call (an `execute`, an `init`, ...) whose JS side
//! is a no-op: each queued job runs on the JS thread with the `Env`, in the order queued. The
//! callbacks of one execution (`onPhase`, `onStdoutDelta`) and its log lines all go through
//! the same queue, so they reach JS in the order the Rust side produced them, and
//! [`JsQueue::drain`] waits until every job queued before it has run: the call's promise is
//! settled only after that. The threadsafe function is weak (unref'd): it never keeps the
//! event loop alive by itself (the call's promise does, until it settles), and it is released
//! when the call's last clone is dropped.
//!
//! Logging: the execute crate reports warnings through `tracing`. One process-wide subscriber
//! ([`dispatch`]) forwards the events of `tale_sandbox_*` targets to the sink of the call they
//! happen in, found through a tokio task-local ([`CALL_LOG`]) that each call sets around its
//! future, so two backends with two loggers in one process never see each other's lines.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock, Mutex};

use napi::bindgen_prelude::{Function, FunctionRef};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Result, Status};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};

/// A closure run once on the JS thread.
pub type Job = Box<dyn FnOnce(&Env) + Send>;

type QueueFn = ThreadsafeFunction<Job, (), (), Status, false, true>;

/// An ordered queue of jobs run on the JS thread (see the module docs).
#[derive(Clone)]
pub struct JsQueue {
    tsfn: Arc<QueueFn>,
}

impl JsQueue {
    /// A new queue; must be called on the JS thread.
    pub fn new(env: &Env) -> Result<Self> {
        let noop: Function<'_, (), ()> =
            env.create_function_from_closure("taleSandboxQueue", |_| Ok(()))?;
        let tsfn = noop
            .build_threadsafe_function::<Job>()
            .weak::<true>()
            .callee_handled::<false>()
            .build_callback(|ctx| {
                let env = ctx.env;
                let job = ctx.value;
                // A panic must not unwind into Node; the job's own effects are lost.
                let _ = catch_unwind(AssertUnwindSafe(move || job(&env)));
                Ok(())
            })?;
        Ok(JsQueue { tsfn: Arc::new(tsfn) })
    }

    /// Queues `job`; false when the queue is closing (Node is shutting down).
    pub fn run(&self, job: impl FnOnce(&Env) + Send + 'static) -> bool {
        self.tsfn.call(Box::new(job), ThreadsafeFunctionCallMode::NonBlocking) == Status::Ok
    }

    /// Resolves once every job queued before it has run (at once if the queue is closing).
    pub async fn drain(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        if self.run(move |_| {
            let _ = tx.send(());
        }) {
            let _ = rx.await;
        }
    }
}

/// The four methods of a JS logger (`{ debug, info, warn, error }`), each bound to the logger.
pub struct Logger {
    debug: FunctionRef<String, ()>,
    info: FunctionRef<String, ()>,
    warn: FunctionRef<String, ()>,
    error: FunctionRef<String, ()>,
}

impl Logger {
    /// The logger from its four bound methods.
    pub fn new(
        debug: FunctionRef<String, ()>,
        info: FunctionRef<String, ()>,
        warn: FunctionRef<String, ()>,
        error: FunctionRef<String, ()>,
    ) -> Self {
        Logger { debug, info, warn, error }
    }

    /// Calls the method of `level` with `message`; on the JS thread. A logger that throws is
    /// ignored (there is nowhere else to report it).
    pub fn log(&self, env: &Env, level: Level, message: String) {
        let method = match level {
            Level::ERROR => &self.error,
            Level::WARN => &self.warn,
            Level::INFO => &self.info,
            _ => &self.debug,
        };
        if let Ok(function) = method.borrow_back(env) {
            let _ = function.call(message);
        }
    }
}

/// Where the log lines of one call go.
pub trait LogSink: Send + Sync {
    /// One event of a `tale_sandbox_*` target, its message already formatted.
    fn log(&self, level: Level, message: String);
}

/// Sends each line to a logger through a call's [`JsQueue`], with secrets replaced.
pub struct QueueSink {
    /// The call's queue.
    pub queue: JsQueue,
    /// The backend's logger.
    pub logger: Arc<Logger>,
    /// Texts that must never reach a log line (the sandbox tokens in play).
    pub redact: Vec<String>,
}

impl LogSink for QueueSink {
    fn log(&self, level: Level, message: String) {
        let message = redact(message, &self.redact);
        let logger = Arc::clone(&self.logger);
        self.queue.run(move |env| logger.log(env, level, message));
    }
}

/// Keeps the lines of a synchronous call (the constructor) to log them afterwards.
#[derive(Default)]
pub struct CollectSink {
    lines: Mutex<Vec<(Level, String)>>,
    redact: Vec<String>,
}

impl CollectSink {
    /// A sink that replaces each of `redact` in every line.
    pub fn new(redact: Vec<String>) -> Self {
        CollectSink { lines: Mutex::new(Vec::new()), redact }
    }

    /// The lines collected so far, in order.
    pub fn take(&self) -> Vec<(Level, String)> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl LogSink for CollectSink {
    fn log(&self, level: Level, message: String) {
        let message = redact(message, &self.redact);
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).push((level, message));
    }
}

/// `message` with every non-empty `secret` replaced by `[redacted]`.
fn redact(mut message: String, secrets: &[String]) -> String {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if message.contains(secret.as_str()) {
            message = message.replace(secret.as_str(), "[redacted]");
        }
    }
    message
}

tokio::task_local! {
    /// The log sink of the call whose future is being polled.
    pub static CALL_LOG: Arc<dyn LogSink>;
}

/// The process-wide subscriber that forwards events to [`CALL_LOG`]; set around each call's
/// future with `tracing::instrument::WithSubscriber`.
pub fn dispatch() -> Dispatch {
    static DISPATCH: LazyLock<Dispatch> = LazyLock::new(|| Dispatch::new(Forwarder));
    DISPATCH.clone()
}

/// Only our own crates' events, and nothing below `debug`: kube and hyper log every request
/// at `debug`/`trace`, which the service's logger never saw from the TypeScript either.
fn wanted(metadata: &Metadata<'_>) -> bool {
    metadata.is_event()
        && metadata.target().starts_with("tale_sandbox")
        && *metadata.level() <= Level::DEBUG
}

struct Forwarder;

impl Subscriber for Forwarder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        wanted(metadata)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        // Never called: no span is enabled.
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = Message(String::new());
        event.record(&mut text);
        let level = *event.metadata().level();
        let _ = CALL_LOG.try_with(|sink| sink.log(level, text.0));
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// The `message` of an event, then any other field as ` name=value`.
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
}
