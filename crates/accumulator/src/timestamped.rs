//! Timestamped mode: responses of `timestamps=true` reads — head reads, `sinceTime` reads,
//! follow streams and their reconnects — in any mix.
//!
//! Every line of a response starts with the time of its first CRI record, so a line is
//! identified by its timestamp plus its rank among the lines that share that timestamp.
//! The accumulator remembers the last *group* of lines it took (all lines with the latest
//! timestamp, including an unfinished last line) as a [`Mark`]: timestamp, line count, byte
//! count and a checksum. A new response is skipped until it has re-served exactly that group
//! (proof of continuity), then taken. A response whose first line after the mark is newer,
//! or whose group differs, started after our position: the file was rotated in between,
//! and the old file's unread tail may be lost, which counts as a gap.
//!
//! Only the first bytes of a response may lack a prefix: a `sinceTime` read that skipped the
//! start of a line serves its tail prefix-less. Such bytes are older than the mark (the mark's
//! own line start is never skipped, as `sinceTime` is at most the mark's time), so they are
//! skipped. After a newline, a line that does not start with a valid prefix is malformed: it
//! is counted and the rest of that response is ignored (a later read can re-serve it).

use crate::prefix::{Nanos, PrefixParser, Step};
use crate::sink::Sink;
use crate::tally::Tally;

/// The group of lines sharing the latest timestamp taken.
#[derive(Debug, Clone)]
struct Mark {
    ts: Nanos,
    lines: u64,
    bytes: u64,
    sum: crc32fast::Hasher,
}

impl Mark {
    fn new(ts: Nanos) -> Self {
        Self { ts, lines: 1, bytes: 0, sum: crc32fast::Hasher::new() }
    }
}

/// Where the next byte of a response sits in its line structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// The very start of the response: a prefix, or prefix-less bytes of an older line.
    Leading,
    /// After a newline: a prefix must follow.
    LineStart,
    /// Inside a line's content.
    InLine,
}

/// How the current line's content is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Older than our position: skip to its end.
    Skip,
    /// Part of the mark's group: count and checksum it against the mark.
    Verify,
    /// New: take it.
    Take,
}

/// Progress of a response towards our position.
#[derive(Debug, Clone)]
enum Flow {
    /// Not at our position yet; `lines`/`bytes`/`sum` describe the group seen so far.
    Searching { lines: u64, bytes: u64, sum: crc32fast::Hasher },
    /// At or past our position: everything is new.
    Live,
    /// A malformed line: the rest of this response is not used.
    Ignoring,
}

#[derive(Debug, Clone)]
struct Read {
    at: At,
    line: Line,
    flow: Flow,
}

/// The timestamped-mode state machine.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timestamped {
    /// `None` until the first line is taken (the stream's start).
    mark: Option<Mark>,
    parser: PrefixParser,
    read: Option<Read>,
    /// The stream's start was missed (the first response began mid-line).
    missed_start: bool,
}

impl Timestamped {
    pub(crate) fn begin(&mut self) {
        self.parser.clear();
        let flow = Flow::Searching { lines: 0, bytes: 0, sum: crc32fast::Hasher::new() };
        self.read = Some(Read { at: At::Leading, line: Line::Skip, flow });
    }

    pub(crate) fn end(&mut self) {
        self.read = None;
        self.parser.clear();
    }

    pub(crate) fn push(&mut self, chunk: &[u8], sink: &mut Sink, tally: &mut Tally) {
        let Some(mut read) = self.read.take() else { return };
        let mut rest = chunk;
        while !rest.is_empty() && !matches!(read.flow, Flow::Ignoring) {
            if read.at == At::InLine {
                let used = self.content(&mut read, rest, sink, tally);
                rest = &rest[used..];
                continue;
            }
            match self.parser.feed(rest) {
                Step::Incomplete => rest = &[],
                Step::Complete { used, ts } => {
                    rest = &rest[used..];
                    read.at = At::InLine;
                    self.line_start(&mut read, ts, tally);
                }
                Step::Invalid { used } => {
                    rest = &rest[used..];
                    let pending = self.parser.pending().to_vec();
                    self.parser.clear();
                    if read.at == At::Leading {
                        read.at = At::InLine;
                        read.line = Line::Skip;
                        if self.mark.is_none() && !self.missed_start {
                            self.missed_start = true;
                            tally.gaps += 1;
                        }
                        let mut left = pending.as_slice();
                        while !left.is_empty() {
                            let used = self.content(&mut read, left, sink, tally);
                            left = &left[used..];
                        }
                    } else {
                        tally.malformed += 1;
                        tally.pending_gap = true;
                        read.flow = Flow::Ignoring;
                    }
                }
            }
        }
        self.read = Some(read);
    }

    fn line_start(&mut self, read: &mut Read, ts: Nanos, tally: &mut Tally) {
        if let Flow::Searching { lines, bytes, sum } = &mut read.flow {
            match &self.mark {
                None => read.flow = Flow::Live,
                Some(mark) if *lines == 0 && ts < mark.ts => {
                    read.line = Line::Skip;
                    return;
                }
                Some(mark) if ts == mark.ts && *lines < mark.lines => {
                    *lines += 1;
                    read.line = Line::Verify;
                    let (l, b, s) = (*lines, *bytes, sum.clone());
                    self.check_group(read, l, b, s, tally);
                    return;
                }
                Some(_) => {
                    // A line after our position before the group was complete: we are ahead.
                    tally.rotation();
                    read.flow = Flow::Live;
                }
            }
        }
        read.line = Line::Take;
        match &mut self.mark {
            Some(mark) if mark.ts == ts => mark.lines += 1,
            _ => self.mark = Some(Mark::new(ts)),
        }
    }

    /// Called whenever the group seen so far could equal the mark.
    fn check_group(&mut self, read: &mut Read, lines: u64, bytes: u64, sum: crc32fast::Hasher, tally: &mut Tally) {
        let Some(mark) = &mut self.mark else { return };
        let overshot = lines > mark.lines || bytes > mark.bytes;
        if !overshot && (lines != mark.lines || bytes != mark.bytes) {
            return; // still inside the group
        }
        if overshot || sum.clone().finalize() != mark.sum.clone().finalize() {
            // Same time, different bytes: another file. Adopt this response's view of the group.
            tally.rotation();
            *mark = Mark { ts: mark.ts, lines, bytes, sum };
        } else {
            tally.pending_gap = false;
        }
        read.flow = Flow::Live;
        if read.at == At::InLine {
            read.line = Line::Take;
        }
    }

    /// Handles line content at the start of `bytes`; returns how many bytes were used.
    fn content(&mut self, read: &mut Read, bytes: &[u8], sink: &mut Sink, tally: &mut Tally) -> usize {
        let line_len = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |i| i + 1);
        let mut span = &bytes[..line_len];
        match read.line {
            Line::Skip => {}
            Line::Take => {
                sink.take(span);
                if let Some(mark) = &mut self.mark {
                    mark.bytes += span.len() as u64;
                    mark.sum.update(span);
                }
            }
            Line::Verify => {
                let Flow::Searching { lines, bytes: seen, sum } = &mut read.flow else { unreachable!() };
                let mark = self.mark.as_ref().expect("verifying needs a mark");
                if *lines == mark.lines {
                    let room = mark.bytes.saturating_sub(*seen) as usize;
                    debug_assert!(room > 0, "a complete group switches the read to live");
                    if span.len() > room {
                        span = &span[..room];
                    }
                }
                *seen += span.len() as u64;
                sum.update(span);
                let (l, b, s) = (*lines, *seen, sum.clone());
                let line_ended = span.last() == Some(&b'\n');
                if line_ended {
                    read.at = At::LineStart;
                }
                self.check_group(read, l, b, s, tally);
                return span.len();
            }
        }
        if span.last() == Some(&b'\n') {
            read.at = At::LineStart;
        }
        span.len()
    }
}
