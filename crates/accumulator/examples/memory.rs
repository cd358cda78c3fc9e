//! Memory check (issue 3, item 6): pushes 1 GiB of response bodies through an accumulator with
//! the service's default 5 MiB cap, in both modes, and prints the peak heap it used, to show
//! that memory stays O(cap) whatever is pushed.
//!
//! `cargo run --release -p tale-sandbox-accumulator --example memory`
//!
//! A counting global allocator records the live heap and its peak (a reallocation counts as
//! old and new block at once, so the peak is an upper bound). Workload buffers are
//! allocated before each scenario starts; the figure printed is the peak *above* that baseline,
//! i.e. what the accumulator itself held at its worst. Exits non-zero if a scenario's result is
//! not what the workload implies (so the figure is about a run that did the real work).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};

use tale_sandbox_bench_support::workload::{self, CHUNK, TimestampedLines};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only sizes are counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as a new block, then the old one freed: a reallocation that moves holds both
        // for a moment, so the peak is an upper bound whatever the system allocator does.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grew(new_size);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1024 * 1024;
const GIB: u64 = 1024 * 1024 * 1024;
const CAP: usize = 5 * MIB;

/// Heap figures of one scenario, above the heap live when it started.
struct Heap {
    /// The most held at any moment.
    peak: usize,
    /// Still held when the scenario ended (the accumulator's steady state).
    held: usize,
}

/// Runs `scenario` and returns its heap figures.
fn measure(scenario: impl FnOnce()) -> Heap {
    let baseline = LIVE.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    scenario();
    Heap {
        peak: PEAK.load(Ordering::Relaxed) - baseline,
        held: LIVE.load(Ordering::Relaxed) - baseline,
    }
}

fn report(name: &str, pushed: u64, heap: Heap) {
    let mib = |b: usize| b as f64 / MIB as f64;
    println!(
        "{name:<60} pushed {:.2} GiB | peak heap {:>8} B = {:.2} MiB = {:.2} x cap | held after {:>8} B = {:.2} x cap",
        pushed as f64 / GIB as f64,
        heap.peak,
        mib(heap.peak),
        heap.peak as f64 / CAP as f64,
        heap.held,
        heap.held as f64 / CAP as f64
    );
}

fn check(what: &str, ok: bool) {
    if !ok {
        eprintln!("memory: unexpected result: {what}");
        std::process::exit(1);
    }
}

/// Timestamped: a follow stream of 1 GiB of 100-byte lines that reconnects every 128 MiB; a
/// reconnect re-serves from the first line of the second of the last line taken, as a
/// `sinceTime` read does.
fn timestamped() {
    let mut lines = TimestampedLines::new();
    // The last two second starts: (stream offset of their first line, generator state there).
    let mut second_starts = [(0u64, lines.clone()), (0u64, lines.clone())];
    let mut second = Vec::new();
    let mut generated = 0u64;
    // Room for a replay of up to a few seconds of lines, reserved before the baseline so that
    // the workload's own buffer never counts as the accumulator's memory.
    let mut body = Vec::with_capacity(64 * MIB);
    let body_capacity = body.capacity();
    let mut line = Vec::with_capacity(200);
    let mut acc =
        StdoutAccumulator::new(Config { cap_bytes: CAP, mode: Mode::Timestamped }).unwrap();
    let (mut pushed, mut delivered, mut since_reconnect) = (0u64, 0u64, 0u64);
    let heap = measure(|| {
        acc.begin_read();
        while pushed < GIB {
            let before = lines.clone();
            line.clear();
            lines.next_line(&mut line);
            if line[..19] != second[..] {
                second_starts = [second_starts[1].clone(), (generated, before)];
                second.clear();
                second.extend_from_slice(&line[..19]);
            }
            generated += line.len() as u64;
            body.extend_from_slice(&line);
            if body.len() >= CHUNK {
                acc.push(&body[..CHUNK]).unwrap();
                body.drain(..CHUNK);
                pushed += CHUNK as u64;
                delivered = generated - body.len() as u64;
                since_reconnect += CHUNK as u64;
            }
            if since_reconnect >= 128 * MIB as u64 {
                // The connection drops; the new response starts at the second of the last byte
                // delivered (seconds are ~10 MB long, so one of the last two second starts).
                acc.abandon_read();
                since_reconnect = 0;
                let (_, start) =
                    second_starts.iter().rev().find(|(at, _)| *at < delivered).unwrap();
                let mut replay = start.clone();
                body.clear();
                acc.begin_read();
                while replay.line() < lines.line() {
                    replay.next_line(&mut body);
                }
            }
        }
        acc.push(&body).unwrap();
        pushed += body.len() as u64;
        acc.end_read().unwrap();
    });
    check("timestamped: the workload buffer never grew", body.capacity() == body_capacity);
    let out = acc.finish();
    check("timestamped: no gap", out.gaps == 0 && out.malformed == 0 && out.rotations == 0);
    check("timestamped: every line counted once", out.total_bytes == lines.line() * 69);
    check("timestamped: stdout is full", out.stdout.len() == CAP && out.truncated);
    report("timestamped: 1 follow stream, reconnect every 128 MiB", pushed, heap);
}

/// Raw: polls of a log file that grows by 1 MiB per poll and rotates at 10 MiB (the kubelet's
/// default `containerLogMaxSize`); every poll re-serves the whole current file. Files alternate
/// between two contents so that each rotation is a different file.
fn raw_rotating() {
    let files = [workload::raw_log(10 * MIB), {
        let mut other = b"second file\n".to_vec();
        other.extend_from_slice(&workload::raw_log(10 * MIB));
        other.truncate(10 * MIB);
        other
    }];
    let mut acc = StdoutAccumulator::new(Config { cap_bytes: CAP, mode: Mode::Raw }).unwrap();
    let mut pushed = 0u64;
    let mut rotations = 0u64;
    let heap = measure(|| {
        'outer: for k in 0.. {
            let file = &files[k % 2];
            for size in (1..=10).map(|m| m * MIB) {
                acc.begin_read();
                for chunk in file[..size].chunks(CHUNK) {
                    acc.push(chunk).unwrap();
                }
                acc.end_read().unwrap();
                pushed += size as u64;
                if pushed >= GIB {
                    break 'outer;
                }
            }
            rotations += 1;
        }
    });
    let out = acc.finish();
    check("raw: every rotation detected", out.rotations == rotations && out.gaps == rotations);
    check("raw: stdout is full", out.stdout.len() == CAP && out.truncated);
    report("raw: polls of a file growing 1 MiB/poll, rotating at 10 MiB", pushed, heap);
}

/// Raw: one read of a 1 GiB file (a single `GET .../log` of a file that was never rotated).
fn raw_one_read() {
    let file = workload::raw_log(16 * MIB);
    let mut acc = StdoutAccumulator::new(Config { cap_bytes: CAP, mode: Mode::Raw }).unwrap();
    let mut pushed = 0u64;
    let heap = measure(|| {
        acc.begin_read();
        while pushed < GIB {
            for chunk in file.chunks(CHUNK) {
                acc.push(chunk).unwrap();
            }
            pushed += file.len() as u64;
        }
        acc.end_read().unwrap();
    });
    let out = acc.finish();
    check("raw one read: every byte counted", out.total_bytes == pushed && out.gaps == 0);
    check("raw one read: stdout is the file's head", out.stdout == &file[..CAP]);
    report("raw: one read of a 1 GiB file", pushed, heap);
}

fn main() {
    println!(
        "cap = {CAP} B ({} MiB); heap figures are above the heap live before each scenario",
        CAP / MIB
    );
    timestamped();
    raw_rotating();
    raw_one_read();
}
