//! Rotation-safe accumulation of a container's stdout from Kubernetes pod-log responses.
//!
//! The kubelet rotates container logs (at `containerLogMaxSize`) and the pod log API then
//! serves only the new current file, so re-reading the log after a run returns a window from
//! the middle of the stream. [`StdoutAccumulator`] instead builds the canonical stdout — the
//! first `cap_bytes` bytes of the stream, exactly — from every response seen while the
//! container runs, never losing or duplicating a byte across a rotation, a reconnect or a
//! retry, and reporting every place where a loss cannot be ruled out (`gaps`, `truncated`)
//! rather than returning wrong bytes.
//!
//! It is a sans-I/O state machine: the caller performs the HTTP reads and feeds the
//! response bodies in, chunk by chunk, in any split (inside a timestamp, inside a UTF-8
//! character, between `\r` and `\n`):
//!
//! ```
//! use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
//!
//! let mut acc = StdoutAccumulator::new(Config { cap_bytes: 1024, mode: Mode::Raw }).unwrap();
//! for snapshot in [&b"AAAAA"[..], b"BBB"] {
//!     acc.begin_read();
//!     acc.push(snapshot).unwrap();
//!     acc.end_read().unwrap();
//! }
//! let out = acc.finish();
//! assert_eq!(out.stdout, b"AAAAABBB"); // the rotated file's bytes are kept …
//! assert!(out.truncated && out.gaps == 1); // … and the possible loss is reported
//! ```
//!
//! # Modes
//! * [`Mode::Raw`]: every read is a snapshot of the current log file from its start
//!   (`timestamps=false`, the TypeScript service's poll). Rotation is recognised by content,
//!   not only by length; see [`raw_checked_ranges`] for what is checked and the one blind
//!   spot (a new file byte-identical over those ranges). Every rotation counts as a gap,
//!   because bytes written between the last read and the rotation are never served again.
//! * [`Mode::Timestamped`]: responses of `timestamps=true` reads — head reads, `sinceTime`
//!   reads, follow streams and reconnects in any mix. Overlap is removed by timestamp, and
//!   continuity is proven: a response that re-serves the last lines taken continues the
//!   stream; one that starts after them means the file rotated in between (a gap). This is
//!   the mode the execute path should use: a line is identified by its timestamp, not only by
//!   its bytes, and continuous reads report no gap (but see the ambiguity below).
//!
//! # Assumptions
//! * The first read starts at the container's first byte (a head read or a follow stream
//!   from the start, before any rotation). A rotation before any read is invisible to every
//!   client of the log API.
//! * Raw mode: every complete read uses the same `limitBytes` (or none). A complete response
//!   shorter than what was already consumed is taken as a new file. A response cut by a
//!   connection error must be ended with [`StdoutAccumulator::abandon_read`] (or simply by
//!   the next [`StdoutAccumulator::begin_read`]), never with `end_read`.
//! * Timestamped mode: record times never decrease within a container's log (a clock stepped
//!   back can make a resume repeat lines), and a new file does not start with the last line
//!   group taken: the same time, and bytes that begin with the group's bytes (an unfinished last
//!   line then looks continued). With the kubelet's nanosecond times that needs two writes in
//!   the same nanosecond around a rotation. A follow stream that
//!   silently drops bytes inside the kubelet across a rotation (reported in some setups) is
//!   indistinguishable from a continuous one. A response that starts at a rotated file whose
//!   first record continues a line is shown with a prefix there, as if it started a line;
//!   where that makes it ambiguous whether its first bytes were already taken, the
//!   accumulator skips rather than repeats, and counts a gap. A line group whose records share
//!   one timestamp on both sides of a rotation cannot be proven continuous: it counts as a gap.
//! * `Outcome::total_bytes` past the cap may count such an ambiguous line twice; `stdout` is
//!   never affected.
//! * How responses are split does not change the result, with two exceptions where a possible
//!   loss is reported (a gap) either way: in raw mode, a rotation first detected more than
//!   64 KiB into a response keeps the new file's bytes from the start of the chunk where it is
//!   detected (a larger chunk keeps more; the next read re-serves the rest); and a timestamped
//!   line group spanning a rotation, as above.

// One audited `unsafe` block: `Sink::fill_in_place` (see `try_push_in_place`).
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod checksum;
mod prefix;
mod raw;
mod sink;
mod tally;
mod text;
mod timestamped;

use std::borrow::Cow;
use std::fmt;
use std::mem::MaybeUninit;

pub use raw::checked_ranges as raw_checked_ranges;

/// How the log responses fed to the accumulator are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// `timestamps=false` snapshot reads: each read is the current log file from its start.
    Raw,
    /// `timestamps=true` reads: head reads, `sinceTime` reads, follow streams, reconnects.
    Timestamped,
}

/// What a [`StdoutAccumulator`] keeps and how the responses fed to it are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Keep the first `cap_bytes` bytes of the stream (the service's `stdoutMaxBytes`); must be > 0.
    pub cap_bytes: usize,
    /// Every response fed to one accumulator must be framed this way.
    pub mode: Mode,
}

/// An invalid [`Config`]. Its `Display` speaks of the Rust API; the JS bindings show their own
/// messages for each variant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `cap_bytes` was zero: an accumulator must be able to keep at least one byte.
    ZeroCap,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroCap => f.write_str("cap_bytes must be at least 1, got 0"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A call made in the wrong state; the variant names the call. The accumulator is left
/// unchanged. Its `Display` speaks of the Rust API; the JS bindings show their own messages for
/// each variant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// [`StdoutAccumulator::push`] without an open read.
    PushOutsideRead,
    /// [`StdoutAccumulator::try_skip`] without an open read.
    TrySkipOutsideRead,
    /// [`StdoutAccumulator::end_read`] without an open read.
    EndOutsideRead,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let call = match self {
            UsageError::PushOutsideRead => "push",
            UsageError::TrySkipOutsideRead => "try_skip",
            UsageError::EndOutsideRead => "end_read",
        };
        write!(f, "{call} called outside a read: call begin_read first")
    }
}

impl std::error::Error for UsageError {}

/// A snapshot of the accumulated result; see [`StdoutAccumulator::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<'a> {
    /// The canonical stdout: the first `cap_bytes` bytes of the stream (a raw byte cut), or,
    /// when `gaps > 0`, pieces of it in order, each byte at most once.
    pub stdout: &'a [u8],
    /// `gaps > 0 || total_bytes > cap_bytes`: output of exactly `cap_bytes` is not truncated.
    pub truncated: bool,
    /// Stream bytes seen, including those past the cap (not those lost in gaps).
    pub total_bytes: u64,
    /// Log rotations detected. Each is also counted in `gaps`: the old file's unread tail may
    /// be lost. (A follow stream that continues across a rotation shows none.)
    pub rotations: u64,
    /// Places where bytes may be missing from `stdout`.
    pub gaps: u64,
    /// Lines whose timestamp prefix was malformed (timestamped mode); the rest of each such
    /// response was not used.
    pub malformed: u64,
}

impl Outcome<'_> {
    /// `stdout` decoded as UTF-8: invalid sequences become U+FFFD, but an incomplete
    /// character at the end (cut by the cap) is dropped rather than turned into one.
    pub fn text(&self) -> Cow<'_, str> {
        text::decode(self.stdout)
    }
}

/// Where the bytes fed to an accumulator went, counted since it was created; see
/// [`StdoutAccumulator::byte_counts`]. The difference of two snapshots taken around one
/// response (before its `begin_read`, after its `end_read`/`abandon_read`) tells what that
/// response brought: the numbers a replay tool shows per response.
///
/// Every byte of a response counts exactly once, as one of `accepted`, `duplicate`, `skipped`,
/// or [`framing`](Self::framing), once the read is closed. While a read is open, the bytes it
/// holds back (the start of a raw snapshot that may turn out to be a new file; a timestamped
/// first line still being compared with the last line taken) show as framing (timestamped) or
/// duplicate (raw) until the read decides.
///
/// ```
/// use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
///
/// let mut acc = StdoutAccumulator::new(Config { cap_bytes: 64, mode: Mode::Raw }).unwrap();
/// for snapshot in [&b"AAAA"[..], b"AAAABB"] {
///     acc.begin_read();
///     acc.push(snapshot).unwrap();
///     acc.end_read().unwrap();
/// }
/// let counts = acc.byte_counts();
/// assert_eq!((counts.wire, counts.accepted, counts.duplicate, counts.skipped), (10, 6, 4, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ByteCounts {
    /// Response bytes fed: every byte given to `push` or passed over by a successful `try_skip`.
    pub wire: u64,
    /// Stream bytes newly taken (stdout content, timestamp prefixes stripped), also past the
    /// cap: the growth of [`Outcome::total_bytes`].
    pub accepted: u64,
    /// Of `accepted`, the bytes kept in stdout (under the cap): the length of
    /// [`Outcome::stdout`].
    pub kept: u64,
    /// Content bytes that re-served what was already taken: a raw snapshot's already-consumed
    /// part, a resumed timestamped read's lines up to and including the last line group taken,
    /// the repeated start of a continued line.
    pub duplicate: u64,
    /// Content bytes seen but not used without being known duplicates: the rest of a response
    /// after a malformed prefix, the rest of a raw read that lost its place in a new file, a
    /// line whose continuity could not be decided (these come with a gap), the tail of a line
    /// whose start no read served.
    pub skipped: u64,
}

impl ByteCounts {
    /// The bytes of timestamp prefixes (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ `): what is left of
    /// `wire` after the other counts. Always 0 in raw mode.
    pub fn framing(&self) -> u64 {
        self.wire.saturating_sub(self.accepted + self.duplicate + self.skipped)
    }
}

/// Where a resumed timestamped read starts: a whole UTC second, sent as `sinceTime`
/// (see [`StdoutAccumulator::resume_since`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResumePoint {
    unix_seconds: i64,
}

impl ResumePoint {
    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.unix_seconds
    }

    /// The `sinceTime` query value: RFC 3339 with second precision in UTC,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn since_time(self) -> String {
        self.to_string()
    }
}

/// A `tailLines` read that can prove nothing was written after the last line group taken
/// (see [`StdoutAccumulator::tail_check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TailCheck {
    tail_lines: u64,
}

impl TailCheck {
    /// The `tailLines` query value: the lines of the last group taken, and two more.
    pub fn tail_lines(self) -> u64 {
        self.tail_lines
    }
}

impl fmt::Display for ResumePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Kubelet record times are real dates; an out-of-range value cannot come from one, so
        // it is clamped to the epoch rather than failing.
        let t = time::OffsetDateTime::from_unix_timestamp(self.unix_seconds)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )
    }
}

// One engine per accumulator, so the size difference costs nothing; boxing the larger one would
// add an indirection to every push.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
enum Engine {
    Raw(raw::Raw),
    Timestamped(timestamped::Timestamped),
}

/// Builds the canonical stdout of one container from the log responses fed to it.
///
/// Drive it with [`begin_read`](Self::begin_read), [`push`](Self::push) for every body chunk,
/// then [`end_read`](Self::end_read) (the response ended normally) or
/// [`abandon_read`](Self::abandon_read) (the connection was cut). Memory stays
/// O(`cap_bytes`) whatever is pushed.
#[derive(Debug, Clone)]
pub struct StdoutAccumulator {
    config: Config,
    sink: sink::Sink,
    tally: tally::Tally,
    engine: Engine,
    reading: bool,
    wire: u64,
}

impl StdoutAccumulator {
    /// Creates an accumulator; fails on a zero cap.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        if config.cap_bytes == 0 {
            return Err(ConfigError::ZeroCap);
        }
        let engine = match config.mode {
            Mode::Raw => Engine::Raw(raw::Raw::new()),
            Mode::Timestamped => Engine::Timestamped(timestamped::Timestamped::default()),
        };
        Ok(Self {
            config,
            sink: sink::Sink::new(config.cap_bytes),
            tally: Default::default(),
            engine,
            reading: false,
            wire: 0,
        })
    }

    /// The configuration this accumulator was created with.
    pub fn config(&self) -> Config {
        self.config
    }

    /// Whether a read is open (between `begin_read` and `end_read`/`abandon_read`).
    pub fn is_reading(&self) -> bool {
        self.reading
    }

    /// A new log response starts (a poll, a stream, a reconnect). A read still open is
    /// abandoned first, as by [`abandon_read`](Self::abandon_read), and the bytes that
    /// accepted are returned (usually none).
    pub fn begin_read(&mut self) -> &[u8] {
        let before = self.sink.len();
        if self.reading {
            self.close_read(false);
        }
        match &mut self.engine {
            Engine::Raw(raw) => raw.begin(&self.sink),
            Engine::Timestamped(ts) => ts.begin(&self.sink),
        }
        self.reading = true;
        &self.sink.bytes()[before..]
    }

    /// Feeds the next chunk of the current response; returns the bytes newly accepted into
    /// stdout by it, in order (each stdout byte is returned exactly once over all calls).
    pub fn push(&mut self, chunk: &[u8]) -> Result<&[u8], UsageError> {
        if !self.reading {
            return Err(UsageError::PushOutsideRead);
        }
        let before = self.sink.len();
        self.wire += chunk.len() as u64;
        match &mut self.engine {
            Engine::Raw(raw) => raw.push(chunk, &mut self.sink, &mut self.tally),
            Engine::Timestamped(ts) => ts.push(chunk, &mut self.sink, &mut self.tally),
        }
        Ok(&self.sink.bytes()[before..])
    }

    /// Passes over the next `len` bytes of the current response without looking at them, if
    /// the accumulator has no use for them; returns `Ok(false)` and changes nothing when it
    /// needs them, and they must then be given to [`push`](Self::push). Skipped bytes accept
    /// nothing into stdout.
    ///
    /// This is for callers that pay to hand bytes over, such as the wasm bindings, which must
    /// copy every pushed byte into linear memory: a raw poll re-serves the whole file, and all
    /// but a few windows of it (see [`raw_checked_ranges`]) are only counted. Timestamped mode
    /// reads every byte, so there this always returns `Ok(false)`. Like `push`, it fails
    /// outside a read ([`UsageError::TrySkipOutsideRead`]).
    pub fn try_skip(&mut self, len: usize) -> Result<bool, UsageError> {
        if !self.reading {
            return Err(UsageError::TrySkipOutsideRead);
        }
        let skipped = match &mut self.engine {
            Engine::Raw(raw) => raw.try_skip(len as u64),
            Engine::Timestamped(_) => false,
        };
        if skipped {
            self.wire += len as u64;
        }
        Ok(skipped)
    }

    /// Feeds the next `len` bytes of the current response by letting `fill` write them
    /// straight into stdout, when pushing them would take them all into stdout as they are;
    /// returns `Ok(true)` then, with the same outcome and [`byte_counts`](Self::byte_counts)
    /// as [`push`](Self::push)ing those bytes (they are `stdout`'s last `len` bytes). Returns
    /// `Ok(false)` and changes nothing otherwise, and then they must be pushed: in timestamped
    /// mode (prefixes are stripped), in raw mode while the read re-serves bytes already taken
    /// or ignores the rest of its response, and when stdout has room for fewer than `len`
    /// bytes (the cap). Like `push`, it fails outside a read ([`UsageError::PushOutsideRead`]).
    ///
    /// `fill` gets `len` bytes of uninitialised memory, writes the response's bytes into them
    /// and returns them as written, as `js_sys::Uint8Array::copy_to_uninit` and (Rust 1.93)
    /// `<[MaybeUninit<u8>]>::write_copy_of_slice` do; if it returns any other slice, nothing is
    /// taken (`Ok(false)`). This is for callers that cannot lend bytes as a slice without
    /// copying them first: the wasm binding, whose chunks are in JS memory, copies a raw poll's
    /// new bytes once, into stdout, instead of twice.
    ///
    /// ```
    /// use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
    ///
    /// let mut acc = StdoutAccumulator::new(Config { cap_bytes: 8, mode: Mode::Raw }).unwrap();
    /// acc.begin_read();
    /// // New bytes with room for them under the cap: written straight into stdout.
    /// assert!(acc.try_push_in_place(5, |buf| buf.write_copy_of_slice(b"hello")).unwrap());
    /// // Past the cap: not taken, push them.
    /// assert!(!acc.try_push_in_place(5, |buf| buf.write_copy_of_slice(b" you!")).unwrap());
    /// assert_eq!(acc.push(b" you!").unwrap(), b" yo");
    /// acc.end_read().unwrap();
    /// assert_eq!(acc.finish().stdout, b"hello yo");
    /// assert_eq!(acc.finish().total_bytes, 10);
    /// ```
    pub fn try_push_in_place<F>(&mut self, len: usize, fill: F) -> Result<bool, UsageError>
    where
        F: FnOnce(&mut [MaybeUninit<u8>]) -> &mut [u8],
    {
        if !self.reading {
            return Err(UsageError::PushOutsideRead);
        }
        let taken = match &mut self.engine {
            Engine::Raw(raw) => raw.take_in_place(len, &mut self.sink, &mut self.tally, fill),
            Engine::Timestamped(_) => false,
        };
        if taken {
            self.wire += len as u64;
        }
        Ok(taken)
    }

    /// How many of the open read's next bytes [`try_skip`](Self::try_skip) would pass over
    /// without looking at them: a caller may skip any amount up to this, in one call or in any
    /// number of smaller ones, each returning `Ok(true)`, with the same outcome and
    /// [`byte_counts`](Self::byte_counts) as pushing those bytes. It lets a caller that pays per
    /// call (the JS bindings: one JS-to-native crossing per chunk) count re-served chunks on
    /// its side and settle them in one `try_skip`.
    ///
    /// In raw mode: from the read's position up to the first checked window (see
    /// [`raw_checked_ranges`]), the end of the bytes held in case the response is a new file,
    /// or the length already consumed, whichever comes first; while the rest of the response is
    /// ignored (a new file found too deep to keep its start), everything: `u64::MAX` less the
    /// bytes already fed to the read. 0 in timestamped mode, which reads every byte, and outside
    /// a read.
    ///
    /// ```
    /// use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
    ///
    /// let file: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    /// let mut acc = StdoutAccumulator::new(Config { cap_bytes: 1 << 20, mode: Mode::Raw }).unwrap();
    /// acc.begin_read();
    /// acc.push(&file).unwrap();
    /// acc.end_read().unwrap();
    /// // The next poll re-serves the file: its first 64 KiB are held (it may be a new file), and
    /// // the 64-byte sample at 128 KiB is checked; what lies between is only counted.
    /// acc.begin_read();
    /// assert_eq!(acc.skippable_ahead(), 0);
    /// acc.push(&file[..65_600]).unwrap();
    /// assert_eq!(acc.skippable_ahead(), 131_072 - 65_600);
    /// assert!(acc.try_skip(30_000).unwrap() && acc.try_skip(131_072 - 95_600).unwrap());
    /// assert_eq!(acc.skippable_ahead(), 0);
    /// acc.push(&file[131_072..]).unwrap();
    /// acc.end_read().unwrap();
    /// assert_eq!(acc.finish().stdout, &file[..]);
    /// assert_eq!(acc.byte_counts().duplicate, 200_000);
    /// ```
    pub fn skippable_ahead(&self) -> u64 {
        match &self.engine {
            Engine::Raw(raw) if self.reading => raw.skippable_ahead(),
            _ => 0,
        }
    }

    /// How many of the open read's next bytes re-serve what this accumulator already took: in
    /// raw mode, the part of the snapshot up to the length consumed, which is only checked at a
    /// few windows, so that [`try_skip`](Self::try_skip) passes over most of it. A caller that
    /// pays per byte handed over (the wasm bindings) offers these bytes in small pieces, and
    /// the rest, which are all read, in large ones. 0 in timestamped mode, outside a read, and
    /// once the read is past that length or ignores the rest of the response.
    pub fn rechecked_ahead(&self) -> u64 {
        match &self.engine {
            Engine::Raw(raw) if self.reading => raw.rechecked_ahead(),
            _ => 0,
        }
    }

    /// Whether the open read has caught up with what this accumulator took before it began: it
    /// has re-served that (in timestamped mode, the last line group taken; in raw mode, the
    /// length of the file consumed) or started past it, so that whatever it serves next is new.
    /// A response that ends before it caught up ended too early to tell anything about the log's
    /// end: a server cut it short. `true` for any read before anything was taken; `false`
    /// outside a read and once the rest of the response is ignored (a malformed line).
    ///
    /// ```
    /// use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
    ///
    /// let mut acc = StdoutAccumulator::new(Config { cap_bytes: 64, mode: Mode::Timestamped }).unwrap();
    /// acc.begin_read();
    /// acc.push(b"2024-05-01T10:20:30.100000000Z a\n2024-05-01T10:20:30.200000000Z b\n").unwrap();
    /// acc.end_read().unwrap();
    /// // A resumed read re-serves the second taken last; cut after its first line, it is not
    /// // caught up, and it proves nothing about what follows `b`.
    /// acc.begin_read();
    /// acc.push(b"2024-05-01T10:20:30.100000000Z a\n").unwrap();
    /// assert!(!acc.read_caught_up());
    /// acc.push(b"2024-05-01T10:20:30.200000000Z b\n").unwrap();
    /// assert!(acc.read_caught_up());
    /// ```
    pub fn read_caught_up(&self) -> bool {
        if !self.reading {
            return false;
        }
        match &self.engine {
            Engine::Raw(raw) => raw.caught_up(),
            Engine::Timestamped(ts) => ts.caught_up(),
        }
    }

    /// Where the bytes fed so far went: accepted, duplicate, skipped, framing
    /// ([`ByteCounts`]). Cheap (a few counters); call it around a response to see what that
    /// response brought.
    pub fn byte_counts(&self) -> ByteCounts {
        let accepted = self.sink.total();
        let (duplicate, skipped) = match &self.engine {
            // Raw reads have no framing: what was neither taken nor skipped was re-served.
            Engine::Raw(raw) => {
                let skipped = raw.skipped();
                (self.wire.saturating_sub(accepted + skipped), skipped)
            }
            Engine::Timestamped(_) => (self.tally.duplicate, self.tally.skipped),
        };
        ByteCounts { wire: self.wire, accepted, kept: self.sink.len() as u64, duplicate, skipped }
    }

    /// Where a resumed `timestamps=true` read (a reconnect of a cut follow stream, or a poll)
    /// must start so that it re-serves the last line group taken, which is what lets the
    /// accumulator prove continuity: `sinceTime` = the floor of that group's second. `None`
    /// when no line was taken yet (restart from the head, without `sinceTime`) and always in
    /// raw mode. A read that is still open is not taken into account, so this may be earlier
    /// than necessary but never too late.
    ///
    /// ```
    /// use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
    ///
    /// let mut acc = StdoutAccumulator::new(Config { cap_bytes: 64, mode: Mode::Timestamped }).unwrap();
    /// assert_eq!(acc.resume_since(), None);
    /// acc.begin_read();
    /// acc.push(b"2024-05-01T10:20:30.123456789Z hello\n").unwrap();
    /// acc.abandon_read();
    /// assert_eq!(acc.resume_since().unwrap().since_time(), "2024-05-01T10:20:30Z");
    /// ```
    pub fn resume_since(&self) -> Option<ResumePoint> {
        match &self.engine {
            Engine::Raw(_) => None,
            Engine::Timestamped(ts) => ts.mark_time().map(|nanos| ResumePoint {
                unix_seconds: i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
            }),
        }
    }

    /// The cheapest proof that nothing was written after the last line group taken: a
    /// `timestamps=true&tailLines=N` read (no `sinceTime`) with `N` = [`TailCheck::tail_lines`]
    /// serves the file's last `N` records, and if that response is exactly the group, preceded
    /// only by lines of earlier times ([`tail_confirms`](Self::tail_confirms)), the current
    /// log file ends where stdout ends: no byte was written after it, to this file or to a
    /// rotated one. It costs the group and two records more, where the resumed read of
    /// [`resume_since`](Self::resume_since) re-serves the whole last second.
    ///
    /// Where stdout ends inside a line, that unfinished line is the group's last: a response
    /// that holds it from its first record on and ends with exactly its bytes taken proves that
    /// the log ends there too. A larger `N` proves the same (more lines of earlier times come
    /// first), which a caller needs when that line may be made of more records than `N` holds.
    ///
    /// Anything else proves nothing (new output, a rotation, a long line the runtime split
    /// into several records, a line the kubelet shows under another time): read on from the
    /// resume point. `None` in raw mode and before the first line is taken.
    ///
    /// ```
    /// use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
    ///
    /// let mut acc = StdoutAccumulator::new(Config { cap_bytes: 64, mode: Mode::Timestamped }).unwrap();
    /// acc.begin_read();
    /// acc.push(b"2024-05-01T10:20:30.100000000Z a\n2024-05-01T10:20:31.500000000Z b\n").unwrap();
    /// acc.end_read().unwrap();
    /// assert_eq!(acc.tail_check().unwrap().tail_lines(), 3);
    /// assert!(acc.tail_confirms(b"2024-05-01T10:20:30.100000000Z a\n2024-05-01T10:20:31.500000000Z b\n"));
    /// assert!(!acc.tail_confirms(b"2024-05-01T10:20:32.000000000Z c\n"));
    /// ```
    pub fn tail_check(&self) -> Option<TailCheck> {
        match &self.engine {
            Engine::Raw(_) => None,
            Engine::Timestamped(ts) => ts.tail_lines().map(|tail_lines| TailCheck { tail_lines }),
        }
    }

    /// Whether `response`, the whole body of the read that [`tail_check`](Self::tail_check)
    /// describes, is exactly the last line group taken. Changes nothing: the response is not
    /// stdout either way. With a read open, compares with the group as taken so far.
    pub fn tail_confirms(&self, response: &[u8]) -> bool {
        match &self.engine {
            Engine::Raw(_) => false,
            Engine::Timestamped(ts) => ts.tail_matches(response),
        }
    }

    /// Whether `response`, the body of a read that [`tail_check`](Self::tail_check) describes,
    /// ends as stdout does: the content of its last record (after the record's timestamp) and
    /// the part of stdout's unfinished line taken so far end with the same bytes. `false` when
    /// stdout ends at a line end or the response does, and in raw mode. A last record without a
    /// valid timestamp is compared whole.
    ///
    /// A follower that saw stdout end inside a line can ask this of a tail check that did not
    /// [confirm](Self::tail_confirms) the group: a response that ends otherwise was cut, or the
    /// log goes on.
    ///
    /// ```
    /// use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
    ///
    /// let mut acc = StdoutAccumulator::new(Config { cap_bytes: 64, mode: Mode::Timestamped }).unwrap();
    /// acc.begin_read();
    /// acc.push(b"2024-05-01T10:20:30.100000000Z a\n2024-05-01T10:20:31.500000000Z no newline").unwrap();
    /// acc.end_read().unwrap();
    /// assert!(acc.tail_ends_as_stdout(b"2024-05-01T10:20:31.500000000Z no newline"));
    /// assert!(acc.tail_ends_as_stdout(b"2024-05-01T10:20:31.500000000Z newline"));
    /// assert!(!acc.tail_ends_as_stdout(b"2024-05-01T10:20:31.500000000Z no new"));
    /// assert!(!acc.tail_ends_as_stdout(b"2024-05-01T10:20:31.500000000Z no newline\n"));
    /// ```
    pub fn tail_ends_as_stdout(&self, response: &[u8]) -> bool {
        if matches!(self.engine, Engine::Raw(_)) {
            return false;
        }
        let ours = self.sink.bytes();
        let ours = &ours[memchr::memrchr(b'\n', ours).map_or(0, |i| i + 1)..];
        let last = &response[memchr::memrchr(b'\n', response).map_or(0, |i| i + 1)..];
        let theirs = match prefix::PrefixParser::default().feed(last) {
            prefix::Step::Complete { used, .. } => &last[used..],
            _ => last,
        };
        let n = ours.len().min(theirs.len());
        n > 0 && ours[ours.len() - n..] == theirs[theirs.len() - n..]
    }

    /// The stdout accepted so far: what [`finish`](Self::finish) reports as `stdout`, without
    /// building the rest of the outcome.
    pub fn stdout(&self) -> &[u8] {
        self.sink.bytes()
    }

    /// Heap bytes this accumulator holds: the capacity of its stdout buffer (at most
    /// `cap_bytes`) and of the buffers it keeps for the open response (each bounded, at most
    /// 64 KiB). For hosts that account for native memory held by their objects, such as the
    /// Node addon, which reports it to V8 so that the garbage collector sees what an
    /// accumulator costs.
    pub fn retained_bytes(&self) -> usize {
        self.sink.capacity()
            + match &self.engine {
                Engine::Raw(raw) => raw.retained_bytes(),
                Engine::Timestamped(ts) => ts.retained_bytes(),
            }
    }

    /// The current response ended normally (its whole body was pushed). Returns the bytes
    /// accepted at its end: in raw mode, a complete response shorter than the file already
    /// consumed is a new file whose bytes are only known to be new now; in timestamped mode,
    /// an unfinished first line that was held to compare it with the line taken before.
    pub fn end_read(&mut self) -> Result<&[u8], UsageError> {
        if !self.reading {
            return Err(UsageError::EndOutsideRead);
        }
        let before = self.sink.len();
        self.close_read(true);
        Ok(&self.sink.bytes()[before..])
    }

    /// The current response was cut short (a connection error, a timeout): what it carried is
    /// kept, but its length proves nothing. Returns the bytes accepted at its end (as
    /// [`end_read`](Self::end_read)); does nothing when no read is open.
    pub fn abandon_read(&mut self) -> &[u8] {
        let before = self.sink.len();
        if self.reading {
            self.close_read(false);
        }
        &self.sink.bytes()[before..]
    }

    fn close_read(&mut self, complete: bool) {
        match &mut self.engine {
            Engine::Raw(raw) => raw.end(complete, &mut self.sink, &mut self.tally),
            Engine::Timestamped(ts) => ts.end(complete, &mut self.sink, &mut self.tally),
        }
        self.reading = false;
    }

    /// The result so far. May be called any number of times, also between reads; an open
    /// read is reported as if abandoned, without closing it.
    pub fn finish(&self) -> Outcome<'_> {
        let gaps = self.tally.gaps_at_finish();
        let total_bytes = self.sink.total();
        Outcome {
            stdout: self.sink.bytes(),
            truncated: gaps > 0 || total_bytes > self.sink.cap() as u64,
            total_bytes,
            rotations: self.tally.rotations,
            gaps,
            malformed: self.tally.malformed,
        }
    }
}
