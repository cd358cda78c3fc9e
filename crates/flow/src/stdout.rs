//! The runner's stdout, the right way: a `follow=true&timestamps=true` stream fed to a
//! timestamped [`StdoutAccumulator`] capped at `stdoutMaxBytes`, resumed with `sinceTime`
//! from the accumulator's resume point when it is cut (backoff 200 ms doubling to 5 s while
//! reconnects bring nothing new), replaced by `sinceTime` polls when streaming keeps
//! failing, and stopped once more than the cap was seen. The accepted bytes — exactly the
//! canonical stdout, in order — feed the contract's live-progress scanner.
//!
//! At the end of the loop the stream of an exited runner ends by itself once drained: the
//! flow waits for that (bounded), else makes one final resume read; a failed final read sets
//! `truncated.stdout` (W7) instead of losing bytes silently.

use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::constants::{MAX_LINE_BUF_BYTES, POLL_INTERVAL_MS};
use tale_sandbox_contract::scanner::{ScanEvent, ScannerOptions, StreamScanner};

use crate::calls::{Purpose, TimerKind};
use crate::execution::Execution;
use crate::types::{
    Action, Call, Container, ExecuteOptions, LogParams, Reply, Stage, StreamEnd, StreamId,
};

/// The state of the runner's stdout.
#[derive(Debug)]
pub(crate) struct StdoutFlow {
    pub(crate) acc: StdoutAccumulator,
    scanner: StreamScanner,
    scanner_finished: bool,
    cap: u64,
    /// The open follow stream.
    stream: Option<StreamId>,
    /// `total_bytes` when the open stream started: did it bring anything new?
    progress_from: u64,
    /// When the open stream last brought something new (or was opened).
    last_progress_at: i64,
    /// Consecutive stream ends that brought nothing new.
    failures: u32,
    warned: bool,
    polling: bool,
    poll_in_flight: bool,
    /// Nothing more needs to be read (more than the cap seen, or the exited runner's stream
    /// ended normally).
    complete: bool,
    /// The loop ended: the remaining bytes are being collected.
    draining: bool,
    /// Stdout is final.
    drained: bool,
    /// The final read failed: bytes may be missing.
    pub(crate) lost: bool,
    /// The runner container was seen terminated.
    pub(crate) runner_exited: bool,
    opened_any: bool,
}

impl StdoutFlow {
    pub(crate) fn new(cfg: &SpawnerConfig, options: &ExecuteOptions) -> Self {
        let cap = usize::try_from(cfg.stdout_max_bytes).unwrap_or(usize::MAX).max(1);
        let acc = StdoutAccumulator::new(Config { cap_bytes: cap, mode: Mode::Timestamped })
            .expect("cap is positive");
        let scanner = StreamScanner::new(ScannerOptions {
            stdout_max_bytes: cfg.stdout_max_bytes,
            max_line_bytes: MAX_LINE_BUF_BYTES,
            emit_phases: options.emit_phases,
            emit_deltas: options.emit_stdout_deltas,
        });
        Self {
            acc,
            scanner,
            scanner_finished: false,
            cap: cap as u64,
            stream: None,
            progress_from: 0,
            last_progress_at: 0,
            failures: 0,
            warned: false,
            polling: false,
            poll_in_flight: false,
            complete: false,
            draining: false,
            drained: false,
            lost: false,
            runner_exited: false,
            opened_any: false,
        }
    }

    pub(crate) fn is_drained(&self) -> bool {
        self.drained
    }

    pub(crate) fn is_polling(&self) -> bool {
        self.polling
    }

    fn since_time(&self) -> Option<String> {
        self.acc.resume_since().map(|p| p.since_time())
    }

    fn over_cap(&self) -> bool {
        self.acc.finish().total_bytes > self.cap
    }

    /// Drops the open stream, if any; returns the bytes the accumulator accepted by
    /// abandoning its read (a held first line of a resumed read), which are stdout and must
    /// reach the scanner (see [`Execution::close_stdout_stream`]).
    pub(crate) fn close(&mut self, actions: &mut std::collections::VecDeque<Action>) -> Vec<u8> {
        match self.stream.take() {
            Some(id) => {
                let accepted = self.acc.abandon_read().to_vec();
                actions.push_back(Action::CloseStdout { id });
                accepted
            }
            None => Vec::new(),
        }
    }
}

impl Execution {
    /// Drops the open stream; what abandoning its read accepted goes to the scanner, so the
    /// live tail stays exactly the canonical stdout.
    pub(crate) fn close_stdout_stream(&mut self) {
        let accepted = self.stdout.close(&mut self.actions);
        self.feed_scanner(accepted);
    }

    /// Passes accepted bytes to the scanner and its events to the driver.
    fn feed_scanner(&mut self, accepted: Vec<u8>) {
        if accepted.is_empty() || self.stdout.scanner_finished {
            return;
        }
        let events = self.stdout.scanner.push(&accepted);
        self.push_scan_events(events);
    }

    fn push_scan_events(&mut self, events: Vec<ScanEvent>) {
        for event in events {
            self.actions.push_back(match event {
                ScanEvent::Phase(phase) => Action::Phase(phase),
                ScanEvent::StdoutDelta(text) => Action::StdoutDelta(text),
            });
        }
    }

    /// `scanner.finalize()`: the residual line, once.
    pub(crate) fn finish_scanner(&mut self) {
        if !self.stdout.scanner_finished {
            self.stdout.scanner_finished = true;
            let events = self.stdout.scanner.finish();
            self.push_scan_events(events);
        }
    }

    /// Feeds a whole one-shot response (a poll or the final read).
    fn take_response(&mut self, bytes: &[u8]) {
        let mut accepted = self.stdout.acc.begin_read().to_vec();
        accepted.extend_from_slice(self.stdout.acc.push(bytes).expect("read is open"));
        accepted.extend_from_slice(self.stdout.acc.end_read().expect("read is open"));
        self.feed_scanner(accepted);
    }

    /// Opens a follow stream from the resume point (the head the first time).
    pub(crate) fn open_stdout(&mut self, now_ms: i64) {
        let id = self.next_stream_id();
        let since_time = self.stdout.since_time();
        let accepted = self.stdout.acc.begin_read().to_vec();
        self.feed_scanner(accepted);
        self.stdout.stream = Some(id);
        self.stdout.progress_from = self.stdout.acc.finish().total_bytes;
        self.report.stdout_streams += 1;
        if self.stdout.opened_any {
            self.report.stdout_reconnects += 1;
        }
        self.stdout.opened_any = true;
        self.stdout.last_progress_at = now_ms;
        self.arm_stall_check(now_ms);
        self.actions.push_back(Action::OpenStdout { id, pod: self.pod_name.clone(), since_time });
    }

    fn arm_stall_check(&mut self, from_ms: i64) {
        self.cancel_timers(|k| matches!(k, TimerKind::StdoutStall));
        let stall = self.opts.tuning.stdout_stall_ms;
        if stall > 0 {
            self.set_timer(from_ms.saturating_add(stall), TimerKind::StdoutStall);
        }
    }

    /// The open stream brought nothing new for `stdout_stall_ms`: reopen it from the resume
    /// point (not a failure: no backoff, no polling fallback).
    pub(crate) fn on_stdout_stall(&mut self, now_ms: i64) {
        if self.stage != Stage::Running || self.stdout.stream.is_none() || self.stdout.complete {
            return;
        }
        let stall = self.opts.tuning.stdout_stall_ms;
        if now_ms.saturating_sub(self.stdout.last_progress_at) < stall {
            self.arm_stall_check(self.stdout.last_progress_at);
            return;
        }
        self.report.stdout_stalls += 1;
        self.close_stdout_stream();
        self.open_stdout(now_ms);
    }

    pub(crate) fn on_stdout_chunk(&mut self, id: StreamId, chunk: &[u8], now_ms: i64) {
        if self.stdout.stream != Some(id) {
            return;
        }
        self.report.log_bytes.runner += chunk.len() as u64;
        let before = self.stdout.acc.finish().total_bytes;
        let accepted = self.stdout.acc.push(chunk).expect("stream read is open").to_vec();
        if self.stdout.acc.finish().total_bytes > before {
            self.stdout.last_progress_at = now_ms;
        }
        self.feed_scanner(accepted);
        self.check_cap(now_ms);
    }

    /// More than the cap was seen: `truncated` is all that can still change, and it is known.
    fn check_cap(&mut self, now_ms: i64) {
        if self.stdout.complete || !self.stdout.over_cap() {
            return;
        }
        self.stdout.complete = true;
        self.close_stdout_stream();
        self.cancel_timers(|k| {
            matches!(
                k,
                TimerKind::StdoutReconnect | TimerKind::StdoutPollTick | TimerKind::StdoutStall
            )
        });
        if self.stdout.draining {
            self.set_drained(now_ms);
        }
    }

    pub(crate) fn on_stdout_end(&mut self, id: StreamId, end: StreamEnd, now_ms: i64) {
        if self.stdout.stream != Some(id) {
            return;
        }
        self.stdout.stream = None;
        let accepted = match end {
            StreamEnd::Eof => self.stdout.acc.end_read().expect("stream read is open").to_vec(),
            StreamEnd::Cut | StreamEnd::Error(_) => self.stdout.acc.abandon_read().to_vec(),
        };
        self.feed_scanner(accepted);
        self.check_cap(now_ms);
        if self.stdout.complete {
            return;
        }
        if self.stdout.draining {
            if end == StreamEnd::Eof {
                self.stdout.complete = true;
                self.set_drained(now_ms);
            } else {
                self.final_stdout_read();
            }
            return;
        }
        if end == StreamEnd::Eof && self.stdout.runner_exited {
            // The exited runner's log is drained: nothing more will come.
            self.stdout.complete = true;
            return;
        }
        self.after_stream_failure(&end, now_ms);
    }

    /// A stream ended early: reconnect (at once if it brought something, else with backoff),
    /// or fall back to polling when streaming keeps failing.
    fn after_stream_failure(&mut self, end: &StreamEnd, now_ms: i64) {
        let progressed = self.stdout.acc.finish().total_bytes > self.stdout.progress_from;
        if progressed {
            self.stdout.failures = 0;
        } else {
            self.stdout.failures += 1;
        }
        if !self.stdout.warned && *end != StreamEnd::Eof {
            self.stdout.warned = true;
            let why = match end {
                StreamEnd::Error(err) => err.message.clone(),
                _ => "connection cut".to_string(),
            };
            self.warn(format!("[sandbox.k8s] runner log stream failed (will reconnect): {why}"));
        }
        let tuning = self.opts.tuning;
        if self.stdout.failures >= tuning.stream_failures_before_polling.max(1) {
            self.stdout.polling = true;
            self.warn(format!(
                "[sandbox.k8s] runner log stream failed {} times in a row; polling the log instead",
                self.stdout.failures
            ));
            self.on_stdout_poll_tick(now_ms);
            return;
        }
        if self.stdout.failures == 0 {
            self.open_stdout(now_ms);
            return;
        }
        let shift = (self.stdout.failures - 1).min(20);
        let delay =
            tuning.reconnect_initial_ms.saturating_mul(1 << shift).min(tuning.reconnect_max_ms);
        self.set_timer(now_ms.saturating_add(delay), TimerKind::StdoutReconnect);
    }

    pub(crate) fn on_stdout_reconnect(&mut self, now_ms: i64) {
        let s = &self.stdout;
        if self.stage == Stage::Running && !s.complete && s.stream.is_none() && !s.polling {
            self.open_stdout(now_ms);
        }
    }

    fn runner_log_read(&self) -> Call {
        let params = LogParams {
            container: Container::Runner,
            tail_lines: None,
            limit_bytes: None,
            timestamps: true,
            since_time: self.stdout.since_time(),
        };
        Call::ReadLog { pod: self.pod_name.clone(), params }
    }

    pub(crate) fn on_stdout_poll_tick(&mut self, _now_ms: i64) {
        let s = &self.stdout;
        if self.stage != Stage::Running || !s.polling || s.poll_in_flight || s.complete {
            return;
        }
        self.stdout.poll_in_flight = true;
        self.report.stdout_polls += 1;
        let call = self.runner_log_read();
        self.issue(Purpose::StdoutPoll, call);
    }

    pub(crate) fn on_stdout_poll(&mut self, reply: Reply, now_ms: i64) {
        self.stdout.poll_in_flight = false;
        match Self::expect_log(reply) {
            Ok(bytes) => {
                self.take_response(&bytes);
                self.check_cap(now_ms);
            }
            Err(err) => {
                if !self.stdout.warned {
                    self.stdout.warned = true;
                    self.warn(format!(
                        "[sandbox.k8s] runner log poll failed (will keep polling): {err}"
                    ));
                }
            }
        }
        if !self.stdout.complete {
            self.set_timer(
                now_ms.saturating_add(POLL_INTERVAL_MS as i64),
                TimerKind::StdoutPollTick,
            );
        }
    }

    /// The loop ended: collect what is left.
    pub(crate) fn drain_stdout(&mut self, now_ms: i64) {
        self.stdout.draining = true;
        self.cancel_timers(|k| {
            matches!(
                k,
                TimerKind::StdoutReconnect | TimerKind::StdoutPollTick | TimerKind::StdoutStall
            )
        });
        if self.stdout.complete {
            self.set_drained(now_ms);
        } else if self.stdout.stream.is_some() {
            self.set_timer(
                now_ms.saturating_add(self.opts.tuning.stdout_drain_ms),
                TimerKind::StdoutDrainDeadline,
            );
        } else {
            self.final_stdout_read();
        }
    }

    pub(crate) fn on_stdout_drain_deadline(&mut self, _now_ms: i64) {
        if self.stage == Stage::Finishing && self.stdout.stream.is_some() {
            self.close_stdout_stream();
            self.final_stdout_read();
        }
    }

    fn final_stdout_read(&mut self) {
        self.report.stdout_polls += 1;
        let call = self.runner_log_read();
        self.issue(Purpose::StdoutFinal, call);
    }

    pub(crate) fn on_stdout_final(&mut self, reply: Reply, now_ms: i64) {
        match Self::expect_log(reply) {
            Ok(bytes) => self.take_response(&bytes),
            Err(err) => {
                // W7: report the possible loss instead of hiding it.
                self.warn(format!("[sandbox.k8s] final runner log read failed: {err}"));
                self.stdout.lost = true;
            }
        }
        self.set_drained(now_ms);
    }

    fn set_drained(&mut self, now_ms: i64) {
        if self.stdout.drained {
            return;
        }
        self.stdout.drained = true;
        self.cancel_timers(|k| matches!(k, TimerKind::StdoutDrainDeadline));
        self.maybe_finish(now_ms);
    }

    /// Abort: stop reading; stdout is what was accepted so far.
    pub(crate) fn stop_stdout(&mut self, _now_ms: i64) {
        self.close_stdout_stream();
        self.stdout.drained = true;
        self.cancel_timers(|k| {
            matches!(
                k,
                TimerKind::StdoutReconnect
                    | TimerKind::StdoutPollTick
                    | TimerKind::StdoutDrainDeadline
                    | TimerKind::StdoutStall
            )
        });
    }
}
