//! The runtime's logger: turns the bytes a container writes into CRI records.

use crate::record::{Record, RecordRef, Stream, Tag};
use crate::timestamp::Timestamp;

/// When the logger writes out the unterminated tail of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SplitMode {
    /// Every write (one pipe read) is logged at once: its unterminated tail becomes a `P` record. This is
    /// what CRI-O's conmon does, and what makes a `print(..., end="")` visible in the log immediately.
    #[default]
    PerWrite,
    /// containerd's logger: an unterminated tail is held until its newline arrives, until it grows past
    /// `max_record_bytes` (then exactly `max_record_bytes` bytes go out as a `P` record), or until the
    /// stream closes (then the rest goes out as a `P` record).
    HoldUntilNewline,
}

/// Cuts container output into CRI records, one splitter per container (it keeps separate state for
/// stdout and stderr).
///
/// Rules (both modes): each `\n` ends a line, which becomes a `F` record whose content excludes the
/// `\n`; a line whose content exceeds `max_record_bytes` is cut into `P` records of exactly
/// `max_record_bytes` bytes at arbitrary byte positions (possibly inside a UTF-8 character), its last
/// piece being the `F` record. All records produced by one write share that write's timestamp.
#[derive(Clone, Debug)]
pub struct LineSplitter {
    max_record_bytes: usize,
    mode: SplitMode,
    pending: [Vec<u8>; 2],
}

impl LineSplitter {
    /// A splitter cutting lines longer than `max_record_bytes` (a zero is treated as one byte).
    pub fn new(max_record_bytes: usize, mode: SplitMode) -> Self {
        LineSplitter {
            max_record_bytes: max_record_bytes.max(1),
            mode,
            pending: [Vec::new(), Vec::new()],
        }
    }

    /// The maximum content size of one record.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// When this splitter writes out a line's unterminated tail.
    pub fn mode(&self) -> SplitMode {
        self.mode
    }

    /// Bytes of `stream` held back waiting for a newline (always zero in [`SplitMode::PerWrite`]).
    pub fn pending_len(&self, stream: Stream) -> usize {
        self.pending[stream.index()].len()
    }

    /// The records produced by the container writing `data` to `stream` at `time`.
    pub fn write(&mut self, time: Timestamp, stream: Stream, data: &[u8]) -> Vec<Record> {
        let mut out = Vec::new();
        self.write_with(time, stream, data, |r| out.push(r.to_owned()));
        out
    }

    /// Like [`LineSplitter::write`], handing each record to `emit` instead of allocating it.
    pub fn write_with(
        &mut self,
        time: Timestamp,
        stream: Stream,
        data: &[u8],
        mut emit: impl FnMut(RecordRef<'_>),
    ) {
        let max = self.max_record_bytes;
        let pending = &mut self.pending[stream.index()];
        let mut emit_piece = |tag: Tag, held: &mut Vec<u8>, fresh: &[u8]| {
            if held.is_empty() {
                emit(RecordRef { time, stream, tag, content: fresh });
            } else {
                held.extend_from_slice(fresh);
                emit(RecordRef { time, stream, tag, content: held });
                held.clear();
            }
        };
        let mut rest = data;
        while !rest.is_empty() {
            // Invariant: pending.len() <= max, so `room` never underflows.
            let room = max - pending.len();
            match memchr::memchr(b'\n', rest) {
                Some(eol) if eol <= room => {
                    emit_piece(Tag::Full, pending, &rest[..eol]);
                    rest = &rest[eol + 1..];
                }
                newline => {
                    let line_bytes_here = newline.unwrap_or(rest.len());
                    if line_bytes_here <= room {
                        // No newline in this write and the line still fits: hold it.
                        pending.extend_from_slice(rest);
                        rest = &[];
                    } else {
                        // More content than fits: exactly `max` bytes go out as a piece.
                        emit_piece(Tag::Partial, pending, &rest[..room]);
                        rest = &rest[room..];
                    }
                }
            }
        }
        if self.mode == SplitMode::PerWrite && !pending.is_empty() {
            emit(RecordRef { time, stream, tag: Tag::Partial, content: pending });
            pending.clear();
        }
    }

    /// The records produced when `stream` closes at `time` (the container exited): whatever was held
    /// back goes out as a final `P` record.
    pub fn close(&mut self, time: Timestamp, stream: Stream) -> Vec<Record> {
        let mut out = Vec::new();
        self.close_with(time, stream, |r| out.push(r.to_owned()));
        out
    }

    /// Like [`LineSplitter::close`], handing the record (if any) to `emit`.
    pub fn close_with(
        &mut self,
        time: Timestamp,
        stream: Stream,
        mut emit: impl FnMut(RecordRef<'_>),
    ) {
        let pending = &mut self.pending[stream.index()];
        if !pending.is_empty() {
            emit(RecordRef { time, stream, tag: Tag::Partial, content: pending });
            pending.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp::from_unix_nanos(5);

    fn shape(records: &[Record]) -> Vec<(Tag, usize)> {
        records.iter().map(|r| (r.tag, r.content.len())).collect()
    }

    #[test]
    fn lines_become_full_records_without_their_newline() {
        let mut s = LineSplitter::new(16, SplitMode::PerWrite);
        let records = s.write(T, Stream::Stdout, b"one\n\ntwo\n");
        let contents: Vec<&[u8]> = records.iter().map(|r| r.content.as_slice()).collect();
        assert_eq!(contents, vec![&b"one"[..], b"", b"two"]);
        assert!(
            records.iter().all(|r| r.tag == Tag::Full && r.time == T && r.stream == Stream::Stdout)
        );
    }

    #[test]
    fn long_line_is_cut_into_partials_of_exactly_max_bytes() {
        let mut s = LineSplitter::new(4, SplitMode::PerWrite);
        let records = s.write(T, Stream::Stdout, b"abcdefghij\n");
        assert_eq!(shape(&records), vec![(Tag::Partial, 4), (Tag::Partial, 4), (Tag::Full, 2)]);
        // A line of exactly `max` bytes is one full record.
        assert_eq!(shape(&s.write(T, Stream::Stdout, b"abcd\n")), vec![(Tag::Full, 4)]);
    }

    #[test]
    fn cuts_can_fall_inside_a_utf8_character() {
        let mut s = LineSplitter::new(3, SplitMode::PerWrite);
        let records = s.write(T, Stream::Stdout, "aé€\n".as_bytes());
        assert_eq!(records[0].content, vec![b'a', 0xC3, 0xA9]);
        assert_eq!(records[1].content, vec![0xE2, 0x82, 0xAC]);
        let records = s.write(T, Stream::Stdout, "€€\n".as_bytes());
        assert_eq!(records[0].content, vec![0xE2, 0x82, 0xAC]);
        let mut s = LineSplitter::new(2, SplitMode::PerWrite);
        let records = s.write(T, Stream::Stdout, "€\n".as_bytes());
        assert_eq!(records[0].content, vec![0xE2, 0x82]);
        assert_eq!((records[1].tag, records[1].content.clone()), (Tag::Full, vec![0xAC]));
    }

    #[test]
    fn per_write_flushes_an_unterminated_tail_as_partial() {
        let mut s = LineSplitter::new(16, SplitMode::PerWrite);
        assert_eq!(shape(&s.write(T, Stream::Stdout, b"progress")), vec![(Tag::Partial, 8)]);
        assert_eq!(shape(&s.write(T, Stream::Stdout, b" done\n")), vec![(Tag::Full, 5)]);
        assert_eq!(s.pending_len(Stream::Stdout), 0);
    }

    #[test]
    fn hold_mode_keeps_the_tail_until_newline_overflow_or_close() {
        let mut s = LineSplitter::new(4, SplitMode::HoldUntilNewline);
        assert!(s.write(T, Stream::Stdout, b"ab").is_empty());
        assert!(s.write(T, Stream::Stdout, b"cd").is_empty(), "exactly max bytes are still held");
        let later = Timestamp::from_unix_nanos(9);
        let records = s.write(later, Stream::Stdout, b"\n");
        assert_eq!(records, vec![Record::new(later, Stream::Stdout, Tag::Full, b"abcd".to_vec())]);
        assert_eq!(shape(&s.write(T, Stream::Stdout, b"abcde")), vec![(Tag::Partial, 4)]);
        assert_eq!(s.pending_len(Stream::Stdout), 1);
        assert!(s.write(T, Stream::Stderr, b"zz").is_empty(), "streams are independent");
        assert_eq!(
            s.close(later, Stream::Stdout),
            vec![Record::new(later, Stream::Stdout, Tag::Partial, b"e".to_vec())]
        );
        assert_eq!(s.close(later, Stream::Stdout), vec![]);
        assert_eq!(s.pending_len(Stream::Stderr), 2);
    }
}
