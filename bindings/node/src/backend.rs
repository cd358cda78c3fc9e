//! The `KubernetesBackend` class: the Node face of [`tale_sandbox_execute::KubernetesBackend`],
//! a drop-in for the TypeScript service's backend (spec §1, §3).
//!
//! The binding only translates (see [`crate::convert`]): arguments are checked and read into
//! the contract's types, every method runs the execute crate's future on napi's tokio runtime,
//! and its result goes back as the JS object of spec §3. Per call, one [`JsQueue`] carries the
//! callbacks (`onPhase`, `onStdoutDelta`, `isLive`) and the log lines to the JS thread in order;
//! the call's promise settles after the queue has drained. A panic anywhere in a call becomes a
//! rejection, never a crash. Nothing native outlives a call: the queue is weak and released
//! with the call, and the abort listener is removed from the signal when the call settles.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt as _;
use napi::bindgen_prelude::{
    FnArgs, FromNapiValue, Function, FunctionRef, JsObjectValue, Object, ObjectRef, PromiseRaw,
    ToNapiValue, Unknown,
};
use napi::{Env, JsValue, Result, ValueType};
use napi_derive::napi;
use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::wire::ExecuteRequest;
use tale_sandbox_execute::{BackendError, ClientOptions, ExecuteOptions, now_ms};
use tokio_util::sync::CancellationToken;
use tracing::instrument::WithSubscriber as _;

use crate::convert::{self, JsFailure, is_object, type_name};
use crate::js_error::type_error;
use crate::js_thread::{CALL_LOG, CollectSink, JsQueue, LogSink, Logger, QueueSink, dispatch};

/// `AbortSignal.prototype.addEventListener` / `removeEventListener` as called here:
/// `(type, listener)`.
type ListenerMethod<'env> = Function<'env, FnArgs<(String, Function<'env, (), ()>)>, ()>;

/// What a backend's calls share.
struct Shared {
    backend: tale_sandbox_execute::KubernetesBackend,
    logger: Arc<Logger>,
    /// The backend's own sandbox token, never to be logged.
    token: Option<String>,
}

/// The Kubernetes execution backend: one Pod and one Secret per execution, in
/// `cfg.k8s.namespace`. The same constructor inputs, methods and results as the TypeScript
/// `KubernetesBackend`.
#[napi]
pub struct KubernetesBackend {
    shared: Arc<Shared>,
}

/// What a finished call hands to the JS thread.
enum Settle {
    Undefined,
    Json(String),
    Bool(bool),
    Number(f64),
    Fail(JsFailure),
}

#[napi]
impl KubernetesBackend {
    /// `new KubernetesBackend(cfg, options?)`: `cfg` is the service's `SpawnerConfig`; without
    /// `options.kubeconfig` the client is found as the TypeScript finds it (spec §8.1:
    /// `SANDBOX_K8S_SERVER` + `SANDBOX_K8S_TOKEN`, in-cluster, `KUBECONFIG`/`~/.kube/config`).
    /// Throws a `TypeError` naming a bad field, an `Error` with `code: 'K8S_CLIENT_CONFIG'` when
    /// no client can be built.
    #[napi(
        constructor,
        ts_args_type = "cfg: SpawnerConfig, options?: KubernetesBackendOptions | undefined"
    )]
    pub fn new(env: Env, cfg: Unknown<'_>, options: Option<Unknown<'_>>) -> Result<Self> {
        crate::guard::contain("KubernetesBackend", "constructor", || {
            Self::build(&env, cfg, options)
        })
    }

    fn build(env: &Env, cfg: Unknown<'_>, options: Option<Unknown<'_>>) -> Result<Self> {
        let cfg = convert::spawner_config(env, cfg, "new KubernetesBackend(cfg): cfg")
            .map_err(|f| fail_now(env, f))?;
        let (client_options, logger) = read_options(env, options)?;
        let token = cfg.sandbox_token.clone();
        let sink = Arc::new(CollectSink::new(token.iter().cloned().collect()));
        let call_sink: Arc<dyn LogSink> = sink.clone();
        let built = napi::bindgen_prelude::block_on(
            CALL_LOG.scope(
                call_sink,
                tale_sandbox_execute::KubernetesBackend::new(cfg, client_options)
                    .with_subscriber(dispatch()),
            ),
        );
        for (level, line) in sink.take() {
            logger.log(env, level, line);
        }
        let backend = built.map_err(|e| fail_now(env, backend_failure(&e)))?;
        Ok(KubernetesBackend {
            shared: Arc::new(Shared { backend, logger: Arc::new(logger), token }),
        })
    }

    /// Always `'kubernetes'`.
    #[napi(getter, ts_return_type = "'kubernetes'")]
    pub fn kind(&self) -> &'static str {
        self.shared.backend.kind()
    }

    /// Checks that pods can be listed in the namespace, then logs the egress (and DinD)
    /// warnings. Rejects with an `Error` with `code: 'K8S_INIT_FAILED'` otherwise.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn init<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        let shared = Arc::clone(&self.shared);
        self.call(env, Vec::new(), async move {
            match shared.backend.init().await {
                Ok(()) => Settle::Undefined,
                Err(e) => Settle::Fail(backend_failure(&e)),
            }
        })
    }

    /// `{ ok: true, detail }` when pods can be listed, `{ ok: false, error }` otherwise.
    #[napi(ts_return_type = "Promise<HealthResult>")]
    pub fn health<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        let shared = Arc::clone(&self.shared);
        self.call(env, Vec::new(), async move { to_json(&shared.backend.health().await) })
    }

    /// Nothing to do: the kubelet pulls images per pod.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn warm_image<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        let shared = Arc::clone(&self.shared);
        self.call(env, Vec::new(), async move {
            shared.backend.warm_image().await;
            Settle::Undefined
        })
    }

    /// Nothing to release: executions in flight finish or are aborted through their signals,
    /// and no native handle keeps the event loop alive.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn shutdown<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        let shared = Arc::clone(&self.shared);
        self.call(env, Vec::new(), async move {
            shared.backend.shutdown().await;
            Settle::Undefined
        })
    }

    /// The remote cancel (spec §1.10): deletes the execution's pod (resolves `true` iff that
    /// delete succeeded), then its Secret.
    #[napi(ts_args_type = "executionId: string", ts_return_type = "Promise<boolean>")]
    pub fn cancel<'env>(
        &self,
        env: &'env Env,
        execution_id: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        if execution_id.get_type()? != ValueType::String {
            return reject(
                env,
                JsFailure::type_error(format!(
                    "cancel(executionId): executionId must be a string, got {}",
                    type_name(&execution_id)
                )),
            );
        }
        let id = execution_id.coerce_to_string()?.into_utf8()?.into_owned()?;
        let shared = Arc::clone(&self.shared);
        self.call(env, Vec::new(), async move { Settle::Bool(shared.backend.cancel(&id).await) })
    }

    /// The orphan sweep (spec §1.11). `isLive` is called on the JS thread, synchronously, once
    /// per listed pod and Secret (with its `tale.dev/execution-id`, `''` without one); a call
    /// that throws counts as live (nothing is reaped on a question left unanswered) and is
    /// logged. Resolves with the number of objects selected for deletion.
    #[napi(ts_args_type = "opts: SweepOptions", ts_return_type = "Promise<number>")]
    pub fn sweep_orphans<'env>(
        &self,
        env: &'env Env,
        opts: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        let (stale_before_ms, is_live) = match read_sweep_options(env, opts) {
            Ok(parsed) => parsed,
            Err(f) => return reject(env, f),
        };
        let is_live = Arc::new(is_live);
        let shared = Arc::clone(&self.shared);
        let queue = JsQueue::new(env)?;
        let job_queue = queue.clone();
        self.call_on(env, queue, Vec::new(), async move {
            let logger = Arc::clone(&shared.logger);
            let removed = shared
                .backend
                .sweep_orphans_with(stale_before_ms, move |ids| {
                    let is_live = Arc::clone(&is_live);
                    let logger = Arc::clone(&logger);
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    let count = ids.len();
                    let queued = job_queue.run(move |env| {
                        let answers = ids
                            .into_iter()
                            .map(|id| ask_is_live(env, &is_live, &logger, id))
                            .collect::<Vec<bool>>();
                        let _ = tx.send(answers);
                    });
                    async move {
                        // Unanswered (Node shutting down): everything counts as live.
                        if queued {
                            rx.await.unwrap_or_else(|_| vec![true; count])
                        } else {
                            vec![true; count]
                        }
                    }
                })
                .await;
            Settle::Number(removed as f64)
        })
    }

    /// Runs one execution (spec §1.2) and resolves with its `ExecuteResponse`; never rejects
    /// for an execution-level failure. `cfg` decides timeouts, caps and the Pod and Secret;
    /// `opts.signal` aborts it (also when already aborted); `opts.startedAtMs` (default: now)
    /// drives `durationMs`; `onPhase` and `onStdoutDelta` are called on the JS thread, in
    /// order, all before the promise settles. A bad argument rejects with a `TypeError`
    /// naming it.
    #[napi(
        ts_args_type = "cfg: SpawnerConfig, req: ExecuteRequest, opts: ExecuteOptions",
        ts_return_type = "Promise<ExecuteResponse>"
    )]
    pub fn execute<'env>(
        &self,
        env: &'env Env,
        cfg: Unknown<'_>,
        req: Unknown<'_>,
        opts: Unknown<'_>,
    ) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        let parsed = read_execute_args(env, cfg, req, opts);
        let (cfg, req, opts) = match parsed {
            Ok(parsed) => parsed,
            Err(f) => return reject(env, f),
        };
        let queue = JsQueue::new(env)?;
        let cancel = CancellationToken::new();
        let mut cleanup = Vec::new();
        if let Some(signal) = opts.signal {
            let signal = Object::from_unknown(signal)?;
            if signal.get_named_property::<bool>("aborted").unwrap_or(false) {
                cancel.cancel();
            } else {
                let token = cancel.clone();
                let listener: Function<'_, (), ()> =
                    env.create_function_from_closure("onAbort", move |_| {
                        token.cancel();
                        Ok(())
                    })?;
                let add: ListenerMethod<'_> = signal.get_named_property("addEventListener")?;
                add.apply(signal, FnArgs::from(("abort".to_string(), listener)))?;
                cleanup.push(Cleanup::RemoveListener {
                    signal: signal.create_ref()?,
                    listener: listener.create_ref()?,
                });
            }
        }
        let mut options = ExecuteOptions::new(opts.started_at_ms);
        options.cancel = cancel;
        if let Some(on_phase) = opts.on_phase {
            let on_phase = Arc::new(on_phase);
            let queue = queue.clone();
            let logger = Arc::clone(&self.shared.logger);
            options.on_phase = Some(Box::new(move |phase| {
                let on_phase = Arc::clone(&on_phase);
                let logger = Arc::clone(&logger);
                let phase = serde_json::to_value(phase)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                queue.run(move |env| {
                    let result = on_phase.borrow_back(env).and_then(|f| {
                        let mut event = Object::new(env)?;
                        event.set_named_property("phase", phase)?;
                        f.call(event)
                    });
                    report_callback_error(env, &logger, "onPhase", result);
                });
            }));
        }
        if let Some(on_delta) = opts.on_stdout_delta {
            let on_delta = Arc::new(on_delta);
            let queue = queue.clone();
            let logger = Arc::clone(&self.shared.logger);
            options.on_stdout_delta = Some(Box::new(move |text| {
                let on_delta = Arc::clone(&on_delta);
                let logger = Arc::clone(&logger);
                queue.run(move |env| {
                    let result = on_delta.borrow_back(env).and_then(|f| f.call(text));
                    report_callback_error(env, &logger, "onStdoutDelta", result);
                });
            }));
        }
        let shared = Arc::clone(&self.shared);
        let mut redact: Vec<String> = cfg.sandbox_token.iter().cloned().collect();
        redact.extend(shared.token.iter().cloned());
        self.call_with(env, queue, redact, cleanup, async move {
            let outcome = shared.backend.execute(&cfg, req, options).await;
            to_json(&outcome.response)
        })
    }
}

/// What runs on the JS thread when a call settles.
enum Cleanup {
    /// `signal.removeEventListener('abort', listener)`.
    RemoveListener { signal: ObjectRef<false>, listener: FunctionRef<(), ()> },
}

impl Cleanup {
    fn run(self, env: &Env) {
        match self {
            Cleanup::RemoveListener { signal, listener } => {
                let removed = (|| -> Result<()> {
                    let signal = signal.get_value(env)?;
                    let listener = listener.borrow_back(env)?;
                    let remove: ListenerMethod<'_> =
                        signal.get_named_property("removeEventListener")?;
                    remove.apply(signal, FnArgs::from(("abort".to_string(), listener)))
                })();
                drop(removed);
            }
        }
    }
}

impl KubernetesBackend {
    /// Runs `work` for a call without callbacks.
    fn call<'env>(
        &self,
        env: &'env Env,
        redact: Vec<String>,
        work: impl Future<Output = Settle> + Send + 'static,
    ) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        let queue = JsQueue::new(env)?;
        self.call_on(env, queue, redact, work)
    }

    fn call_on<'env>(
        &self,
        env: &'env Env,
        queue: JsQueue,
        redact: Vec<String>,
        work: impl Future<Output = Settle> + Send + 'static,
    ) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        self.call_with(env, queue, redact, Vec::new(), work)
    }

    /// Runs `work` on napi's runtime with the call's log sink and panic containment, waits
    /// until the queue has delivered everything, then settles the promise on the JS thread.
    fn call_with<'env>(
        &self,
        env: &'env Env,
        queue: JsQueue,
        mut redact: Vec<String>,
        cleanup: Vec<Cleanup>,
        work: impl Future<Output = Settle> + Send + 'static,
    ) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        redact.extend(self.shared.token.iter().cloned());
        let sink: Arc<dyn LogSink> = Arc::new(QueueSink {
            queue: queue.clone(),
            logger: Arc::clone(&self.shared.logger),
            redact,
        });
        let future = async move {
            let settle = AssertUnwindSafe(CALL_LOG.scope(sink, work.with_subscriber(dispatch())))
                .catch_unwind()
                .await
                .unwrap_or_else(|payload| {
                    Settle::Fail(JsFailure::error(
                        format!(
                            "internal error in KubernetesBackend: {}",
                            crate::guard::panic_message(payload.as_ref())
                        ),
                        "INTERNAL_PANIC",
                    ))
                });
            queue.drain().await;
            drop(queue);
            Ok::<_, napi::Error>(settle)
        };
        env.spawn_future_with_callback(future, move |env, settle| {
            for step in cleanup {
                step.run(env);
            }
            settle_value(env, settle)
        })
    }
}

fn settle_value<'env>(env: &'env Env, settle: Settle) -> Result<Unknown<'env>> {
    match settle {
        Settle::Undefined => ().into_unknown(env),
        Settle::Json(text) => convert::parse(env, text),
        Settle::Bool(value) => value.into_unknown(env),
        Settle::Number(value) => value.into_unknown(env),
        Settle::Fail(failure) => Err(failure.into_napi(env)),
    }
}

/// A promise rejected with `failure`.
fn reject<'env>(env: &'env Env, failure: JsFailure) -> Result<PromiseRaw<'env, Unknown<'env>>> {
    env.spawn_future_with_callback(async { Ok::<_, napi::Error>(()) }, move |env, ()| {
        Err::<Unknown<'_>, _>(failure.into_napi(env))
    })
}

/// `failure` thrown now (in a constructor).
fn fail_now(env: &Env, failure: JsFailure) -> napi::Error {
    if failure.type_error && failure.code.is_none() {
        type_error(env, &failure.message)
    } else {
        failure.into_napi(env)
    }
}

fn backend_failure(error: &BackendError) -> JsFailure {
    JsFailure::error(error.to_string(), error.code())
}

fn to_json(value: &impl serde::Serialize) -> Settle {
    match serde_json::to_string(value) {
        Ok(text) => Settle::Json(text),
        Err(e) => Settle::Fail(JsFailure::error(
            format!("internal error in KubernetesBackend: cannot serialise the result: {e}"),
            "INTERNAL_PANIC",
        )),
    }
}

fn report_callback_error(env: &Env, logger: &Logger, name: &str, result: Result<()>) {
    if let Err(e) = result {
        logger.log(
            env,
            tracing::Level::ERROR,
            format!("[sandbox.k8s] {name} callback threw: {}", e.reason),
        );
    }
}

fn ask_is_live(
    env: &Env,
    is_live: &FunctionRef<String, Unknown<'static>>,
    logger: &Logger,
    id: String,
) -> bool {
    let answer = is_live.borrow_back(env).and_then(|f| {
        let value = f.call(id.clone())?;
        value.coerce_to_bool()
    });
    match answer {
        Ok(live) => live,
        Err(e) => {
            logger.log(
                env,
                tracing::Level::ERROR,
                format!("[sandbox.k8s] sweep isLive({id:?}) threw: {}; counted as live", e.reason),
            );
            true
        }
    }
}

/// The options of `execute` as read from JS.
struct ExecuteArgs<'a> {
    signal: Option<Unknown<'a>>,
    started_at_ms: i64,
    on_phase: Option<FunctionRef<Object<'static>, ()>>,
    on_stdout_delta: Option<FunctionRef<String, ()>>,
}

fn read_execute_args<'a>(
    env: &Env,
    cfg: Unknown<'_>,
    req: Unknown<'_>,
    opts: Unknown<'a>,
) -> std::result::Result<(SpawnerConfig, ExecuteRequest, ExecuteArgs<'a>), JsFailure> {
    let cfg = convert::spawner_config(env, cfg, "execute(cfg, req, opts): cfg")?;
    if !is_object(&req) {
        return Err(JsFailure::type_error(format!(
            "execute(cfg, req, opts): req must be an ExecuteRequest object, got {}",
            type_name(&req)
        )));
    }
    let text = convert::stringify(env, req).ok().flatten().ok_or_else(|| {
        JsFailure::type_error("execute(cfg, req, opts): req cannot be serialised")
    })?;
    let req = ExecuteRequest::from_json(&text).map_err(|e| {
        JsFailure::type_error(format!("execute(cfg, req, opts): req is not an ExecuteRequest: {e}"))
    })?;
    let internal =
        |e: napi::Error| JsFailure::type_error(format!("execute(cfg, req, opts): {}", e.reason));
    let opts = match opts.get_type().map_err(internal)? {
        ValueType::Undefined => None,
        ValueType::Object => Some(Object::from_unknown(opts).map_err(internal)?),
        _ => {
            return Err(JsFailure::type_error(format!(
                "execute(cfg, req, opts): opts must be an ExecuteOptions object, got {}",
                type_name(&opts)
            )));
        }
    };
    let mut args = ExecuteArgs {
        signal: None,
        started_at_ms: now_ms(),
        on_phase: None,
        on_stdout_delta: None,
    };
    let Some(opts) = opts else { return Ok((cfg, req, args)) };
    let field = |name: &str| -> std::result::Result<Option<Unknown<'a>>, JsFailure> {
        let value: Unknown<'a> = opts.get_named_property(name).map_err(internal)?;
        Ok(match value.get_type().map_err(internal)? {
            ValueType::Undefined => None,
            _ => Some(value),
        })
    };
    if let Some(signal) = field("signal")? {
        let looks_like_signal = is_object(&signal)
            && Object::from_unknown(signal)
                .and_then(|o| o.get_named_property::<Unknown<'_>>("addEventListener"))
                .map(|f| f.get_type().ok() == Some(ValueType::Function))
                .unwrap_or(false);
        if !looks_like_signal {
            return Err(JsFailure::type_error(format!(
                "execute(cfg, req, opts): opts.signal must be an AbortSignal, got {}",
                type_name(&signal)
            )));
        }
        args.signal = Some(signal);
    }
    if let Some(started) = field("startedAtMs")? {
        let number = (started.get_type().ok() == Some(ValueType::Number))
            .then(|| started.coerce_to_number().and_then(|n| n.get_double()).ok())
            .flatten()
            .filter(|n| n.is_finite());
        let Some(number) = number else {
            return Err(JsFailure::type_error(format!(
                "execute(cfg, req, opts): opts.startedAtMs must be a finite number (epoch ms), got {}",
                type_name(&started)
            )));
        };
        args.started_at_ms = number as i64;
    }
    if let Some(on_phase) = field("onPhase")? {
        args.on_phase = Some(function_ref(on_phase, "opts.onPhase").map_err(internal)??);
    }
    if let Some(on_delta) = field("onStdoutDelta")? {
        args.on_stdout_delta =
            Some(function_ref(on_delta, "opts.onStdoutDelta").map_err(internal)??);
    }
    if let Some(on_stderr) = field("onStderrDelta")? {
        // Accepted and never called: the Kubernetes backend reports no live stderr.
        function_ref::<String, ()>(on_stderr, "opts.onStderrDelta").map_err(internal)??;
    }
    Ok((cfg, req, args))
}

/// A reference to `value` if it is a function; the inner error is the `TypeError`.
fn function_ref<
    Args: napi::bindgen_prelude::JsValuesTupleIntoVec,
    Ret: napi::bindgen_prelude::FromNapiValue,
>(
    value: Unknown<'_>,
    what: &str,
) -> Result<std::result::Result<FunctionRef<Args, Ret>, JsFailure>> {
    if value.get_type()? != ValueType::Function {
        return Ok(Err(JsFailure::type_error(format!(
            "{what} must be a function, got {}",
            type_name(&value)
        ))));
    }
    let function: Function<'_, Args, Ret> = Function::from_unknown(value)?;
    Ok(Ok(function.create_ref()?))
}

fn read_sweep_options(
    env: &Env,
    opts: Unknown<'_>,
) -> std::result::Result<(i64, FunctionRef<String, Unknown<'static>>), JsFailure> {
    let _ = env;
    let internal =
        |e: napi::Error| JsFailure::type_error(format!("sweepOrphans(opts): {}", e.reason));
    if !is_object(&opts) {
        return Err(JsFailure::type_error(format!(
            "sweepOrphans(opts): opts must be a SweepOptions object {{ staleBeforeMs, isLive }}, got {}",
            type_name(&opts)
        )));
    }
    let opts = Object::from_unknown(opts).map_err(internal)?;
    let stale: Unknown<'_> = opts.get_named_property("staleBeforeMs").map_err(internal)?;
    let stale_ms = (stale.get_type().ok() == Some(ValueType::Number))
        .then(|| stale.coerce_to_number().and_then(|n| n.get_double()).ok())
        .flatten()
        .filter(|n| !n.is_nan());
    let Some(stale_ms) = stale_ms else {
        return Err(JsFailure::type_error(format!(
            "sweepOrphans(opts): opts.staleBeforeMs must be a number (epoch ms), got {}",
            type_name(&stale)
        )));
    };
    let is_live: Unknown<'_> = opts.get_named_property("isLive").map_err(internal)?;
    let is_live = function_ref(is_live, "sweepOrphans(opts): opts.isLive").map_err(internal)??;
    // `as` saturates: ±Infinity become the extreme epoch values, as the comparisons expect.
    Ok((stale_ms as i64, is_live))
}

/// `options` of the constructor: the client settings and the logger (default `console`).
fn read_options(env: &Env, options: Option<Unknown<'_>>) -> Result<(ClientOptions, Logger)> {
    let what = "new KubernetesBackend(cfg, options)";
    let mut client = ClientOptions::default();
    let mut logger_value: Option<Object<'_>> = None;
    if let Some(options) = options.filter(|o| o.get_type().ok() != Some(ValueType::Undefined)) {
        if !is_object(&options) {
            return Err(type_error(
                env,
                &format!("{what}: options must be an object, got {}", type_name(&options)),
            ));
        }
        let options = Object::from_unknown(options)?;
        let text = |name: &str| -> Result<Option<String>> {
            let value: Unknown<'_> = options.get_named_property(name)?;
            match value.get_type()? {
                ValueType::Undefined | ValueType::Null => Ok(None),
                ValueType::String => Ok(Some(value.coerce_to_string()?.into_utf8()?.into_owned()?)),
                _ => Err(type_error(
                    env,
                    &format!("{what}: options.{name} must be a string, got {}", type_name(&value)),
                )),
            }
        };
        client.kubeconfig = text("kubeconfig")?.map(Into::into);
        client.context = text("context")?;
        client.namespace = text("namespace")?;
        let logger: Unknown<'_> = options.get_named_property("logger")?;
        match logger.get_type()? {
            ValueType::Undefined | ValueType::Null => {}
            ValueType::Object => logger_value = Some(Object::from_unknown(logger)?),
            _ => {
                return Err(type_error(
                    env,
                    &format!(
                        "{what}: options.logger must be an object {{ debug, info, warn, error }}, got {}",
                        type_name(&logger)
                    ),
                ));
            }
        }
    }
    let logger = match logger_value {
        Some(logger) => logger,
        None => env.get_global()?.get_named_property("console")?,
    };
    let mut methods: HashMap<&str, FunctionRef<String, ()>> = HashMap::new();
    for name in ["debug", "info", "warn", "error"] {
        let method: Unknown<'_> = logger.get_named_property(name)?;
        if method.get_type()? != ValueType::Function {
            return Err(type_error(
                env,
                &format!(
                    "{what}: options.logger.{name} must be a function, got {}",
                    type_name(&method)
                ),
            ));
        }
        let method: Function<'_, String, ()> = Function::from_unknown(method)?;
        methods.insert(name, method.bind(logger)?.create_ref()?);
    }
    let mut take = |name| methods.remove(name).expect("inserted above");
    let logger = Logger::new(take("debug"), take("info"), take("warn"), take("error"));
    Ok((client, logger))
}
