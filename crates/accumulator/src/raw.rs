//! Raw mode: every read is a snapshot of the current log file from its first byte
//! (`GET .../log?container=runner[&limitBytes=N]`, no timestamps).
//!
//! A file only grows until it is rotated, so a read either re-serves the bytes already
//! consumed and maybe more (same file), or is a different file. Telling the two apart by
//! length alone misses a new file that has already grown past the old offset (W1), so the
//! already-consumed region of every read is checked against a [`Fingerprint`] of the file:
//! its first 4 KiB, 64-byte samples at 8 KiB, 16 KiB, 32 KiB, … and the last 4 KiB consumed.
//! The check costs O(1) per read, whatever the snapshot size; only new bytes cost O(n).
//!
//! Blind spot: a new file that is byte-identical to the old one over every checked window
//! (for instance a program printing one constant line forever, rotated on a line boundary)
//! cannot be told apart by content; timestamped mode has no such blind spot.

use std::mem::MaybeUninit;

use crate::sink::Sink;
use crate::tally::Tally;

const HEAD_LEN: usize = 4096;
const TAIL_LEN: usize = 4096;
const SAMPLE_LEN: usize = 64;
const FIRST_SAMPLE_AT: u64 = 8192;
/// How much of a read's re-served prefix is kept in case it turns out to be a new file.
const HOLD_MAX: usize = 64 * 1024;

/// Byte ranges of a file that raw mode re-checks on every read, for a file consumed up to
/// `consumed` bytes. Public so that tests can tell the documented blind spot from a bug.
pub fn checked_ranges(consumed: u64) -> Vec<std::ops::Range<u64>> {
    let head = 0..consumed.min(HEAD_LEN as u64);
    let mut ranges = Vec::new();
    ranges.push(head);
    let mut at = FIRST_SAMPLE_AT;
    while at < consumed {
        ranges.push(at..(at + SAMPLE_LEN as u64).min(consumed));
        at *= 2;
    }
    ranges.push(consumed.saturating_sub(TAIL_LEN as u64)..consumed);
    ranges
}

/// What raw mode remembers of the current file to recognise it on the next read.
#[derive(Debug, Clone, Default)]
struct Fingerprint {
    head: Vec<u8>,
    samples: Vec<(u64, Vec<u8>)>,
    next_sample: u64,
    tail: Vec<u8>,
    tail_end: u64,
}

impl Fingerprint {
    fn new() -> Self {
        Self { next_sample: FIRST_SAMPLE_AT, ..Self::default() }
    }

    /// Remembers bytes taken at file offset `at`.
    fn record(&mut self, at: u64, bytes: &[u8]) {
        let end = at + bytes.len() as u64;
        if at == self.head.len() as u64 && self.head.len() < HEAD_LEN {
            let n = (HEAD_LEN - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..n]);
        }
        if let Some((start, sample)) = self.samples.last_mut() {
            let filled = *start + sample.len() as u64;
            if sample.len() < SAMPLE_LEN && filled == at {
                let n = (SAMPLE_LEN - sample.len()).min(bytes.len());
                sample.extend_from_slice(&bytes[..n]);
            }
        }
        while self.next_sample < end {
            if self.next_sample >= at {
                let from = (self.next_sample - at) as usize;
                let n = SAMPLE_LEN.min(bytes.len() - from);
                self.samples.push((self.next_sample, bytes[from..from + n].to_vec()));
            }
            self.next_sample = self.next_sample.saturating_mul(2);
        }
        if at != self.tail_end {
            self.tail.clear();
        }
        if bytes.len() >= TAIL_LEN {
            self.tail.clear();
            self.tail.extend_from_slice(&bytes[bytes.len() - TAIL_LEN..]);
        } else {
            self.tail.extend_from_slice(bytes);
            if self.tail.len() > 2 * TAIL_LEN {
                self.tail.drain(..self.tail.len() - TAIL_LEN);
            }
        }
        self.tail_end = end;
    }

    /// Whether any recorded window overlaps the file range `at..end`.
    fn meets(&self, at: u64, end: u64) -> bool {
        let tail_start = self.tail_end - self.tail.len() as u64;
        let first = self.samples.partition_point(|(o, s)| o + s.len() as u64 <= at);
        at < self.head.len() as u64
            || (tail_start < end && at < self.tail_end)
            || self.samples.get(first).is_some_and(|(o, _)| *o < end)
    }

    /// Where the first recorded window at or after file offset `at` begins (`at` itself when
    /// `at` is inside one): [`meets`](Self::meets) is false for `at..end` exactly when `end` is
    /// at most this (and `at` is not inside the head).
    fn unchecked_from(&self, at: u64) -> u64 {
        if at < self.head.len() as u64 {
            return at;
        }
        let mut limit = u64::MAX;
        if at < self.tail_end {
            limit = self.tail_end - self.tail.len() as u64;
        }
        let first = self.samples.partition_point(|(o, s)| o + s.len() as u64 <= at);
        if let Some((o, _)) = self.samples.get(first) {
            limit = limit.min(*o);
        }
        limit.max(at)
    }

    /// Index in `bytes` (found at file offset `at`) of the first byte that contradicts what
    /// was recorded, if any.
    fn first_mismatch(&self, at: u64, bytes: &[u8]) -> Option<usize> {
        let tail_start = self.tail_end - self.tail.len() as u64;
        // Samples are recorded in offset order and never overlap, so only a run of them can
        // meet `bytes`: find it by bisection instead of visiting every sample. A poll pushes
        // many chunks of an already-consumed file, and this keeps each of them O(1).
        let end = at + bytes.len() as u64;
        let first = self.samples.partition_point(|(o, s)| o + s.len() as u64 <= at);
        let samples = self.samples[first..].iter().take_while(|(o, _)| *o < end);
        std::iter::once((0, self.head.as_slice()))
            .chain(samples.map(|(o, s)| (*o, s.as_slice())))
            .chain(std::iter::once((tail_start, self.tail.as_slice())))
            .filter_map(|(offset, window)| mismatch_in(offset, window, at, bytes))
            .min()
    }
}

/// First index of `bytes` (at offset `at`) that differs from `window` (at offset `offset`).
fn mismatch_in(offset: u64, window: &[u8], at: u64, bytes: &[u8]) -> Option<usize> {
    let start = offset.max(at);
    let end = (offset + window.len() as u64).min(at + bytes.len() as u64);
    if start >= end {
        return None;
    }
    let ours = &window[(start - offset) as usize..(end - offset) as usize];
    let theirs = &bytes[(start - at) as usize..(end - at) as usize];
    if same_bytes(ours, theirs) {
        return None;
    }
    let k = ours.iter().zip(theirs).position(|(a, b)| a != b)?;
    Some((start - at) as usize + k)
}

/// `a == b`. On wasm32 a slice comparison is a call to the byte-at-a-time `memcmp` of the
/// compiler's builtins, which made up an eighth of a raw poll's time there (a poll compares up to
/// 8 KiB); comparing a word at a time makes that a fraction. Natively `==` is the C library's
/// vectorised `memcmp`, which is faster still.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if cfg!(target_arch = "wasm32") { same_by_words(a, b) } else { a == b }
}

/// `a == b`, compared eight bytes at a time.
fn same_by_words(a: &[u8], b: &[u8]) -> bool {
    fn word(bytes: &[u8]) -> u64 {
        let mut word = [0; 8];
        word.copy_from_slice(bytes);
        u64::from_ne_bytes(word)
    }
    let (ours, theirs) = (a.chunks_exact(8), b.chunks_exact(8));
    a.len() == b.len()
        && ours.remainder() == theirs.remainder()
        && ours.zip(theirs).all(|(x, y)| word(x) == word(y))
}

/// One response being read.
#[derive(Debug, Clone)]
struct Read {
    /// Bytes of the response seen so far.
    pos: u64,
    /// Up to here the response re-serves bytes already consumed and is only checked.
    verify_end: u64,
    /// The response's first bytes, kept until it is known to be the same file.
    hold: Vec<u8>,
    hold_limit: usize,
    /// A new file was found but its start could not be kept: the rest waits for the next read.
    ignoring: bool,
}

impl Read {
    /// Whether the read's next bytes still go to the hold (everything so far was held, and the
    /// hold has room).
    fn holding(&self) -> bool {
        self.hold.len() as u64 == self.pos && self.hold.len() < self.hold_limit
    }
}

/// What raw mode keeps between reads: a fingerprint of the current file, how much of it was
/// taken, and the open read.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    print: Fingerprint,
    /// Bytes of the current file taken (or counted, past the cap), contiguously from 0.
    consumed: u64,
    read: Option<Read>,
    skipped: u64,
    /// The last read's hold, emptied and kept for the next read: see [`Raw::begin`].
    spare_hold: Vec<u8>,
}

impl Raw {
    pub(crate) fn new() -> Self {
        Self {
            print: Fingerprint::new(),
            consumed: 0,
            read: None,
            skipped: 0,
            spare_hold: Vec::new(),
        }
    }

    /// Heap bytes held: the fingerprint and the hold (the open read's, or the one kept for the
    /// next read).
    pub(crate) fn retained_bytes(&self) -> usize {
        let print = &self.print;
        let samples: usize = print.samples.iter().map(|(_, s)| s.capacity()).sum();
        let samples = samples + print.samples.capacity() * std::mem::size_of::<(u64, Vec<u8>)>();
        let hold = self.read.as_ref().map_or(0, |r| r.hold.capacity()) + self.spare_hold.capacity();
        print.head.capacity() + print.tail.capacity() + samples + hold
    }

    /// Opens a read. Its hold is allocated here, at its size, once per accumulator: every
    /// read after the first reuses the one before's (only a hold limit changed by a nearly full
    /// stdout allocates again). One allocation rather than one per poll, and made before stdout
    /// grows, so that none of the accumulator's own allocations lands right after the stdout
    /// buffer while it grows and makes its next growth step move it (in Node's shared heap a
    /// hold allocated per poll did that: 9 MiB of copies in a 16-poll read of 16 MiB, see
    /// BENCHMARKS.md).
    pub(crate) fn begin(&mut self, sink: &Sink) {
        let hold_limit = hold_limit(sink);
        let mut hold = std::mem::take(&mut self.spare_hold);
        hold.clear();
        if hold.capacity() != hold_limit {
            hold = Vec::with_capacity(hold_limit);
        }
        self.read =
            Some(Read { pos: 0, verify_end: self.consumed, hold, hold_limit, ignoring: false });
    }

    /// Moves past the next `len` bytes of the read if nothing would look at them: re-served
    /// consumed bytes that no window checks and that the hold no longer takes (most chunks of
    /// a poll), or the rest of a response being ignored.
    /// Content bytes of reads that were not used because the read had lost its place in a new
    /// file (the rest of such a read); see [`crate::ByteCounts::skipped`].
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Bytes from the read's position up to the length consumed (0 without a read, or while
    /// the rest of the response is ignored).
    pub(crate) fn rechecked_ahead(&self) -> u64 {
        match &self.read {
            Some(read) if !read.ignoring => read.verify_end.saturating_sub(read.pos),
            _ => 0,
        }
    }

    /// Whether the open read has reached the length consumed (what it serves next is new), and
    /// is not ignoring the rest of its response.
    pub(crate) fn caught_up(&self) -> bool {
        matches!(&self.read, Some(read) if !read.ignoring && read.pos >= read.verify_end)
    }

    pub(crate) fn try_skip(&mut self, len: u64) -> bool {
        let Some(read) = &mut self.read else { return false };
        // A length no response can have is simply not skipped.
        let Some(end) = read.pos.checked_add(len) else { return false };
        let unseen = read.ignoring
            || (end <= read.verify_end && !read.holding() && !self.print.meets(read.pos, end));
        if unseen {
            if read.ignoring {
                self.skipped += len;
            }
            read.pos = end;
        }
        unseen
    }

    /// How many of the read's next bytes [`try_skip`](Self::try_skip) passes over, in one call
    /// or in any number of smaller ones: up to the first checked window, the end of the hold or
    /// the length consumed, whichever comes first; everything (short of overflowing the read's
    /// position) while the rest of the response is ignored; 0 without a read.
    pub(crate) fn skippable_ahead(&self) -> u64 {
        let Some(read) = &self.read else { return 0 };
        if read.ignoring {
            return u64::MAX - read.pos;
        }
        if read.holding() {
            return 0;
        }
        self.print.unchecked_from(read.pos).min(read.verify_end).saturating_sub(read.pos)
    }

    pub(crate) fn push(&mut self, chunk: &[u8], sink: &mut Sink, tally: &mut Tally) {
        if self.try_skip(chunk.len() as u64) {
            return;
        }
        let Some(mut read) = self.read.take() else { return };
        let chunk_start = read.pos;
        let was_ignoring = read.ignoring;
        let mut i = 0;
        while i < chunk.len() && !read.ignoring {
            if read.pos < read.verify_end {
                let n = (chunk.len() - i).min((read.verify_end - read.pos) as usize);
                let part = &chunk[i..i + n];
                let ok = self.print.first_mismatch(read.pos, part).unwrap_or(n);
                hold(&mut read, &part[..ok]);
                read.pos += ok as u64;
                i += ok;
                if ok < n {
                    i = self.switch_to_new_file(&mut read, chunk_start, sink, tally) as usize;
                }
            } else {
                let part = &chunk[i..];
                self.take(part, sink, tally);
                read.pos += part.len() as u64;
                i = chunk.len();
            }
        }
        if read.ignoring {
            if !was_ignoring {
                // Nothing of this chunk was held (the hold ended before it): none of it is used.
                self.skipped += chunk.len() as u64;
            }
            read.pos = chunk_start + chunk.len() as u64;
        }
        self.read = Some(read);
    }

    /// Ends the read. A complete response shorter than what was consumed is a new file.
    pub(crate) fn end(&mut self, complete: bool, sink: &mut Sink, tally: &mut Tally) {
        let Some(mut read) = self.read.take() else { return };
        if complete && !read.ignoring && read.pos < read.verify_end {
            let end = read.pos;
            self.switch_to_new_file(&mut read, end, sink, tally);
        }
        // Kept only at the size the next read's hold will have (a stdout that filled up to
        // within 64 KiB of its cap asks for a smaller one).
        if read.hold.capacity() == hold_limit(sink) {
            self.spare_hold = read.hold;
        }
    }

    fn take(&mut self, bytes: &[u8], sink: &mut Sink, tally: &mut Tally) {
        if bytes.is_empty() {
            return;
        }
        sink.take(bytes);
        self.taken(bytes, tally);
    }

    /// Remembers bytes just taken from the current file.
    fn taken(&mut self, bytes: &[u8], tally: &mut Tally) {
        self.print.record(self.consumed, bytes);
        self.consumed += bytes.len() as u64;
        tally.pending_gap = false;
    }

    /// Takes the read's next `len` bytes by letting `fill` write them straight into stdout
    /// (see [`Sink::fill_in_place`]), when pushing them would take them all as they are: the
    /// read serves bytes past those consumed, is not ignoring its response, and stdout has room
    /// for all of them. Returns `false` and changes nothing otherwise.
    pub(crate) fn take_in_place<F>(
        &mut self,
        len: usize,
        sink: &mut Sink,
        tally: &mut Tally,
        fill: F,
    ) -> bool
    where
        F: FnOnce(&mut [MaybeUninit<u8>]) -> &mut [u8],
    {
        let Some(read) = &self.read else { return false };
        if read.ignoring || read.pos < read.verify_end || len > sink.remaining() {
            return false;
        }
        if len == 0 {
            return true;
        }
        if !sink.fill_in_place(len, fill) {
            return false;
        }
        let kept = sink.len() - len;
        self.taken(&sink.bytes()[kept..], tally);
        if let Some(read) = &mut self.read {
            read.pos += len as u64;
        }
        true
    }

    /// The response is a different file than the one consumed so far. Takes the new file's
    /// first bytes from the hold and returns the response offset where taking continues
    /// within the current chunk (which starts at response offset `chunk_start`).
    fn switch_to_new_file(
        &mut self,
        read: &mut Read,
        chunk_start: u64,
        sink: &mut Sink,
        tally: &mut Tally,
    ) -> u64 {
        tally.rotation();
        self.print = Fingerprint::new();
        self.consumed = 0;
        let held = std::mem::take(&mut read.hold);
        self.take(&held, sink, tally);
        read.verify_end = 0;
        let held_len = held.len() as u64;
        if held_len >= chunk_start {
            // Everything before this chunk was held: continue seamlessly inside the chunk.
            read.pos = held_len;
            return held_len - chunk_start;
        }
        if sink.is_full() {
            // Nothing more can be kept anyway: count the bytes skipped and go on from here.
            let skipped = chunk_start - held_len;
            sink.count_only(skipped);
            self.consumed = chunk_start;
            read.pos = chunk_start;
            return 0;
        }
        // Bytes [held_len, chunk_start) of the new file are gone from this response; the next
        // read re-serves them. Until then they count as a possible loss.
        read.ignoring = true;
        tally.pending_gap = true;
        self.skipped += chunk_start - held_len;
        0
    }
}

/// The size of a read's hold, given what stdout can still take.
fn hold_limit(sink: &Sink) -> usize {
    HEAD_LEN.max(HOLD_MAX.min(sink.remaining()))
}

fn hold(read: &mut Read, verified: &[u8]) {
    if read.hold.len() as u64 == read.pos && read.hold.len() < read.hold_limit {
        // `begin` allocated the hold at `hold_limit`, so this never reallocates.
        let n = (read.hold_limit - read.hold.len()).min(verified.len());
        read.hold.extend_from_slice(&verified[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::same_by_words;
    use proptest::prelude::*;

    proptest! {
        /// The word-at-a-time comparison (what wasm32 uses) agrees with `==`, for equal slices,
        /// slices differing in one byte anywhere (a word, the remainder), and other lengths.
        #[test]
        fn same_by_words_is_slice_equality(
            a in proptest::collection::vec(any::<u8>(), 0..80),
            flip in any::<prop::sample::Index>(),
            by in 1..=255u8,
            other_len in 0..80usize,
        ) {
            prop_assert!(same_by_words(&a, &a));
            if !a.is_empty() {
                let mut b = a.clone();
                b[flip.index(a.len())] ^= by;
                prop_assert!(!same_by_words(&a, &b));
            }
            let c = &a[..other_len.min(a.len())];
            prop_assert_eq!(same_by_words(&a, c), a.as_slice() == c);
        }
    }
}
