//! Synthetic container output.
//!
//! Deterministic (no RNG): the same bytes on every run, so figures from different runs and
//! machines measure the same work. Lines are mostly ASCII with an occasional multi-byte
//! character, like real program output. `tests/bench/workload.mjs` generates the same bytes
//! for the JS side.

/// Body chunk size of every workload: what an HTTP client typically hands over at once.
pub const CHUNK: usize = 64 * 1024;

/// Length of the kubelet prefix `2026-11-26T10:00:01.123456789Z ` (UTC form).
pub const PREFIX_LEN: usize = 31;

/// Bytes of every timestamped line: prefix, content, newline.
pub const TIMESTAMPED_LINE: usize = 100;

/// Content (without the newline) of line `n`, padded or cut to exactly `len` bytes.
/// One line in eight carries a two- or three-byte UTF-8 character.
pub fn content(n: u64, len: usize, out: &mut Vec<u8>) {
    let start = out.len();
    let extra = match n % 8 {
        3 => "ü ",
        7 => "€ ",
        _ => "",
    };
    use std::io::Write;
    write!(out, "line {n:>9}: {extra}request served in {} ms, status ok, items=", n % 997).unwrap();
    let mut filler = b"abcdefghijklmnopqrstuvwxyz0123456789".iter().cycle().skip((n % 36) as usize);
    while out.len() - start < len {
        out.push(*filler.next().unwrap());
    }
    // Never cut a multi-byte character: pad instead (the multi-byte ones sit early in the line).
    out.truncate(start + len);
}

/// A kubelet `timestamps=true` stream: 100-byte lines, each `prefix + content + "\n"`.
/// Timestamps increase by about 10 µs per line (so ~100 000 lines share a second), and one line
/// in eight repeats the previous line's timestamp exactly, as lines written together do.
#[derive(Clone)]
pub struct TimestampedLines {
    line: u64,
    nanos: u64,
}

/// Seconds since midnight of the first line (10:00:01).
const FIRST_SECOND: u64 = 10 * 3600 + 1;

impl Default for TimestampedLines {
    fn default() -> Self {
        Self::new()
    }
}

impl TimestampedLines {
    /// The stream from its first line, at 10:00:01.123456789.
    pub fn new() -> Self {
        Self { line: 0, nanos: 123_456_789 }
    }

    /// Lines produced so far.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Appends the next line to `out`.
    pub fn next_line(&mut self, out: &mut Vec<u8>) {
        let n = self.line;
        self.line += 1;
        if n % 8 != 5 {
            self.nanos += 1 + (n * 7919) % 20_000;
        }
        let second = FIRST_SECOND + self.nanos / 1_000_000_000;
        assert!(second < 86_400, "workload outgrew one day of timestamps");
        use std::io::Write;
        write!(
            out,
            "2026-11-26T{:02}:{:02}:{:02}.{:09}Z ",
            second / 3600,
            second / 60 % 60,
            second % 60,
            self.nanos % 1_000_000_000
        )
        .unwrap();
        content(n, TIMESTAMPED_LINE - PREFIX_LEN - 1, out);
        out.push(b'\n');
    }
}

/// `bytes` bytes (whole lines, so a multiple of 100) of a timestamped stream.
pub fn timestamped_stream(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes);
    let mut lines = TimestampedLines::new();
    while out.len() + TIMESTAMPED_LINE <= bytes {
        lines.next_line(&mut out);
    }
    out
}

/// Bytes of every raw (timestamp-less) log line.
pub const RAW_LINE: usize = 80;

/// The first `bytes` bytes of a raw container log: 80-byte lines of program output.
pub fn raw_log(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + RAW_LINE);
    let mut n = 0;
    while out.len() < bytes {
        content(n, RAW_LINE - 1, &mut out);
        out.push(b'\n');
        n += 1;
    }
    out.truncate(bytes);
    out
}
