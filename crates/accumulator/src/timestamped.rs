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

use crate::checksum::GroupSum;
use crate::prefix::{Nanos, PrefixParser, Step};
use crate::sink::Sink;
use crate::tally::Tally;

/// The group of lines sharing the latest timestamp taken.
#[derive(Debug, Clone)]
struct Mark {
    ts: Nanos,
    lines: u64,
    bytes: u64,
    sum: GroupSum,
    /// Where in stdout the bytes taken of the last line begin (`None`: past the cap).
    line_from: Option<usize>,
    /// Where in stdout the group's first line begins (`None`: past the cap, or unknown).
    group_from: Option<usize>,
    /// Where in stdout the line before the group begins (`None`: no line was taken before).
    before_from: Option<usize>,
}

impl Mark {
    /// The mark of a new group whose first line starts now, after the line of `previous`.
    fn new(ts: Nanos, sink: &Sink, previous: Option<Mark>) -> Self {
        let here = line_from(sink);
        let before_from = previous.as_ref().and_then(|m| m.line_from);
        let sum = GroupSum::reusing(previous.map(|m| m.sum.into_buffer()).unwrap_or_default());
        Self { ts, lines: 1, bytes: 0, sum, line_from: here, group_from: here, before_from }
    }
}

fn line_from(sink: &Sink) -> Option<usize> {
    (!sink.is_full()).then(|| sink.len())
}

/// Bytes of a response's first line, held until it is known how much of it was taken before.
const OVERLAP_HOLD_MAX: usize = 64 * 1024;

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

/// One reading of a response while it is searched for the mark's group.
///
/// Two readings exist because the first record of a rotated-to file is shown with a prefix
/// by a read that starts there, but without one by a follow stream that crossed into it when
/// it continues a line: a response's first line may be such a continuation, not a line start.
#[derive(Debug, Clone)]
struct Reading {
    /// Lines of the mark's group seen, bytes of them, and their checksum.
    lines: u64,
    bytes: u64,
    sum: GroupSum,
    /// Skipping the current line: older than the mark, or taken as a continuation.
    skipping: bool,
    /// Still consistent with the mark.
    alive: bool,
    /// The continuation reading keeps the first line it skips, to check that it can be the end
    /// of the line before the mark's group (`None`: too long to keep).
    skipped: Option<Vec<u8>>,
}

impl Reading {
    fn new(skipping: bool) -> Self {
        Self {
            lines: 0,
            bytes: 0,
            sum: GroupSum::default(),
            skipping,
            alive: true,
            skipped: skipping.then(Vec::new),
        }
    }

    /// Keeps the bytes of a skipped first line (only the continuation reading keeps them).
    fn keep_skipped(&mut self, span: &[u8]) {
        if let Some(kept) = &mut self.skipped {
            if kept.last() == Some(&b'\n') {
                return; // only the first line
            }
            if kept.len() + span.len() > OVERLAP_HOLD_MAX {
                self.skipped = None;
            } else {
                kept.extend_from_slice(span);
            }
        }
    }

    /// Whether the group seen equals the mark (`Some(true)`), contradicts it (`Some(false)`),
    /// or may still grow into it (`None`).
    fn verdict(&self, mark: &Mark) -> Option<bool> {
        if self.lines > mark.lines || self.bytes > mark.bytes {
            return Some(false);
        }
        if self.lines < mark.lines || self.bytes < mark.bytes || self.skipping {
            return None;
        }
        Some(self.sum.value() == mark.sum.value())
    }
}

/// What an undecided response served after the plain reading's match, kept for replay.
#[derive(Debug, Clone)]
enum Held {
    LineStart(Nanos),
    Bytes(Vec<u8>),
}

/// The bytes of `held` before its first line start: the rest of the current line.
fn rest_of_line(held: &[Held]) -> Vec<u8> {
    held.iter()
        .map_while(|h| if let Held::Bytes(b) = h { Some(b.as_slice()) } else { None })
        .collect::<Vec<_>>()
        .concat()
}

/// Progress of a response towards our position.
#[derive(Debug, Clone)]
enum Flow {
    /// Not at our position yet. `plain` takes every prefix as a line start; `continued`, if
    /// any, takes the response's first line as the continuation of an older line.
    Searching { plain: Reading, continued: Option<Reading> },
    /// The plain reading re-served the mark, but the continuation reading may still do so
    /// further on. Until one of them is ruled out, the bytes after the plain match (within
    /// its line) are held: taking them could repeat bytes, dropping them could lose some.
    /// `checked_at` is `held_bytes` when [`continuation_possible`] was last evaluated.
    Undecided { continued: Reading, held: Vec<Held>, held_bytes: usize, checked_at: usize },
    /// At or past our position: everything is new.
    Live,
    /// Past our position, in the response's first line, which may continue the line we took
    /// last (a follow stream that crossed the rotation may have taken its start already):
    /// held until its end, then only what does not repeat the end of that line is taken.
    /// Nothing of it is committed (no gap counted, the mark unchanged) until it is known how
    /// much of it repeats: a response cut before that proves nothing.
    /// Once the line has ended it waits for the next line start: an earlier time there means
    /// the first "prefix" was line content (the tail of an older line that merely looks like
    /// a prefix), and the response is searched as usual from that line on.
    Overlap { ts: Nanos, held: Vec<u8>, ours: Option<usize>, ended: bool },
    /// Skipping the rest of the current line (counted as seen, not taken), then live.
    SkipLine,
    /// A malformed line: the rest of this response is not used.
    Ignoring,
}

#[derive(Debug, Clone)]
struct Read {
    at: At,
    flow: Flow,
    /// Where stdout and the mark stood when the read began: a read that moved them took bytes
    /// (or a line start).
    from: Position,
}

/// Bytes taken into stdout (or counted past the cap), and the mark's time and line count.
type Position = (u64, Option<(Nanos, u64)>);

/// What timestamped mode keeps between reads: the mark (the last line group taken) and the open
/// read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timestamped {
    /// `None` until the first line is taken (the stream's start).
    mark: Option<Mark>,
    parser: PrefixParser,
    read: Option<Read>,
    /// The stream's start was missed (the first response began mid-line).
    missed_start: bool,
    /// The read that took the last bytes was cut: the mark's group may be only part of the lines
    /// with its time, and a file that starts with lines repeating it proves nothing (see
    /// [`Timestamped::tail_matches`]). Cleared by a read that ends normally at or past the mark.
    group_cut: bool,
}

impl Timestamped {
    /// Heap bytes held: the mark's unhashed group bytes and what the open read holds.
    pub(crate) fn retained_bytes(&self) -> usize {
        let mark = self.mark.as_ref().map_or(0, |m| m.sum.retained_bytes());
        let reading =
            |r: &Reading| r.sum.retained_bytes() + r.skipped.as_ref().map_or(0, Vec::capacity);
        let read = match self.read.as_ref().map(|r| &r.flow) {
            Some(Flow::Searching { plain, continued }) => {
                reading(plain) + continued.as_ref().map_or(0, reading)
            }
            Some(Flow::Undecided { continued, held, .. }) => {
                let bytes: usize = held
                    .iter()
                    .map(|h| if let Held::Bytes(b) = h { b.capacity() } else { 0 })
                    .sum();
                reading(continued) + bytes + held.capacity() * std::mem::size_of::<Held>()
            }
            Some(Flow::Overlap { held, .. }) => held.capacity(),
            _ => 0,
        };
        mark + read
    }

    /// The time of the last line group taken (`None`: nothing taken yet).
    pub(crate) fn mark_time(&self) -> Option<Nanos> {
        self.mark.as_ref().map(|m| m.ts)
    }

    /// Whether the open read has caught up with what was taken before it: it re-served the
    /// mark's group (or started past it, or nothing was taken yet), so that what it serves next
    /// is new. `false` outside a read, while still searching, and once the rest of the response
    /// is ignored (a malformed line: the read proves nothing).
    pub(crate) fn caught_up(&self) -> bool {
        if self.mark.is_none() {
            return self.read.is_some();
        }
        match self.read.as_ref().map(|r| &r.flow) {
            None | Some(Flow::Searching { .. } | Flow::Ignoring) => false,
            Some(Flow::Undecided { .. } | Flow::Live | Flow::Overlap { .. } | Flow::SkipLine) => {
                true
            }
        }
    }

    /// The `tailLines` of a read that can prove nothing follows the last group taken: its
    /// lines and the two records before them (`None`: nothing taken yet).
    pub(crate) fn tail_lines(&self) -> Option<u64> {
        self.mark.as_ref().map(|m| m.lines + 2)
    }

    /// Whether `response` (a whole read of [`tail_lines`](Self::tail_lines) records) ends the
    /// file with exactly the last group taken: the same lines, bytes and checksum, all with the
    /// group's time, and before them only whole lines of earlier times (or nothing: the file
    /// starts there).
    ///
    /// Those earlier lines matter: the group may have been taken in part (a stream cut between
    /// two lines written at once), and then the file's last lines at that time are the lines
    /// not taken, which could repeat those taken byte for byte. Record times never go back, so
    /// a line of an earlier time right before them places them at our group. Two records are
    /// asked for beyond the group because a write that ended inside a line leaves its end in
    /// the next write's first record, which has the group's time: read from the record before
    /// it, the two render as one line of the earlier time.
    pub(crate) fn tail_matches(&self, response: &[u8]) -> bool {
        let Some(mark) = &self.mark else { return false };
        let mut parser = PrefixParser::default();
        let (mut lines, mut bytes, mut sum) = (0u64, 0u64, GroupSum::default());
        let mut rest = response;
        let mut before_group = false;
        while !rest.is_empty() {
            let ts = match parser.feed(rest) {
                Step::Complete { used, ts } => {
                    rest = &rest[used..];
                    ts
                }
                _ => return false,
            };
            parser.clear();
            let line_len = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            let (line, after) = rest.split_at(line_len);
            rest = after;
            if lines == 0 && ts < mark.ts && line.last() == Some(&b'\n') {
                before_group = true;
                continue; // before the group
            }
            if ts != mark.ts {
                return false;
            }
            lines += 1;
            bytes += line.len() as u64;
            sum.update(line);
        }
        // A file that starts with the group is a file rotated in right before it, unless the
        // group was taken by a read that was cut: then the lines after it with its time (one
        // write of the runtime, written across the rotation) may start the new file and repeat it.
        (before_group || !self.group_cut)
            && lines == mark.lines
            && bytes == mark.bytes
            && sum.value() == mark.sum.value()
    }

    fn position(&self, sink: &Sink) -> Position {
        (sink.total(), self.mark.as_ref().map(|m| (m.ts, m.lines)))
    }

    pub(crate) fn begin(&mut self, sink: &Sink) {
        self.parser.clear();
        let flow = Flow::Searching { plain: Reading::new(false), continued: None };
        self.read = Some(Read { at: At::Leading, flow, from: self.position(sink) });
    }

    pub(crate) fn end(&mut self, complete: bool, sink: &mut Sink, tally: &mut Tally) {
        let took = self.read.as_ref().is_some_and(|r| r.from != self.position(sink));
        if complete && self.caught_up() {
            self.group_cut = false;
        } else if !complete && took {
            self.group_cut = true;
        }
        match self.read.take().map(|r| r.flow) {
            Some(Flow::Overlap { ts, held, ours, .. }) => {
                if held.is_empty() {
                    // Cut right after the prefix: nothing learned.
                } else if self.repeated_len(&held, ours, sink) == held.len() {
                    // All of it may repeat what was taken, and the rest of the line is unknown:
                    // leave the position, and count the bytes seen as a possible loss.
                    tally.pending_gap = true;
                    tally.skipped += held.len() as u64;
                } else {
                    self.commit_overlap_line(ts, sink, tally);
                    self.take_new_part(&held, ours, sink, tally);
                }
            }
            Some(Flow::Undecided { held, held_bytes, .. }) if !held.is_empty() => {
                let possible = self
                    .mark
                    .as_ref()
                    .is_none_or(|m| continuation_possible(m, sink, &rest_of_line(&held)));
                if possible {
                    // Still ambiguous: our position stays, and what was seen past it may be lost.
                    tally.pending_gap = true;
                    tally.skipped += held_bytes as u64;
                } else {
                    self.replay(held, sink);
                }
            }
            _ => {}
        }
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
                    self.line_start(&mut read, ts, sink, tally);
                }
                Step::Invalid { used } => {
                    rest = &rest[used..];
                    let pending = self.parser.pending().to_vec();
                    self.parser.clear();
                    if read.at == At::Leading {
                        self.leading_tail(&mut read, &pending, sink, tally);
                    } else {
                        tally.malformed += 1;
                        tally.pending_gap = true;
                        tally.skipped += pending.len() as u64;
                        read.flow = Flow::Ignoring;
                    }
                }
            }
        }
        if matches!(read.flow, Flow::Ignoring) {
            tally.skipped += rest.len() as u64;
        }
        self.read = Some(read);
    }

    /// The response starts prefix-less: the tail of a line that started before `sinceTime`.
    fn leading_tail(&mut self, read: &mut Read, first: &[u8], sink: &mut Sink, tally: &mut Tally) {
        read.at = At::InLine;
        if let Flow::Searching { plain, .. } = &mut read.flow {
            plain.skipping = true;
        }
        if self.mark.is_none() && !self.missed_start {
            self.missed_start = true;
            tally.gaps += 1;
        }
        let mut left = first;
        while !left.is_empty() {
            let used = self.content(read, left, sink, tally);
            left = &left[used..];
        }
    }

    fn line_start(&mut self, read: &mut Read, ts: Nanos, sink: &mut Sink, tally: &mut Tally) {
        let first_line = read.at == At::Leading;
        read.at = At::InLine;
        if let Flow::Overlap { ts: first_ts, held, ours, ended: true } = &mut read.flow {
            let (first_ts, ours, held) = (*first_ts, *ours, std::mem::take(held));
            if ts < first_ts {
                // Time went back: the first line was the prefix-less tail of an older line.
                tally.duplicate += held.len() as u64;
                read.flow = Flow::Searching { plain: Reading::new(false), continued: None };
            } else {
                read.flow = Flow::Live;
                self.commit_overlap_line(first_ts, sink, tally);
                self.take_new_part(&held, ours, sink, tally);
                self.take_line_start(ts, sink);
                return;
            }
        }
        if let Flow::Undecided { continued, held, .. } = &mut read.flow {
            let mark = self.mark.as_ref().expect("undecided needs a mark");
            if continued.lines == 0 && ts < mark.ts {
                continued.skipping = true;
            } else if ts == mark.ts {
                continued.lines += 1;
            } else {
                continued.alive = false;
            }
            held.push(Held::LineStart(ts));
            self.decide(read, sink, tally);
            return;
        }
        let Flow::Searching { plain, continued } = &mut read.flow else {
            self.take_line_start(ts, sink);
            return;
        };
        let Some(mark) = &self.mark else {
            read.flow = Flow::Live;
            self.take_line_start(ts, sink);
            return;
        };
        if first_line && ts == mark.ts {
            *continued = Some(Reading::new(true));
        }
        for reading in std::iter::once(plain).chain(continued.iter_mut()) {
            if reading.skipping {
                continue; // the continuation reading's first line
            }
            if reading.lines == 0 && ts < mark.ts {
                reading.skipping = true;
            } else if ts == mark.ts {
                reading.lines += 1;
            } else {
                reading.alive = false;
            }
        }
        if first_line && ts > mark.ts {
            // The response starts after our position. Its first line may continue the line
            // taken last (see `Flow::Overlap`).
            read.flow = Flow::Overlap { ts, held: Vec::new(), ours: mark.line_from, ended: false };
            return;
        }
        if self.settle(read, sink, tally) || !matches!(read.flow, Flow::Live) {
            return;
        }
        // Every reading failed at this line start: the response is past our position.
        self.take_line_start(ts, sink);
    }

    /// Resolves an undecided response once one reading is ruled out.
    fn decide(&mut self, read: &mut Read, sink: &mut Sink, tally: &mut Tally) {
        let Flow::Undecided { continued, held, held_bytes, checked_at } = &mut read.flow else {
            return;
        };
        let mark = self.mark.as_ref().expect("undecided needs a mark");
        // Whether the continuation is possible can only turn from true to false as the held line
        // grows, and evaluating it costs O(line before + held). Evaluated on every push, a
        // response fed byte by byte would cost quadratic time, so between decisive moments it is
        // re-evaluated only when the held bytes have doubled: a verdict may come later (more is
        // held, then replayed), never differently.
        let continued_verdict = continued.alive.then(|| continued.verdict(mark)).flatten();
        let decisive =
            !continued.alive || continued_verdict.is_some() || *held_bytes > OVERLAP_HOLD_MAX;
        if !decisive && *held_bytes < checked_at.saturating_mul(2) {
            return;
        }
        *checked_at = *held_bytes;
        let verdict = if !continued.alive || !continuation_possible(mark, sink, &rest_of_line(held))
        {
            Some(false)
        } else {
            match continued_verdict {
                Some(true) if continued_implausible(continued, mark, sink) => Some(false),
                verdict => verdict,
            }
        };
        match verdict {
            Some(false) => {
                // Only the plain reading fits: everything held is new.
                let held = std::mem::take(held);
                read.flow = Flow::Live;
                self.replay(held, sink);
            }
            Some(true) => {
                // Both fit: go on from the later position, so nothing repeats, and count what
                // the plain reading would have taken as possibly lost. Either way, later reads
                // of this file serve the group as the plain reading saw it: the mark follows it.
                tally.gaps += 1;
                let held = std::mem::take(held);
                read.flow = Flow::Live;
                for h in held {
                    match h {
                        Held::LineStart(ts) => self.take_line_start(ts, sink),
                        Held::Bytes(b) => self.count_skipped(&b, tally),
                    }
                }
            }
            None if *held_bytes > OVERLAP_HOLD_MAX => {
                // Too long to wait for: keep our position, use nothing more of this response.
                tally.pending_gap = true;
                tally.skipped += *held_bytes as u64;
                read.flow = Flow::Ignoring;
            }
            None => {}
        }
    }

    fn replay(&mut self, held: Vec<Held>, sink: &mut Sink) {
        for h in held {
            match h {
                Held::LineStart(ts) => self.take_line_start(ts, sink),
                Held::Bytes(b) => self.take_live(&b, sink),
            }
        }
    }

    /// Takes bytes inside the current line.
    fn take_live(&mut self, bytes: &[u8], sink: &mut Sink) {
        sink.take(bytes);
        if let Some(mark) = &mut self.mark {
            mark.bytes += bytes.len() as u64;
            mark.sum.update(bytes);
        }
    }

    fn take_line_start(&mut self, ts: Nanos, sink: &Sink) {
        match &mut self.mark {
            Some(mark) if mark.ts == ts => {
                mark.lines += 1;
                mark.line_from = line_from(sink);
            }
            _ => self.mark = Some(Mark::new(ts, sink, self.mark.take())),
        }
    }

    /// The response past our position is now certain: a rotation, and its first line is the
    /// new last line.
    fn commit_overlap_line(&mut self, ts: Nanos, sink: &Sink, tally: &mut Tally) {
        tally.rotation();
        self.take_line_start(ts, sink);
    }

    /// Line bytes seen but deliberately not taken still belong to the mark's group.
    fn count_skipped(&mut self, bytes: &[u8], tally: &mut Tally) {
        tally.skipped += bytes.len() as u64;
        if let Some(mark) = &mut self.mark {
            mark.bytes += bytes.len() as u64;
            mark.sum.update(bytes);
        }
    }

    /// How many of the first bytes of `held` may repeat the end of the line taken before it.
    fn repeated_len(&self, held: &[u8], ours: Option<usize>, sink: &Sink) -> usize {
        match ours {
            Some(from) if from <= sink.len() => {
                let line = &sink.bytes()[from..];
                if memchr::memmem::find(line, held).is_some() {
                    held.len()
                } else {
                    overlap(line, held)
                }
            }
            // Unknown or past the cap: nothing can be kept anyway, count it all as seen.
            _ => 0,
        }
    }

    /// Takes the part of a response's first line that cannot have been taken before.
    ///
    /// If the line continues the line taken last (stdout from `ours` on), that line's taken
    /// bytes end with some prefix of it: all of `held` if `held` occurs in them (a follow
    /// stream took more of the continuation than this response served), else their longest
    /// suffix that is a prefix of `held`. When in doubt this skips more, never repeats: a real
    /// new line loses at most the bytes that coincide, and the read already counts a gap.
    fn take_new_part(
        &mut self,
        held: &[u8],
        ours: Option<usize>,
        sink: &mut Sink,
        tally: &mut Tally,
    ) {
        let repeated = self.repeated_len(held, ours, sink);
        tally.duplicate += repeated as u64;
        sink.take(&held[repeated..]);
        if let Some(mark) = &mut self.mark {
            mark.bytes += held.len() as u64;
            mark.sum.update(held);
        }
    }

    /// Decides a searching response after its readings moved: `true` if it re-served the
    /// mark (now live), otherwise live-with-a-gap if no reading is left, else still searching.
    fn settle(&mut self, read: &mut Read, sink: &Sink, tally: &mut Tally) -> bool {
        let Flow::Searching { plain, continued } = &mut read.flow else { return false };
        let Some(mark) = &mut self.mark else { return false };
        let mut matched = false;
        for reading in std::iter::once(&mut *plain).chain(continued.iter_mut()) {
            if reading.alive {
                match reading.verdict(mark) {
                    Some(true) if continued_implausible(reading, mark, sink) => {
                        reading.alive = false
                    }
                    Some(true) => matched = true,
                    Some(false) => reading.alive = false,
                    None => {}
                }
            }
        }
        if matched
            && plain.alive
            && plain.verdict(mark) == Some(true)
            && continuation_possible(mark, sink, &[])
            && let Some(c) = continued.as_ref().filter(|c| c.alive && c.verdict(mark).is_none())
        {
            read.flow = Flow::Undecided {
                continued: c.clone(),
                held: Vec::new(),
                held_bytes: 0,
                checked_at: 0,
            };
            return true;
        }
        if matched {
            tally.pending_gap = false;
            read.flow = Flow::Live;
            return true;
        }
        if plain.alive || continued.as_ref().is_some_and(|r| r.alive) {
            return false;
        }
        // Same time, other bytes (or more lines): another file. Going on from here, this
        // response's view of the group becomes the mark — also when this is decided at a line
        // start, or the next read of this file would differ from the mark again and repeat
        // what is taken now. (The plain reading counts every byte of the group, even dead.)
        tally.rotation();
        if plain.lines > 0 {
            *mark = Mark {
                ts: mark.ts,
                lines: plain.lines,
                bytes: plain.bytes,
                sum: plain.sum.clone(),
                line_from: line_from(sink),
                group_from: None,
                before_from: None,
            };
        }
        read.flow = Flow::Live;
        false
    }

    /// Handles line content at the start of `bytes`; returns how many bytes were used.
    fn content(
        &mut self,
        read: &mut Read,
        bytes: &[u8],
        sink: &mut Sink,
        tally: &mut Tally,
    ) -> usize {
        let line_len = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |i| i + 1);
        let mut span = &bytes[..line_len];
        let ends_line = span.last() == Some(&b'\n');
        match &mut read.flow {
            Flow::Ignoring => tally.skipped += span.len() as u64,
            Flow::SkipLine => {
                self.count_skipped(span, tally);
                if ends_line {
                    read.flow = Flow::Live;
                }
            }
            Flow::Overlap { ts, held, ended, .. } => {
                let ts = *ts;
                debug_assert!(!*ended, "an ended overlap line is followed by a line start");
                if held.len() + span.len() > OVERLAP_HOLD_MAX {
                    // Too long to compare: skip the line rather than risk repeating bytes.
                    let held = std::mem::take(held);
                    read.flow = if ends_line { Flow::Live } else { Flow::SkipLine };
                    self.commit_overlap_line(ts, sink, tally);
                    self.count_skipped(&held, tally);
                    self.count_skipped(span, tally);
                } else {
                    held.extend_from_slice(span);
                    *ended = ends_line;
                }
            }
            Flow::Live => self.take_live(span, sink),
            Flow::Undecided { continued, held, held_bytes, .. } => {
                let mark = self.mark.as_ref().expect("undecided needs a mark");
                if !continued.skipping && continued.lines == mark.lines {
                    let room = mark.bytes.saturating_sub(continued.bytes) as usize;
                    span = &span[..span.len().min(room.max(1))];
                }
                let ends_line = span.last() == Some(&b'\n');
                if continued.skipping {
                    continued.keep_skipped(span);
                    continued.skipping = !ends_line;
                } else {
                    continued.bytes += span.len() as u64;
                    continued.sum.update(span);
                }
                // One entry per run of bytes, however finely the response is split.
                match held.last_mut() {
                    Some(Held::Bytes(bytes)) => bytes.extend_from_slice(span),
                    _ => held.push(Held::Bytes(span.to_vec())),
                }
                *held_bytes += span.len();
                if ends_line {
                    read.at = At::LineStart;
                }
                self.decide(read, sink, tally);
                return span.len();
            }
            Flow::Searching { plain, continued } => {
                if let Some(mark) = &self.mark {
                    for reading in std::iter::once(&*plain).chain(continued.iter()) {
                        if reading.alive && !reading.skipping && reading.lines == mark.lines {
                            let room = mark.bytes.saturating_sub(reading.bytes) as usize;
                            span = &span[..span.len().min(room.max(1))];
                        }
                    }
                }
                let ends_line = span.last() == Some(&b'\n');
                // Not taken: a re-serve of what was taken (the mark's group, or older lines),
                // or, before the first line was taken, the tail of a line whose start was missed.
                if self.mark.is_some() {
                    tally.duplicate += span.len() as u64;
                } else {
                    tally.skipped += span.len() as u64;
                }
                for reading in std::iter::once(plain).chain(continued.iter_mut()) {
                    if reading.skipping {
                        reading.keep_skipped(span);
                        reading.skipping = !ends_line;
                    } else {
                        reading.bytes += span.len() as u64;
                        reading.sum.update(span);
                    }
                }
                if ends_line {
                    read.at = At::LineStart;
                }
                self.settle(read, sink, tally);
                return span.len();
            }
        }
        if span.last() == Some(&b'\n') {
            read.at = At::LineStart;
        }
        span.len()
    }
}

/// Whether a response's first line `F` can be the continuation of the line taken just before
/// the mark's group, shown with a prefix because the response starts at a rotated file's
/// first record. `F` starts with the group's bytes taken (if the plain reading is right, it
/// *is* the group's first line) and goes on with `more`.
///
/// If it were that continuation, the line before the group in stdout would end with `F` and
/// be longer (its earlier records hold at least one byte each). Unknown positions answer yes:
/// the careful answer, as repeating bytes is worse than missing some. Once stdout is full,
/// neither can change it and the answer is no, so that no gap is reported for nothing; at
/// worst `total_bytes` then counts a repeated line past the cap.
fn continuation_possible(mark: &Mark, sink: &Sink, more: &[u8]) -> bool {
    if sink.is_full() {
        return false;
    }
    let Some(group_from) = mark.group_from else { return true };
    let Some(before_from) = mark.before_from else { return false }; // nothing before the group
    let out = sink.bytes();
    if before_from >= group_from || group_from > out.len() {
        return true;
    }
    let (before, group) = (&out[before_from..group_from], &out[group_from..]);
    let first_line = match memchr::memchr(b'\n', group) {
        Some(i) => group[..=i].to_vec(),
        None => {
            let more = memchr::memchr(b'\n', more).map_or(more, |i| &more[..=i]);
            [group, more].concat()
        }
    };
    if before.len() <= first_line.len() {
        return false;
    }
    if first_line.last() == Some(&b'\n') {
        before.ends_with(&first_line)
    } else {
        memchr::memmem::find(&before[..before.len() - 1], &first_line).is_some()
    }
}

/// Whether a continuation reading's match is impossible: the first line it skipped must be the
/// end of the line taken before the mark's group, and that line must be longer (its earlier
/// records hold a byte each at least). With no line before the group it is impossible; a
/// plain reading, past the cap or with a skipped line too long to keep, is not ruled out.
fn continued_implausible(reading: &Reading, mark: &Mark, sink: &Sink) -> bool {
    let Some(skipped) = reading.skipped.as_deref() else { return false };
    if sink.is_full() {
        return false;
    }
    let Some(group_from) = mark.group_from else { return false };
    let Some(before_from) = mark.before_from else { return true };
    let out = sink.bytes();
    if before_from >= group_from || group_from > out.len() {
        return false;
    }
    let before = &out[before_from..group_from];
    !(before.len() > skipped.len() && before.ends_with(skipped))
}

/// Length of the longest suffix of `ours` that is a prefix of `theirs` (prefix function over
/// `theirs`, then run over the end of `ours`: linear time).
fn overlap(ours: &[u8], theirs: &[u8]) -> usize {
    if ours.is_empty() || theirs.is_empty() {
        return 0;
    }
    let mut fail = vec![0usize; theirs.len()];
    let mut k = 0;
    for i in 1..theirs.len() {
        while k > 0 && theirs[i] != theirs[k] {
            k = fail[k - 1];
        }
        if theirs[i] == theirs[k] {
            k += 1;
        }
        fail[i] = k;
    }
    let start = ours.len().saturating_sub(theirs.len());
    let mut k = 0;
    for &b in &ours[start..] {
        while k > 0 && (k == theirs.len() || b != theirs[k]) {
            k = fail[k - 1];
        }
        if b == theirs[k] {
            k += 1;
        }
    }
    k
}

#[cfg(test)]
mod tests {
    use super::overlap;

    #[test]
    fn overlap_is_the_longest_suffix_prefix() {
        assert_eq!(overlap(b"hello wor", b"world\n"), 3);
        assert_eq!(overlap(b"aaa", b"a"), 1);
        assert_eq!(overlap(b"abab", b"abab\n"), 4);
        assert_eq!(overlap(b"xyz\n", b"\n"), 1);
        assert_eq!(overlap(b"xyz", b"abc"), 0);
        assert_eq!(overlap(b"aab", b"aabx"), 3);
        assert_eq!(overlap(b"", b"a"), 0);
    }
}
