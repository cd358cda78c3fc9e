//! How the kubelet turns CRI records into a `pods/log` response body.

use crate::record::{RecordRef, Tag};
use crate::timestamp::{Timestamp, TimestampCache};

/// Query options of a `pods/log` read that shape the body (`follow` is modelled by
/// [`crate::FollowCursor`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// `timestamps=true`: put the record's time (30 bytes) and a space before each record that starts a
    /// line — precisely, before a record when the previous record handled by this read ended a line (the
    /// read starts as if one had).
    pub timestamps: bool,
    /// Skip records whose time is before this. The apiserver only passes whole seconds (`sinceTime`);
    /// `sinceSeconds` becomes `now - seconds` at full precision. Skipped records still update the
    /// "previous record ended a line" state, so a response can start with the prefix-less tail of a line.
    pub since_time: Option<Timestamp>,
    /// Start at the last `tail_lines` lines of the file. Like the kubelet, this counts lines of the CRI file,
    /// i.e. records: the `P` pieces of a long line count one each.
    pub tail_lines: Option<u64>,
    /// Stop after this many output bytes (timestamps included), wherever that falls.
    pub limit_bytes: Option<u64>,
}

/// The per-read state of the kubelet's log writer.
#[derive(Clone, Debug)]
pub(crate) struct Renderer {
    timestamps: bool,
    since: Option<Timestamp>,
    previous_ended_line: bool,
    remaining: Option<u64>,
    time_text: TimestampCache,
}

impl Renderer {
    pub(crate) fn new(options: &ReadOptions) -> Self {
        Renderer {
            timestamps: options.timestamps,
            since: options.since_time,
            previous_ended_line: true,
            remaining: options.limit_bytes,
            time_text: TimestampCache::default(),
        }
    }

    /// True once `limit_bytes` bytes have been produced: the read is over.
    pub(crate) fn exhausted(&self) -> bool {
        self.remaining == Some(0)
    }

    /// Handles one record, appending what the response gets for it to `out`.
    pub(crate) fn render(&mut self, record: RecordRef<'_>, out: &mut Vec<u8>) {
        if self.exhausted() {
            return;
        }
        let starts_line = self.previous_ended_line;
        // The state follows the record even when the record is filtered out. An empty piece (never written
        // by the runtimes) is treated as not changing it.
        match record.tag {
            Tag::Full => self.previous_ended_line = true,
            Tag::Partial if !record.content.is_empty() => self.previous_ended_line = false,
            Tag::Partial => {}
        }
        if self.since.is_some_and(|since| record.time < since) {
            return;
        }
        let newline: &[u8] = if record.tag == Tag::Full { b"\n" } else { b"" };
        if self.timestamps && starts_line {
            let prefix = *self.time_text.render(record.time);
            self.emit(&prefix, out);
            self.emit(b" ", out);
        }
        self.emit(record.content, out);
        self.emit(newline, out);
    }

    fn emit(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        match &mut self.remaining {
            None => out.extend_from_slice(bytes),
            Some(remaining) => {
                let take = bytes.len().min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                out.extend_from_slice(&bytes[..take]);
                *remaining -= take as u64;
            }
        }
    }
}

/// Index of the first record of the last `tail_lines` records of a file holding `len` records.
pub(crate) fn tail_start(len: usize, tail_lines: Option<u64>) -> usize {
    match tail_lines {
        None => 0,
        Some(n) => len - usize::try_from(n).unwrap_or(usize::MAX).min(len),
    }
}
