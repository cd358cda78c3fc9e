//! The execute flow of the sandbox's Kubernetes backend (spec §1) as a sans-I/O state
//! machine, in the style of quinn-proto's `Connection`.
//!
//! An [`Execution`] is one call of the TypeScript `execute(cfg, req, opts)`. It performs no
//! I/O and reads no clock: the driver (`tale-sandbox-execute`, on tokio) feeds it events —
//! API replies ([`Execution::handle_reply`]), Pod observations from a watch
//! ([`Execution::handle_pod`]), chunks of the runner's follow stream
//! ([`Execution::handle_stdout_chunk`]), timer expiries ([`Execution::handle_timeout`]) and
//! the caller's abort ([`Execution::handle_abort`]) — each with `now_ms`, then drains
//! [`Execution::poll_action`] and performs what it asks, and sleeps until
//! [`Execution::poll_timeout`]. Every decision — retries and their backoff, the startup
//! budget, the runner-dead grace, the backstop, the result-read window, cleanup ownership —
//! lives here, so the spec's scenarios run in milliseconds with simulated time.
//!
//! ```
//! use tale_sandbox_contract::config::SpawnerConfig;
//! use tale_sandbox_contract::wire::ExecuteRequest;
//! use tale_sandbox_flow::{Action, Execution, ExecuteOptions};
//!
//! let cfg = SpawnerConfig::default();
//! let req = ExecuteRequest::from_json(
//!     r#"{"executionId":"e1","organizationId":"o1","language":"python","entryPath":"main.py",
//!         "outputUploadSlots":[],"outputUrlEndpoint":"http://p/1","reportUploadedEndpoint":"http://p/2"}"#,
//! ).unwrap();
//! let now = 1_700_000_000_000;
//! let mut exec = Execution::new(&cfg, &cfg, req, ExecuteOptions::new(now), now);
//! // The first thing to do is to create the exec Secret.
//! match exec.poll_action() {
//!     Some(Action::Call { call, .. }) => assert!(matches!(call, tale_sandbox_flow::Call::CreateSecret(_))),
//!     other => panic!("unexpected {other:?}"),
//! }
//! ```
//!
//! # What the driver does
//!
//! * After every event, drain [`Execution::poll_action`] and perform each [`Action`] in
//!   order; then sleep until [`Execution::poll_timeout`] (or the next event) and call
//!   [`Execution::handle_timeout`].
//! * [`Action::Call`]: perform the call with its `timeout_ms`; answer with
//!   [`Execution::handle_reply`] — `Ok(Payload::…)`, or `Err(ApiError)` with the HTTP
//!   status of a non-2xx response and `None` for a timeout, a transport or a decode error
//!   (spec §8.4). The flow retries by itself; the driver never retries or sleeps.
//! * [`Action::OpenStdout`]: `GET pods/{pod}/log?container=runner&follow=true&timestamps=true`
//!   (plus `sinceTime`), raw body bytes to [`Execution::handle_stdout_chunk`], then exactly
//!   one [`Execution::handle_stdout_end`]: [`StreamEnd::Eof`] for a body that ended
//!   normally, [`StreamEnd::Cut`] for a connection lost mid-body, [`StreamEnd::Error`] for a
//!   failed open. [`Action::CloseStdout`]: drop it silently.
//! * [`Action::WatchPod`] / [`Action::StopWatch`]: a watch on the one Pod;
//!   [`Execution::handle_pod`] for every state seen (including the initial one),
//!   [`Execution::handle_pod_gone`] for a deletion, [`Execution::handle_watch_failed`] once
//!   if it cannot be kept up.
//! * [`Action::Respond`] carries the response (the cleanup calls follow it);
//!   [`Action::Done`] ends the execution. The caller's abort goes to
//!   [`Execution::handle_abort`] at any time. Events after `Done`, replies to unknown ids and
//!   chunks of closed streams are ignored, never a panic.
//!
//! # Differences from the TypeScript, on purpose
//!
//! * **Stdout is streamed, not polled** (W1–W7): the runner's log is followed with
//!   `follow=true&timestamps=true` into a timestamped
//!   [`StdoutAccumulator`](tale_sandbox_accumulator::StdoutAccumulator) capped at
//!   `stdoutMaxBytes`. A stream that is cut is resumed with `sinceTime` from the
//!   accumulator's resume point (backoff 200 ms doubling to 5 s); after repeated failures
//!   without data the flow polls with `sinceTime` reads instead. Overlap is removed and
//!   rotations are proven or reported by the accumulator, so stdout is exact across
//!   rotations while a stream is open (T1/T2 give the full output, not a window), and
//!   `truncated.stdout` is `true` only when bytes were lost, or may have been (see below), or
//!   more than the cap was seen (W10: exactly-cap output is not truncated). Reading stops once
//!   more than the cap was seen.
//! * **Final read** (W3, W7): at the end of the run the flow waits (bounded,
//!   [`Tuning::stdout_drain_ms`]) for the exited runner's stream to end. Since a server can
//!   end a stream or a response cleanly midway, no end is taken on trust: the flow reads the
//!   log's last lines (`tailLines`, about two lines): when they are exactly the last lines
//!   taken, nothing follows them
//!   ([`StdoutAccumulator::tail_confirms`](tale_sandbox_accumulator::StdoutAccumulator::tail_confirms));
//!   otherwise it reads on from the last second taken, and checks that read the same way; if a
//!   read fails, or two bring nothing new while the tail shows more, `truncated.stdout` is set
//!   instead of silently dropping bytes.
//! * **A log rotated away after the lines taken**: a resumed read that brings nothing, or a
//!   tail check that finds the log empty, shows that the file holding the lines taken last
//!   was rotated away. Unless the stream that brought them ended as the kubelet ends one
//!   (cleanly, at the end of a line) or a later read brings more, what that file held after
//!   them cannot be known, and `truncated.stdout` is set (also when, in fact, nothing followed
//!   them).
//! * **A stream that ends normally before the runner is seen exited** (the usual order: the
//!   kubelet ends an exited container's stream a moment before the Pod status shows the exit)
//!   is not reopened at once: a tail check tells whether anything followed what the stream
//!   brought. If something did (a server ended the stream), the stream is reopened from the
//!   resume point at once; if not, the check is repeated every
//!   [`Tuning::stdout_eof_settle_ms`] until the status shows the exit (then one more check,
//!   issued after the exit was seen, proves stdout complete) or
//!   [`Tuning::stdout_eof_settle_max_ms`] has passed (then the stream is reopened). A normal
//!   run thus reads its output once, however late the status is.
//! * **Pod status comes from a watch**: the flow reacts the moment the harvest terminates
//!   (no 500 ms tick), and issues no periodic Pod GETs while the watch is healthy; after
//!   [`Execution::handle_watch_failed`] it polls with `ReadPod` every `POLL_INTERVAL_MS`.
//!   Timed checks (runner-dead grace, backstop, startup budget) are timers.
//! * **W12**: a harvest-log read failure during the runner-dead check does not declare the
//!   runner dead; the check is repeated `POLL_INTERVAL_MS` later.
//! * **W15**: `CreateContainerConfigError` is a start failure (from the contract's
//!   `classify_startup`).
//! * **W16**: after deleting a terminal or abandoned leftover pod, the flow waits (bounded,
//!   [`Tuning::pod_gone_wait_ms`]) until a `ReadPod` returns 404 before creating its pod.
//! * **Abort** answers at once during startup and the main loop: the cancelled response is
//!   emitted immediately with the stdout accumulated so far (the TypeScript finishes its
//!   non-abortable reads first); a call already in flight before the Pod exists (or between
//!   its `withRetry` attempts) is awaited first, so ownership is known for the cleanup and a
//!   live duplicate is still reported as the duplicate. As in the TypeScript, an abort does not
//!   cut short the result reads after the loop (§1.9: the cancelled response carries the
//!   harvest's `outputFiles`, `steps` and `uploadStats`; stdout stops at the abort), nor the
//!   stage-tail read of a staging failure (the response stays `spawner staging failed: …`).
//! * A follow stream that brings nothing new for [`Tuning::stdout_stall_ms`] (30 s) is
//!   checked with a tail read; if the log has more than the stream brought, the stream is
//!   reopened from the resume point: kubelets before 1.29 stop sending after a rotation
//!   without ending the stream, and the reopened read then shows the rotation (a gap) instead
//!   of silence. A quiet program costs a read of about two lines per period.
//! * The live tail and phases come from the accumulator's accepted bytes through the
//!   contract's `StreamScanner` (W8/W9 fixed there), so they are exactly the canonical
//!   stdout, in order.
//!
//! Warnings ([`Action::Warn`]) are the TypeScript's texts (`[sandbox.k8s] read-pod attempt
//! 1/3 failed: …`, `no result line in harvest logs for <id> (loop outcome: <outcome>)`,
//! `delete pod <name> failed: …`, …). The stream adds its own: `runner log stream failed
//! (will reconnect): …` (once), `runner log stream failed <n> times in a row; polling the
//! log instead`, and `runner log poll failed (will keep polling): …` (once) for the polls.
//! They carry API error messages only, never the sandbox token.
//!
//! Kept as in the TypeScript: W11 (eviction is `harvestDone`), W13 (shell stderr in the
//! runner log), W17 (`tailLines: 5` for the stage tail), W14/W18 as the contract decides.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod calls;
mod cleanup;
mod execution;
mod finish;
mod main_loop;
mod pod_status;
mod prepare;
mod startup;
mod stdout;
mod types;

pub use execution::Execution;
pub use types::{
    Action, ApiError, Call, CallId, Container, ExecuteOptions, LogBytes, LogParams, LoopOutcome,
    Payload, Reply, Report, Stage, StdoutRead, StreamEnd, StreamId, Tuning,
};
