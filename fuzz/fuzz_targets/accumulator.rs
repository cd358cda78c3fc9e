//! The stdout accumulator fed arbitrary sequences of responses, in raw and in timestamped mode:
//! plausible log files (kubelet prefixes, shared and decreasing timestamps, partial lines,
//! rotations, files past the 64 KiB hold and the fingerprint windows), served from their
//! head, from a `sinceTime` resume point or from anywhere, in arbitrary chunks, ended, cut
//! (abandoned) or replaced by the next read, mixed with arbitrary bytes, `try_skip` calls and
//! calls out of order.
//!
//! After every call: no panic; the deltas returned so far, concatenated, are exactly `stdout`;
//! `stdout` is at most the cap; `truncated == gaps > 0 || total_bytes > cap`; the heap the
//! accumulator holds (measured by a counting allocator, not self-reported) stays within
//! `cap + MEM_SLACK` and its peak inside a call within `2 × cap + 3 × MEM_SLACK`, whatever was
//! pushed; `retained_bytes()` is at least `stdout` and at most what is really held. At the
//! end the same calls replayed on a fresh accumulator give the same deltas, the same
//! `try_skip` answers and the same outcome (determinism).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator, UsageError};
use tale_sandbox_kubelet_logs::Timestamp;

/// What the accumulator may hold beyond `cap` bytes of stdout, whatever was pushed: the raw
/// hold of a response's head (64 KiB), the raw fingerprint (4 KiB head, 4 KiB tail, 64-byte
/// samples), a timestamped line group copied aside (4 KiB) and the held bytes of an
/// undecided response, with room for the vectors' bookkeeping. A constant: memory does not
/// grow with the size of any input or with the number of calls.
/// (First set to 160 KiB; this target found 197 278 B held at cap 23 306, i.e. cap + 170 KiB:
/// the raw hold's vector grows by doubling and can reach 128 KiB of capacity.)
const MEM_SLACK: isize = 256 * 1024;

/// Heap bytes allocated (minus freed) while `COUNTING` is set, i.e. inside accumulator calls.
/// The harness never frees the accumulator's memory nor the reverse (pushes return borrowed
/// slices), so this is exactly what the accumulator holds.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);
static COUNTING: AtomicBool = AtomicBool::new(false);

struct Counting;

fn grow(by: usize) {
    let now = LIVE.fetch_add(by as isize, Ordering::Relaxed) + by as isize;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrink(by: usize) {
    LIVE.fetch_sub(by as isize, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            shrink(layout.size());
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() && COUNTING.load(Ordering::Relaxed) {
            // Old and new block counted at once: an upper bound of the real peak.
            grow(new_size);
            shrink(layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` (one accumulator call) with its allocations counted.
fn counted<T>(f: impl FnOnce() -> T) -> T {
    COUNTING.store(true, Ordering::Relaxed);
    let out = f();
    COUNTING.store(false, Ordering::Relaxed);
    out
}

/// One call made on the accumulator, recorded for the determinism replay.
#[derive(Debug, Clone)]
enum Call {
    Begin,
    Push(Vec<u8>),
    /// As the wasm binding feeds a chunk: written straight into stdout if the accumulator takes
    /// it so (`try_push_in_place`), pushed otherwise.
    PushInPlace(Vec<u8>),
    TrySkip(usize),
    End,
    Abandon,
}

/// What a call answered (for bytes, how many: they are checked against stdout as they come,
/// and the replay compares the whole stdout at the end).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Bytes(usize),
    Skip(Result<bool, UsageError>),
    Usage(UsageError),
}

/// Makes `call`; with `count`, the accumulator's own allocations are counted (not the copy of
/// its answer, which belongs to the harness).
fn apply(acc: &mut StdoutAccumulator, call: &Call, count: bool, out: &mut Vec<u8>) -> Answer {
    COUNTING.store(count, Ordering::Relaxed);
    let answer = match call {
        Call::Begin => Ok(acc.begin_read()),
        Call::Push(chunk) => acc.push(chunk),
        Call::PushInPlace(chunk) => {
            match acc.try_push_in_place(chunk.len(), |buf| buf.write_copy_of_slice(chunk)) {
                Ok(true) => Ok(&acc.stdout()[acc.stdout().len() - chunk.len()..]),
                Ok(false) => acc.push(chunk),
                Err(e) => Err(e),
            }
        }
        Call::TrySkip(len) => {
            let skip = acc.try_skip(*len);
            COUNTING.store(false, Ordering::Relaxed);
            return Answer::Skip(skip);
        }
        Call::End => acc.end_read(),
        Call::Abandon => Ok(acc.abandon_read()),
    };
    COUNTING.store(false, Ordering::Relaxed);
    match answer {
        Ok(new) => {
            out.extend_from_slice(new);
            Answer::Bytes(new.len())
        }
        Err(e) => Answer::Usage(e),
    }
}

/// The log file being served, as a client of the log API sees it.
struct File {
    bytes: Vec<u8>,
    /// Start offset and time of every line (timestamped mode).
    lines: Vec<(usize, i64)>,
    /// Time of the next record, unix nanoseconds.
    clock: i64,
    /// Whether the last record ended its line.
    at_line_start: bool,
}

/// Bytes served and calls made per execution at most (later ones are not made): keeps an
/// execution well under a millisecond in the instrumented build, so that 10^6 of them take
/// minutes. A response past the 64 KiB raw hold still fits.
const PUSH_BUDGET: usize = 160 * 1024;
const CALL_BUDGET: usize = 96;

struct Harness {
    acc: StdoutAccumulator,
    /// Bytes served so far.
    served: usize,
    /// The largest chunk pushed so far.
    largest_push: usize,
    cap: usize,
    delivered: Vec<u8>,
    calls: Vec<Call>,
    answers: Vec<Answer>,
}

impl Harness {
    fn call(&mut self, call: Call) {
        if self.calls.len() >= CALL_BUDGET {
            return;
        }
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        let before = self.delivered.len();
        let answer = apply(&mut self.acc, &call, true, &mut self.delivered);
        // The new bytes are stdout's end (the whole is compared at the end: comparing it after
        // every call would make a run quadratic in the cap).
        let stdout = self.acc.stdout();
        assert_eq!(stdout.len(), self.delivered.len(), "deltas concatenated != stdout");
        assert_eq!(stdout[before..], self.delivered[before..]);
        if let (Call::Push(_) | Call::PushInPlace(_), Answer::Usage(e)) = (&call, &answer) {
            assert_eq!(*e, UsageError::PushOutsideRead);
        }
        let pushed = match &call {
            Call::Push(chunk) | Call::PushInPlace(chunk) => chunk.len(),
            _ => 0,
        };
        self.largest_push = self.largest_push.max(pushed);
        self.calls.push(call);
        self.answers.push(answer);
        self.check();
    }

    fn check(&self) {
        let out = self.acc.finish();
        assert_eq!(out.stdout.len(), self.delivered.len(), "deltas concatenated != stdout");
        assert!(out.stdout.len() <= self.cap);
        assert_eq!(out.truncated, out.gaps > 0 || out.total_bytes > self.cap as u64);
        assert!(out.total_bytes >= out.stdout.len() as u64);
        let cap = self.cap as isize;
        let live = LIVE.load(Ordering::Relaxed);
        let peak = PEAK.load(Ordering::Relaxed);
        assert!(live <= cap + MEM_SLACK, "holds {live} B with cap {cap}");
        // Within a call a growing buffer is briefly held twice (and a reallocation is counted
        // as old and new block at once): the stdout buffer's last growth step, and the raw
        // hold, whose vector can reach twice its 64 KiB limit in capacity. (Found by this
        // target: peaks up to 2 × cap + 322 KiB.)
        let largest = self.largest_push as isize;
        assert!(
            peak <= 2 * cap + 3 * MEM_SLACK + 8 * largest,
            "peak {peak} B with cap {cap}, largest push {largest} B, mode {:?}, after {:?}",
            self.acc.config().mode,
            self.calls.last().map(|c| match c {
                Call::Push(chunk) | Call::PushInPlace(chunk) => {
                    format!("push of {} B", chunk.len())
                }
                other => format!("{other:?}"),
            })
        );
        let retained = self.acc.retained_bytes();
        assert!(retained >= out.stdout.len(), "retained_bytes {retained} < stdout");
        assert!(retained as isize <= live, "retained_bytes {retained} > heap held {live}");
    }

    /// One response served from `file[start..end]` in chunks chosen by the input.
    fn respond(
        &mut self,
        u: &mut Unstructured,
        file: &File,
        start: usize,
        end: usize,
    ) -> ArbResult<()> {
        if self.served > PUSH_BUDGET {
            return Ok(());
        }
        self.served += end - start;
        self.call(Call::Begin);
        let mut at = start;
        while at < end && self.calls.len() < CALL_BUDGET {
            let len = match u.int_in_range(0u8..=3)? {
                // Tiny chunks near the end of a response only: thousands of calls per response
                // would slow every execution down without reaching more states.
                0 if end - at <= 512 => usize::from(u.int_in_range(1u8..=16)?),
                0 | 1 => usize::from(u.int_in_range(1u16..=u16::MAX)?),
                2 => 65_536,
                _ => end - at,
            }
            .min(end - at);
            if u.ratio(1u8, 8)? {
                // As the wasm binding does: ask first; a skip moves past the bytes.
                self.call(Call::TrySkip(len));
                if matches!(self.answers.last(), Some(Answer::Skip(Ok(true)))) {
                    at += len;
                    continue;
                }
            }
            let chunk = file.bytes[at..at + len].to_vec();
            self.call(if u.ratio(1u8, 4)? { Call::PushInPlace(chunk) } else { Call::Push(chunk) });
            at += len;
        }
        match u.int_in_range(0u8..=5)? {
            0 => self.call(Call::Abandon),
            1 => {} // left open: the next begin_read abandons it
            _ => self.call(Call::End),
        }
        Ok(())
    }
}

/// A kubelet prefix for `nanos`: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ ` or the same instant with
/// a `+01:00` offset.
fn prefix(nanos: i64, offset: bool) -> Vec<u8> {
    let mut out = if offset {
        let mut local = Timestamp::from_unix_nanos(nanos.saturating_add(3_600_000_000_000))
            .rfc3339_nanos_bytes()
            .to_vec();
        local.pop();
        local.extend_from_slice(b"+01:00");
        local
    } else {
        Timestamp::from_unix_nanos(nanos).rfc3339_nanos_bytes().to_vec()
    };
    out.push(b' ');
    out
}

/// Content of a record: bytes from the input, or a long run of program-like text (cheap to
/// describe, long enough to reach the raw hold and fingerprint windows).
fn content(u: &mut Unstructured, timestamped: bool) -> ArbResult<Vec<u8>> {
    if u.ratio(1u8, 32)? {
        // Up to 80 KiB: past the raw hold of a response's head (64 KiB) and several samples.
        let len = usize::from(u.int_in_range(1u16..=u16::MAX)?)
            + usize::from(u.arbitrary::<bool>()?) * 16384;
        // A repeated line, rotated by the input (built by copying, not byte by byte: the
        // instrumented build makes per-byte loops slow). Records never contain a newline.
        let mut line = b"for i in range(n): print(i, 'caf\xc3\xa9', i * i)  # output\n".to_vec();
        if timestamped {
            line.pop();
        }
        let by = usize::from(u.arbitrary::<u8>()?) % line.len();
        line.rotate_left(by);
        let mut run = line.repeat(len / line.len() + 1);
        run.truncate(len);
        return Ok(run);
    }
    let len = u.int_in_range(0u8..=48)?;
    Ok(u.bytes(usize::from(len))?.to_vec())
}

fn run(data: &[u8]) -> ArbResult<()> {
    let mut u = Unstructured::new(data);
    let timestamped = u.arbitrary::<bool>()?;
    let cap = match u.int_in_range(0u8..=3)? {
        0 => usize::from(u.int_in_range(1u8..=64)?),
        1 => usize::from(u.arbitrary::<u16>()?).max(1),
        2 => 65_536 + usize::from(u.arbitrary::<u16>()?),
        _ => 300_000,
    };
    let mode = if timestamped { Mode::Timestamped } else { Mode::Raw };
    let config = Config { cap_bytes: cap, mode };
    LIVE.store(0, Ordering::Relaxed);
    let acc = counted(|| StdoutAccumulator::new(config)).expect("a positive cap is valid");
    let mut h = Harness {
        acc,
        served: 0,
        largest_push: 0,
        cap,
        delivered: Vec::new(),
        calls: Vec::new(),
        answers: Vec::new(),
    };
    let mut file = File {
        bytes: Vec::new(),
        lines: Vec::new(),
        clock: 1_764_151_200_000_000_000 + i64::from(u.arbitrary::<u32>()?),
        at_line_start: true,
    };
    let mut ops = 0;
    while !u.is_empty() && ops < 32 {
        ops += 1;
        match u.int_in_range(0u8..=12)? {
            // Write to the file (up to 96 KiB: past the raw hold of 64 KiB and the sample there).
            0..=3 if file.bytes.len() < 96 * 1024 => {
                let data = content(&mut u, timestamped)?;
                if timestamped {
                    file.clock += match u.int_in_range(0u8..=5)? {
                        0 => 0,                                 // shares the previous record's time
                        1 => -i64::from(u.arbitrary::<u16>()?), // a clock stepped back
                        2 => i64::from(u.arbitrary::<u32>()?) * 8,
                        _ => i64::from(u.arbitrary::<u16>()?) + 1,
                    };
                    let mut p = prefix(file.clock, u.ratio(1u8, 8)?);
                    if u.ratio(1u8, 16)? {
                        let i = usize::from(u.arbitrary::<u8>()?) % p.len();
                        p[i] = u.arbitrary()?; // a malformed prefix
                    }
                    if file.at_line_start {
                        file.lines.push((file.bytes.len(), file.clock));
                    }
                    file.bytes.extend_from_slice(&p);
                    // One record: its content has no newline; it ends its line or not (P).
                    if data.len() <= 48 {
                        file.bytes.extend(data.into_iter().filter(|&b| b != b'\n'));
                    } else {
                        file.bytes.extend_from_slice(&data);
                    }
                    file.at_line_start = u.ratio(3u8, 4)?;
                    if file.at_line_start {
                        file.bytes.push(b'\n');
                    }
                } else {
                    file.bytes.extend_from_slice(&data);
                }
            }
            // The kubelet rotates: the next reads see a new, empty file.
            4 => {
                file.bytes.clear();
                file.lines.clear();
                file.at_line_start = true;
            }
            // A poll (raw) or a head read (timestamped), complete or cut short.
            5..=7 => {
                let end = if u.ratio(2u8, 3)? {
                    file.bytes.len()
                } else {
                    u.int_in_range(0..=file.bytes.len())?
                };
                h.respond(&mut u, &file, 0, end)?;
            }
            // A read that starts later: the `sinceTime` resume point (the first line in or
            // after its second), or any line, or any byte.
            8 | 9 => {
                let since =
                    h.acc.resume_since().map(|p| p.unix_seconds().saturating_mul(1_000_000_000));
                let start = match (u.int_in_range(0u8..=3)?, since) {
                    (0 | 1, Some(since)) => file
                        .lines
                        .iter()
                        .find(|(_, t)| *t >= since)
                        .map_or(file.bytes.len(), |(at, _)| *at),
                    (2, _) if !file.lines.is_empty() => {
                        file.lines[u.choose_index(file.lines.len())?].0
                    }
                    _ => u.int_in_range(0..=file.bytes.len())?,
                };
                h.respond(&mut u, &file, start, file.bytes.len())?;
            }
            // Arbitrary calls, in any order.
            10 => {
                let len = u.int_in_range(0u8..=32)?;
                let chunk = u.bytes(usize::from(len))?.to_vec();
                h.call(if u.ratio(1u8, 4)? { Call::PushInPlace(chunk) } else { Call::Push(chunk) });
            }
            11 => {
                let call = match u.int_in_range(0u8..=3)? {
                    0 => Call::Begin,
                    1 => Call::End,
                    2 => Call::Abandon,
                    _ => Call::TrySkip(usize::from(u.arbitrary::<u16>()?)),
                };
                h.call(call);
            }
            // finish() is a snapshot: calling it changes nothing.
            _ => {
                let a = h.acc.finish();
                let (stdout, gaps, total) = (a.stdout.to_vec(), a.gaps, a.total_bytes);
                let _ = a.text();
                let b = h.acc.finish();
                assert_eq!((&stdout[..], gaps, total), (b.stdout, b.gaps, b.total_bytes));
            }
        }
    }

    // Determinism: the same calls on a fresh accumulator answer the same.
    let mut again = StdoutAccumulator::new(config).expect("valid");
    let mut replayed = Vec::new();
    for (call, answer) in h.calls.iter().zip(&h.answers) {
        let got = apply(&mut again, call, false, &mut replayed);
        assert_eq!(&got, answer, "a replay of {call:?} answered differently");
    }
    assert_eq!(replayed, h.delivered);
    let (a, b) = (h.acc.finish(), again.finish());
    assert_eq!(a.stdout, &h.delivered[..], "deltas concatenated != stdout");
    assert_eq!(a, b, "same calls, another outcome");
    assert_eq!(h.acc.resume_since(), again.resume_since());
    counted(|| drop(h.acc));
    assert!(LIVE.load(Ordering::Relaxed) <= 0, "memory left after drop");
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
