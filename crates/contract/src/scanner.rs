//! The live-progress stream scanner (`createStreamScanner`, exec-common.ts;
//! spec §5.5) as a sans-I/O state machine over runner-stdout byte chunks.
//!
//! Differences from the TypeScript, on purpose (DIFFERENCES.md):
//!
//! * **W8** — the live-tail budget counts UTF-8 bytes, never overshoots
//!   (the last delta is cut at a character boundary to fit exactly), and the
//!   residual line delivered by [`StreamScanner::finish`] is under the same
//!   budget. Once a delta had to be cut, later text is dropped so the tail
//!   stays a prefix of the stream. Phase markers keep firing.
//! * **W9** — newline-free output: when the held, unterminated line exceeds
//!   `max_line_bytes`, everything held is delivered as a *partial* delta
//!   without an added newline; the rest of that line follows in later deltas
//!   and the newline that ends it is delivered with the final piece. The
//!   concatenation of all deltas is therefore exactly the stream text minus
//!   phase-marker lines — no artificial line breaks — and the scanner holds
//!   at most `max_line_bytes` (plus at most 3 bytes of an incomplete UTF-8
//!   character) between chunks. A line longer than the limit is never a
//!   marker, so marker detection is unaffected.
//!
//! Decoding matches a streaming `TextDecoder`: an incomplete trailing
//! sequence is held for the next chunk; invalid bytes become U+FFFD, one per
//! maximal invalid subpart (the same rule as `String::from_utf8_lossy`).

use crate::constants::MAX_LINE_BUF_BYTES;
use crate::protocol::phase_of_line;
use crate::text::floor_char_boundary;
use crate::wire::Phase;

/// What the scanner reports, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEvent {
    /// A phase-marker line was seen (`onPhase`).
    Phase(Phase),
    /// Live-tail text (`onStdoutDelta`): a whole line with its `\n`, a piece of
    /// a long line, or the residual unterminated line at the end.
    StdoutDelta(String),
}

/// Configuration of a [`StreamScanner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannerOptions {
    /// Byte budget of all [`ScanEvent::StdoutDelta`] text (`caps.stdoutMaxBytes`).
    pub stdout_max_bytes: u64,
    /// Longest unterminated line held before it is delivered in pieces
    /// (`MAX_LINE_BUF_BYTES`, counted in bytes). Values below 64 are raised to
    /// 64 so a phase marker can never be split.
    pub max_line_bytes: usize,
    /// Report phase markers (the TypeScript's `onPhase` is set).
    pub emit_phases: bool,
    /// Report live-tail text (the TypeScript's `onStdoutDelta` is set).
    pub emit_deltas: bool,
}

impl ScannerOptions {
    /// Both callbacks on, `MAX_LINE_BUF_BYTES` line limit, the given budget.
    pub fn new(stdout_max_bytes: u64) -> Self {
        ScannerOptions {
            stdout_max_bytes,
            max_line_bytes: MAX_LINE_BUF_BYTES,
            emit_phases: true,
            emit_deltas: true,
        }
    }
}

/// `createStreamScanner({onPhase, onStdoutDelta}, caps)` restricted to stdout,
/// as used by the Kubernetes backend (stderr is never streamed there).
#[derive(Debug, Clone)]
pub struct StreamScanner {
    options: ScannerOptions,
    /// Bytes of an incomplete UTF-8 sequence at the end of the last chunk.
    pending: Vec<u8>,
    /// The current unterminated line (or its not yet delivered rest).
    line: String,
    /// Part of the current line was already delivered as a partial delta.
    line_is_partial: bool,
    /// Bytes of delta text delivered so far.
    delivered: u64,
    /// A delta had to be cut or dropped for the budget; no more text follows.
    exhausted: bool,
    finished: bool,
}

impl StreamScanner {
    /// A scanner with the given options.
    pub fn new(options: ScannerOptions) -> Self {
        let options = ScannerOptions { max_line_bytes: options.max_line_bytes.max(64), ..options };
        StreamScanner {
            options,
            pending: Vec::new(),
            line: String::new(),
            line_is_partial: false,
            delivered: 0,
            exhausted: false,
            finished: false,
        }
    }

    /// Bytes of live-tail text delivered so far (never above the budget).
    pub fn delivered_bytes(&self) -> u64 {
        self.delivered
    }

    /// Whether live-tail text was cut or dropped because of the budget.
    pub fn budget_exhausted(&self) -> bool {
        self.exhausted
    }

    /// `onStdoutChunk(chunk)`: feed the next bytes of runner stdout.
    /// Chunks after [`Self::finish`] are ignored.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<ScanEvent> {
        let mut events = Vec::new();
        if self.finished || !(self.options.emit_phases || self.options.emit_deltas) {
            return events;
        }
        let text = self.decode(chunk);
        let mut rest = text.as_str();
        while let Some(nl) = rest.find('\n') {
            let segment = &rest[..nl];
            rest = &rest[nl + 1..];
            if self.line.is_empty() && !self.line_is_partial {
                self.complete_line(segment, &mut events);
            } else {
                let mut whole = std::mem::take(&mut self.line);
                whole.push_str(segment);
                self.complete_line(&whole, &mut events);
            }
        }
        self.line.push_str(rest);
        if self.line.len() > self.options.max_line_bytes {
            let piece = std::mem::take(&mut self.line);
            self.line_is_partial = true;
            self.deliver(&piece, &mut events);
        }
        events
    }

    /// `finalize()`: flush the decoder and deliver the residual unterminated
    /// line (a marker fires `Phase`; other text is a delta without `\n`,
    /// within the budget). Later calls return nothing.
    pub fn finish(&mut self) -> Vec<ScanEvent> {
        let mut events = Vec::new();
        if self.finished {
            return events;
        }
        self.finished = true;
        if !self.pending.is_empty() {
            self.pending.clear();
            self.line.push('\u{FFFD}');
        }
        if self.line.is_empty() {
            return events;
        }
        let residual = std::mem::take(&mut self.line);
        match phase_of_line(&residual) {
            Some(phase) if !self.line_is_partial => self.phase(phase, &mut events),
            _ => self.deliver(&residual, &mut events),
        }
        events
    }

    fn complete_line(&mut self, line: &str, events: &mut Vec<ScanEvent>) {
        let was_partial = std::mem::replace(&mut self.line_is_partial, false);
        // The tail of a line that was partly delivered is never a marker.
        let phase = if was_partial { None } else { phase_of_line(line) };
        if let Some(phase) = phase {
            self.phase(phase, events);
            return;
        }
        let mut payload = String::with_capacity(line.len() + 1);
        payload.push_str(line);
        payload.push('\n');
        self.deliver(&payload, events);
    }

    fn phase(&self, phase: Phase, events: &mut Vec<ScanEvent>) {
        if self.options.emit_phases {
            events.push(ScanEvent::Phase(phase));
        }
    }

    fn deliver(&mut self, text: &str, events: &mut Vec<ScanEvent>) {
        if !self.options.emit_deltas || self.exhausted || text.is_empty() {
            return;
        }
        let remaining = self.options.stdout_max_bytes.saturating_sub(self.delivered);
        let fits = (text.len() as u64) <= remaining;
        let end = if fits { text.len() } else { floor_char_boundary(text, remaining as usize) };
        if !fits {
            self.exhausted = true;
        }
        if end > 0 {
            self.delivered += end as u64;
            events.push(ScanEvent::StdoutDelta(text[..end].to_string()));
        }
    }

    /// Streaming lossy UTF-8 decode; an incomplete tail stays in `pending`.
    fn decode(&mut self, chunk: &[u8]) -> String {
        let joined;
        let mut bytes: &[u8] = if self.pending.is_empty() {
            chunk
        } else {
            let mut buf = std::mem::take(&mut self.pending);
            buf.extend_from_slice(chunk);
            joined = buf;
            &joined
        };
        let mut out = String::with_capacity(bytes.len());
        loop {
            match std::str::from_utf8(bytes) {
                Ok(valid) => {
                    out.push_str(valid);
                    break;
                }
                Err(err) => {
                    let (valid, after) = bytes.split_at(err.valid_up_to());
                    // `valid_up_to` marks the end of a valid prefix.
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match err.error_len() {
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            bytes = &after[bad..];
                        }
                        None => {
                            self.pending = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        out
    }
}
