//! The runner's stdout, the right way: a `follow=true&timestamps=true` stream fed to a
//! timestamped [`StdoutAccumulator`] capped at `stdoutMaxBytes`, resumed with `sinceTime`
//! from the accumulator's resume point when it is cut (backoff 200 ms doubling to 5 s while
//! reconnects bring nothing new), replaced by `sinceTime` polls when streaming keeps
//! failing, and stopped once more than the cap was seen. The accepted bytes — exactly the
//! canonical stdout, in order — feed the contract's live-progress scanner.
//!
//! At the end of the loop the stream of an exited runner ends by itself once drained: the
//! flow waits for that (bounded). Where it must check whether more was written than it has
//! seen (a stream that ended before the runner was seen exited, a stream that stayed quiet, no
//! stream at the end), it first reads the log's last lines (`tailLines`, about two lines): if
//! they are exactly the last lines taken, nothing follows them
//! ([`StdoutAccumulator::tail_confirms`]); otherwise it resumes from the last second seen. A
//! failed final read sets `truncated.stdout` (W7) instead of losing bytes silently. A read
//! that ends before it re-served the lines taken last
//! ([`StdoutAccumulator::read_caught_up`]) was cut short, however cleanly it ended: it proves
//! nothing about the log's end, and the log is read again.
//!
//! Where stdout ends inside a line (a log may: `P` records), a read that re-served that line and
//! brought nothing more proves nothing either: a server that ends every body cleanly after a
//! fixed number of bytes cuts each read from the same second at the same byte, which looks
//! exactly like a log that ends there (the soak found runs silently short that way). Only the
//! tail proves that end, as it does elsewhere: the unfinished line belongs to the last group
//! and is compared with it. That line may be made of any number of records, more than a check's
//! usual window counts on (one per line of the group, and two), so while reads find nothing
//! new each check looks four times further back (up to [`TAIL_GROWTH_MAX`] times); final reads
//! that still find nothing new then give up with `truncated.stdout`. A window that wide may hold
//! the whole file, and then starts where a read from the head does — and a fixed cut ends it at
//! the same byte, where it seems to confirm. So once a check has shown the log ending otherwise
//! than stdout (its last line does not end with the bytes of stdout's unfinished line), no later
//! check is trusted and none is widened until a read brings something new: the log goes on.
//!
//! A resumed read that brings nothing at all, or a tail check that finds the log empty, proves
//! that the file holding the lines taken last was rotated away (a read of it would re-serve at
//! least their second). Whether that file held more after them, no read can tell any more. It
//! did not if the follow stream that brought them ended the way the kubelet ends one: cleanly,
//! at the end of a line (the kubelet ends a stream once the container has exited and its file
//! is drained, and rotates only running containers' logs, so that stream crossed the rotation).
//! After any other end (a cut or failed stream, one ended cleanly in the middle of a line, as a
//! server's timeout can, one the flow closed, a poll), if no later read brings anything, the run
//! ends with `truncated.stdout` rather than a stdout that may be silently short (a later read
//! that brings lines shows the missing piece as a gap anyway).

use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator, TailCheck};
use tale_sandbox_contract::config::SpawnerConfig;
use tale_sandbox_contract::constants::{MAX_LINE_BUF_BYTES, POLL_INTERVAL_MS};
use tale_sandbox_contract::scanner::{ScanEvent, ScannerOptions, StreamScanner};

use crate::calls::{Purpose, TailCheckFor, TimerKind};
use crate::execution::Execution;
use crate::types::{
    Action, Call, Container, ExecuteOptions, LogParams, Reply, Stage, StreamEnd, StreamId,
};

/// How many times a tail check's window is widened (×4 each: up to 1024 times the group's lines
/// and two) while stdout ends inside a line and reads find nothing new (see
/// [`StdoutFlow::widen_tail_window`]); a final read that still finds nothing new after that
/// gives up with `truncated.stdout`.
const TAIL_GROWTH_MAX: u32 = 5;

/// The state of the runner's stdout.
#[derive(Debug)]
pub(crate) struct StdoutFlow {
    pub(crate) acc: StdoutAccumulator,
    scanner: StreamScanner,
    scanner_finished: bool,
    cap: u64,
    /// The open follow stream.
    stream: Option<StreamId>,
    /// `total_bytes` when the read in flight (the open stream, or a final read) started: did it
    /// bring anything new?
    progress_from: u64,
    /// The open stream started from a resume point (`sinceTime`).
    stream_resumed: bool,
    /// Bytes the open stream brought (new or re-served).
    stream_bytes: u64,
    /// The last byte the open stream brought.
    stream_last: Option<u8>,
    /// The last read that brought bytes was a follow stream the server ended cleanly at the end
    /// of a line (see the module docs).
    seen_to_end: bool,
    /// Final reads in a row that brought nothing new though the log's tail showed more.
    final_reads_stalled: u32,
    /// How many times the window of the next tail check is widened (×4 each): while stdout ends
    /// inside a line, a check whose window is too short for that line cannot confirm (see
    /// [`StdoutFlow::widen_tail_window`]). Back to 0 when a read brings something new.
    tail_growth: u32,
    /// Since the last read that brought something new, while stdout ends inside a line, a tail
    /// check showed the log ending otherwise ([`StdoutAccumulator::tail_ends_as_stdout`]): the
    /// log has more (or other) bytes than were taken, and a later check that seems to confirm the end was cut
    /// where a read was (a window as wide as the file starts where a read from the head does,
    /// and a fixed cut ends both at the same byte). Such a check is not trusted, and windows are
    /// not widened any more.
    other_end_seen: bool,
    /// Since the last bytes any read brought, a resumed read brought nothing or a tail check
    /// found the log empty: the file holding the lines taken last was rotated away.
    rotated_away: bool,
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
    /// The last stream ended normally while the runner was not yet seen exited: while tail
    /// checks find nothing written after it, the flow waits for the exit instead of
    /// reconnecting, and a tail check then proves the end.
    ended_before_exit: bool,
    /// When that stream ended.
    eof_at: i64,
    /// What the tail check in flight decides, if one is.
    tail_check: Option<TailCheckFor>,
    /// A check asked for while another was in flight, for a later decision than that one's: it
    /// is issued when the one in flight returns (whose answer may predate what it must decide,
    /// e.g. the runner's last writes, and is then not used).
    next_tail_check: Option<TailCheckFor>,
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
            stream_resumed: false,
            stream_bytes: 0,
            stream_last: None,
            seen_to_end: false,
            rotated_away: false,
            final_reads_stalled: 0,
            tail_growth: 0,
            other_end_seen: false,
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
            ended_before_exit: false,
            eof_at: 0,
            tail_check: None,
            next_tail_check: None,
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

    /// Bytes taken so far (stdout and what the cap cut off).
    fn taken(&self) -> u64 {
        self.acc.finish().total_bytes
    }

    fn over_cap(&self) -> bool {
        self.taken() > self.cap
    }

    /// Whether the read in flight (or the one just ended) brought anything new.
    fn read_progressed(&self) -> bool {
        self.taken() > self.progress_from
    }

    /// Whether a tail check can prove that nothing follows what was taken: a line group was
    /// taken (an unfinished last line is part of it, see [`Self::ends_inside_line`]).
    fn tail_provable(&self) -> bool {
        self.acc.tail_check().is_some()
    }

    /// Whether stdout ends inside a line (with a line group taken). The group's unfinished
    /// line may be any number of `P` records in the file: a tail check confirms only when its
    /// window reaches back to that line's first record, so the window is widened while reads
    /// find nothing new ([`Self::widen_tail_window`]).
    fn ends_inside_line(&self) -> bool {
        self.tail_provable() && self.acc.stdout().last().is_some_and(|&b| b != b'\n')
    }

    /// A read re-served the line stdout ends inside and brought nothing new: either the log ends
    /// there, or the read was cut where an earlier one was (a server that ends a body after a
    /// fixed number of bytes ends every read from the same `sinceTime` at the same byte). The
    /// last check may not have confirmed an end that is real, as that line may be made of more
    /// records than [`TailCheck::tail_lines`] counts on (one per line, and two more): its window
    /// then starts inside it, or inside the line before the group, shown under the group's time.
    /// The next check looks four times further back.
    fn widen_tail_window(&mut self) {
        if self.ends_inside_line() && !self.other_end_seen {
            self.tail_growth = (self.tail_growth + 1).min(TAIL_GROWTH_MAX);
        }
    }

    /// A read took new bytes: what the tail checks learnt about the old end no longer holds
    /// (the window is back to the group's lines and two, and checks are trusted again).
    fn took_new_bytes(&mut self) {
        self.tail_growth = 0;
        self.other_end_seen = false;
    }

    /// The `tailLines` of the next tail check.
    fn tail_lines(&self, check: TailCheck) -> i64 {
        let lines = check.tail_lines().saturating_mul(1 << (2 * self.tail_growth));
        i64::try_from(lines).unwrap_or(i64::MAX)
    }

    /// A read ended, having brought `bytes` bytes: one from a resume point that brought none
    /// found the file holding the lines taken last rotated away. `to_end`: a follow stream the
    /// server ended cleanly at the end of a line.
    fn read_ended(&mut self, resumed: bool, bytes: u64, to_end: bool) {
        if bytes > 0 {
            self.seen_to_end = to_end;
        } else if resumed {
            self.rotated_away = true;
        }
    }

    /// A read brought bytes: from a file written after that rotation, if there was one (a
    /// resumed read that does not find the lines taken last shows the missing piece as a gap;
    /// a stream open across the rotation read on through it).
    fn brought(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.rotated_away = false;
        }
    }

    /// Drops the open stream, if any; returns the bytes the accumulator accepted by
    /// abandoning its read (a held first line of a resumed read), which are stdout and must
    /// reach the scanner (see [`Execution::close_stdout_stream`]).
    pub(crate) fn close(&mut self, actions: &mut std::collections::VecDeque<Action>) -> Vec<u8> {
        match self.stream.take() {
            Some(id) => {
                self.read_ended(self.stream_resumed, self.stream_bytes, false);
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

    /// Feeds a whole one-shot response (a poll or the final read); returns whether it caught up
    /// with what was taken before it ([`StdoutAccumulator::read_caught_up`]): one that did not
    /// was cut short, and says nothing about the log's end.
    fn take_response(&mut self, bytes: &[u8]) -> bool {
        let resumed = self.stdout.acc.resume_since().is_some();
        let before = self.stdout.taken();
        let mut accepted = self.stdout.acc.begin_read().to_vec();
        accepted.extend_from_slice(self.stdout.acc.push(bytes).expect("read is open"));
        let caught_up = self.stdout.acc.read_caught_up();
        accepted.extend_from_slice(self.stdout.acc.end_read().expect("read is open"));
        self.feed_scanner(accepted);
        if self.stdout.taken() > before {
            // New lines from a one-shot read: no end the kubelet vouches for.
            self.stdout.took_new_bytes();
            self.stdout.read_ended(resumed, bytes.len() as u64, false);
        } else if bytes.is_empty() {
            self.stdout.read_ended(resumed, 0, false);
        }
        self.stdout.brought(bytes);
        caught_up
    }

    /// Opens a follow stream from the resume point (the head the first time).
    pub(crate) fn open_stdout(&mut self, now_ms: i64) {
        let id = self.next_stream_id();
        let since_time = self.stdout.since_time();
        let accepted = self.stdout.acc.begin_read().to_vec();
        self.feed_scanner(accepted);
        self.stdout.stream = Some(id);
        self.stdout.stream_resumed = since_time.is_some();
        self.stdout.stream_bytes = 0;
        self.stdout.stream_last = None;
        self.stdout.ended_before_exit = false;
        self.stdout.progress_from = self.stdout.taken();
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
        self.issue_tail_check(TailCheckFor::Stall, now_ms);
    }

    /// Reads the runner log's last lines to check whether anything follows the stdout taken;
    /// without a line taken yet there is nothing to compare, and the fallback runs at once.
    fn issue_tail_check(&mut self, why: TailCheckFor, now_ms: i64) {
        if let Some(in_flight) = self.stdout.tail_check {
            // The one in flight may have been served before what `why` must decide happened
            // (the runner's exit, the stream's end): a new check follows it.
            if why > in_flight {
                self.stdout.next_tail_check = self.stdout.next_tail_check.max(Some(why));
            }
            return;
        }
        let Some(check) = self.stdout.acc.tail_check() else {
            self.after_tail_check(why, false, now_ms);
            return;
        };
        self.stdout.tail_check = Some(why);
        self.report.stdout_tail_checks += 1;
        let params = LogParams {
            container: Container::Runner,
            tail_lines: Some(self.stdout.tail_lines(check)),
            limit_bytes: None,
            timestamps: true,
            since_time: None,
        };
        self.issue(Purpose::StdoutTailCheck, Call::ReadLog { pod: self.pod_name.clone(), params });
    }

    pub(crate) fn on_stdout_tail_check(&mut self, reply: Reply, now_ms: i64) {
        let Some(why) = self.stdout.tail_check.take() else { return };
        let confirmed = match Self::expect_log(reply) {
            Ok(bytes) if bytes.is_empty() => {
                // Lines were taken (a check needs them), yet the log is empty: their file was
                // rotated away, and nothing was written since. There is nothing to read now;
                // whether that file held more after them, see the module docs.
                self.stdout.rotated_away = true;
                true
            }
            Ok(bytes) if self.stdout.ends_inside_line() => {
                let matches = self.stdout.acc.tail_confirms(&bytes);
                if !matches && !self.stdout.acc.tail_ends_as_stdout(&bytes) {
                    self.stdout.other_end_seen = true;
                }
                matches && !self.stdout.other_end_seen
            }
            Ok(bytes) => self.stdout.acc.tail_confirms(&bytes),
            // Proves nothing: the fallback reads on from the resume point.
            Err(_) => false,
        };
        if confirmed {
            self.report.stdout_tail_confirmed += 1;
        }
        if let Some(next) = self.stdout.next_tail_check.take() {
            self.issue_tail_check(next, now_ms);
            return;
        }
        self.after_tail_check(why, confirmed, now_ms);
    }

    /// The stream ended before the runner was seen exited, and nothing has been reopened since:
    /// the flow is waiting for the exit, checking the log's tail meanwhile.
    fn awaiting_runner_exit(&self) -> bool {
        let s = &self.stdout;
        self.stage == Stage::Running
            && s.ended_before_exit
            && s.stream.is_none()
            && !s.polling
            && !s.complete
    }

    /// Time to look at the log's tail again while waiting for the runner's exit.
    pub(crate) fn on_stdout_settle(&mut self, now_ms: i64) {
        if self.awaiting_runner_exit() {
            self.issue_tail_check(TailCheckFor::Settle, now_ms);
        }
    }

    /// Acts on a tail check (or on its absence: `confirmed == false`).
    fn after_tail_check(&mut self, why: TailCheckFor, confirmed: bool, now_ms: i64) {
        if self.stdout.complete || self.stdout.drained {
            return;
        }
        match why {
            TailCheckFor::Stall => {
                if self.stage != Stage::Running || self.stdout.stream.is_none() {
                    return;
                }
                let quiet_since = self.stdout.last_progress_at;
                if confirmed
                    || now_ms.saturating_sub(quiet_since) < self.opts.tuning.stdout_stall_ms
                {
                    // A quiet program (or the stream moved on meanwhile): keep the stream.
                    self.arm_stall_check(if confirmed { now_ms } else { quiet_since });
                    return;
                }
                // The log has more than the stream brought: the stream stalled.
                self.report.stdout_stalls += 1;
                self.close_stdout_stream();
                self.open_stdout(now_ms);
            }
            TailCheckFor::Settle => {
                let s = &self.stdout;
                if self.stage != Stage::Running
                    || s.stream.is_some()
                    || s.polling
                    || !s.ended_before_exit
                {
                    return;
                }
                let tuning = self.opts.tuning;
                if confirmed && now_ms.saturating_sub(s.eof_at) < tuning.stdout_eof_settle_max_ms {
                    // Nothing was written after the stream's end: the runner has most likely
                    // stopped and its status is late. Look again in a moment.
                    let at = now_ms.saturating_add(tuning.stdout_eof_settle_ms.max(1));
                    self.set_timer(at, TimerKind::StdoutSettle);
                    return;
                }
                // The log has more than the stream brought (a server ended it), or the runner
                // stayed quiet too long: read on from the resume point.
                self.after_stream_failure(&StreamEnd::Eof, 0, now_ms);
            }
            TailCheckFor::End => {
                if confirmed {
                    self.log_end_reached(now_ms);
                } else if self.stdout.draining {
                    self.final_stdout_read();
                } else if self.stage == Stage::Running && self.stdout.stream.is_none() {
                    // The log has more than was taken: read on from the resume point (at once
                    // if the last stream brought something, else with backoff).
                    self.after_stream_failure(&StreamEnd::Eof, 0, now_ms);
                }
            }
        }
    }

    pub(crate) fn on_stdout_chunk(&mut self, id: StreamId, chunk: &[u8], now_ms: i64) {
        if self.stdout.stream != Some(id) {
            return;
        }
        self.report.log_bytes.runner += chunk.len() as u64;
        self.stdout.stream_bytes += chunk.len() as u64;
        self.stdout.stream_last = chunk.last().copied().or(self.stdout.stream_last);
        self.stdout.brought(chunk);
        let before = self.stdout.taken();
        let accepted = self.stdout.acc.push(chunk).expect("stream read is open").to_vec();
        if self.stdout.taken() > before {
            self.stdout.last_progress_at = now_ms;
            self.stdout.took_new_bytes();
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
        self.cancel_timers(|k| k.reads_stdout());
        if self.stdout.draining {
            self.set_drained(now_ms);
        }
    }

    pub(crate) fn on_stdout_end(&mut self, id: StreamId, end: StreamEnd, now_ms: i64) {
        if self.stdout.stream != Some(id) {
            return;
        }
        self.stdout.stream = None;
        let (resumed, bytes) = (self.stdout.stream_resumed, self.stdout.stream_bytes);
        // A stream that ended before it re-served the lines taken last was cut short, however
        // cleanly: the kubelet serves a file to its end.
        let caught_up = self.stdout.acc.read_caught_up();
        let to_end = end == StreamEnd::Eof && self.stdout.stream_last == Some(b'\n') && caught_up;
        self.stdout.read_ended(resumed, bytes, to_end);
        let accepted = match end {
            StreamEnd::Eof => self.stdout.acc.end_read().expect("stream read is open").to_vec(),
            StreamEnd::Cut | StreamEnd::Error(_) => self.stdout.acc.abandon_read().to_vec(),
        };
        self.feed_scanner(accepted);
        self.check_cap(now_ms);
        if self.stdout.complete {
            return;
        }
        if end == StreamEnd::Eof && (self.stdout.draining || self.stdout.runner_exited) {
            // Most likely the end of the exited runner's log; but a server (a proxy's timeout,
            // an API server going away) can end a stream cleanly midway too. The log's tail
            // tells which, unless this stream found the log rotated away (nothing to read).
            // Also where stdout ends inside a line: a stream that re-served that line and
            // brought nothing more proves nothing (a server that cuts every body after a fixed
            // number of bytes ends each read from the same second at the same byte), so the tail
            // is checked, further back each time (see `widen_tail_window`). With no line group
            // at all, one reopened read is all there is.
            let progressed = self.stdout.read_progressed();
            if !progressed && caught_up {
                self.stdout.widen_tail_window();
            }
            if bytes > 0 && self.stdout.tail_provable() {
                self.issue_tail_check(TailCheckFor::End, now_ms);
            } else if bytes > 0 && (progressed || !caught_up) && !to_end {
                if self.stdout.draining {
                    self.final_stdout_read();
                } else {
                    self.after_stream_failure(&end, 0, now_ms);
                }
            } else {
                self.log_end_reached(now_ms);
            }
            return;
        }
        if self.stdout.draining {
            self.issue_tail_check(TailCheckFor::End, now_ms);
            return;
        }
        let mut min_delay = 0;
        let settle_ms = self.opts.tuning.stdout_eof_settle_ms;
        if end == StreamEnd::Eof && settle_ms > 0 {
            // Most likely the runner exited a moment before its status says so; or a server
            // ended the stream. The log's tail tells which, without re-reading the last second.
            self.stdout.ended_before_exit = true;
            self.stdout.eof_at = now_ms;
            if self.stdout.acc.tail_check().is_some() {
                self.issue_tail_check(TailCheckFor::Settle, now_ms);
                return;
            }
            // Nothing taken yet to compare the tail with: give the status a moment.
            min_delay = settle_ms;
        }
        self.after_stream_failure(&end, min_delay, now_ms);
    }

    /// The runner was seen terminated (Pod status).
    pub(crate) fn on_runner_exited(&mut self, now_ms: i64) {
        if self.stdout.runner_exited {
            return;
        }
        self.stdout.runner_exited = true;
        if self.awaiting_runner_exit() {
            self.cancel_timers(|k| {
                matches!(k, TimerKind::StdoutReconnect | TimerKind::StdoutSettle)
            });
            self.issue_tail_check(TailCheckFor::End, now_ms);
        }
    }

    /// A stream ended early: reconnect (at once if it brought something, else with backoff;
    /// not before `min_delay` ms), or fall back to polling when streaming keeps failing.
    fn after_stream_failure(&mut self, end: &StreamEnd, min_delay: i64, now_ms: i64) {
        if self.stdout.read_progressed() {
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
        let backoff = match self.stdout.failures {
            0 => 0,
            n => {
                let shift = (n - 1).min(20);
                tuning.reconnect_initial_ms.saturating_mul(1 << shift).min(tuning.reconnect_max_ms)
            }
        };
        let delay = backoff.max(min_delay);
        if delay == 0 {
            self.open_stdout(now_ms);
        } else {
            self.set_timer(now_ms.saturating_add(delay), TimerKind::StdoutReconnect);
        }
    }

    pub(crate) fn on_stdout_reconnect(&mut self, now_ms: i64) {
        let s = &self.stdout;
        if self.stage == Stage::Running
            && !s.complete
            && s.stream.is_none()
            && !s.polling
            // An end check in flight reopens the stream itself if the log has more.
            && s.tail_check != Some(TailCheckFor::End)
        {
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
        self.cancel_timers(|k| k.reads_stdout());
        if self.stdout.complete {
            self.set_drained(now_ms);
        } else if self.stdout.stream.is_some() {
            self.set_timer(
                now_ms.saturating_add(self.opts.tuning.stdout_drain_ms),
                TimerKind::StdoutDrainDeadline,
            );
        } else {
            self.issue_tail_check(TailCheckFor::End, now_ms);
        }
    }

    pub(crate) fn on_stdout_drain_deadline(&mut self, now_ms: i64) {
        if self.stage == Stage::Finishing && self.stdout.stream.is_some() {
            self.close_stdout_stream();
            self.issue_tail_check(TailCheckFor::End, now_ms);
        }
    }

    fn final_stdout_read(&mut self) {
        self.report.stdout_polls += 1;
        self.stdout.progress_from = self.stdout.taken();
        let call = self.runner_log_read();
        self.issue(Purpose::StdoutFinal, call);
    }

    pub(crate) fn on_stdout_final(&mut self, reply: Reply, now_ms: i64) {
        match Self::expect_log(reply) {
            Ok(bytes) => {
                let caught_up = self.take_response(&bytes);
                self.check_cap(now_ms);
                if self.stdout.complete || bytes.is_empty() {
                    // Over the cap; or nothing from the resume point on (see `rotated_away`).
                    self.log_end_reached(now_ms);
                    return;
                }
                // A server can end a response cleanly midway, as it can a stream: only the log's
                // tail tells whether this one brought the end. That holds where stdout ends
                // inside a line too: a read that re-served that line and brought nothing more may
                // have been cut where an earlier read from the same second was (a server that
                // cuts every body after a fixed number of bytes does exactly that), so it proves
                // nothing; and as that line may be made of more records than the last check's
                // window counted on, the next looks further back. Reads that bring nothing new
                // twice (while the tail shows more, or cut before they re-served the lines taken
                // last), or once more than the window was widened, cannot get further: bytes may
                // be missing.
                // With no line taken at all there is no tail to compare: a read that brings
                // nothing is the end (above); one that brings bytes yet nothing new is read
                // again, and given up the same way.
                let progressed = self.stdout.read_progressed();
                if progressed {
                    self.stdout.final_reads_stalled = 0;
                } else {
                    self.stdout.final_reads_stalled += 1;
                    if caught_up {
                        self.stdout.widen_tail_window();
                    }
                }
                let provable = self.stdout.tail_provable();
                let stall_limit = 2.max(1 + self.stdout.tail_growth);
                if self.stdout.final_reads_stalled >= stall_limit {
                    // Unless the stream that brought the last lines ended as the kubelet ends
                    // one (see the module docs), the log's end was not reached.
                    if !self.stdout.seen_to_end {
                        self.warn(
                            "[sandbox.k8s] final runner log reads end before the log does"
                                .to_string(),
                        );
                        self.stdout.lost = true;
                    }
                    self.set_drained(now_ms);
                    return;
                }
                if provable {
                    self.issue_tail_check(TailCheckFor::End, now_ms);
                } else {
                    self.final_stdout_read();
                }
            }
            Err(err) => {
                // W7: report the possible loss instead of hiding it.
                self.warn(format!("[sandbox.k8s] final runner log read failed: {err}"));
                self.stdout.lost = true;
                self.set_drained(now_ms);
            }
        }
    }

    /// Nothing more is to be read.
    fn log_end_reached(&mut self, now_ms: i64) {
        self.stdout.complete = true;
        if self.stdout.draining {
            self.set_drained(now_ms);
        }
    }

    fn set_drained(&mut self, now_ms: i64) {
        if self.stdout.drained {
            return;
        }
        self.stdout.drained = true;
        // The file holding the lines taken last was rotated away: see the module docs.
        self.stdout.lost |= self.stdout.rotated_away && !self.stdout.seen_to_end;
        self.cancel_timers(|k| matches!(k, TimerKind::StdoutDrainDeadline));
        self.maybe_finish(now_ms);
    }

    /// Abort: stop reading; stdout is what was accepted so far.
    pub(crate) fn stop_stdout(&mut self, _now_ms: i64) {
        self.close_stdout_stream();
        self.stdout.drained = true;
        self.cancel_timers(|k| k.reads_stdout() || matches!(k, TimerKind::StdoutDrainDeadline));
    }
}
