//! The native side of `tests/bench/ratio.mjs`: runs one measurement of the same workloads as the
//! Node script, natively, and prints the milliseconds it took, so that the script can put native
//! Rust next to the napi addon and the wasm package in the same run (one process per repetition,
//! interleaved with the JS repetitions).
//!
//! ```text
//! native_side [--clock wall|cpu] [--runs WARM TIMED] [--evict MIB] timestamped <body bytes> <cap>
//!     one read of a fresh timestamped accumulator: ms
//! native_side [--clock wall|cpu] [--runs WARM TIMED] [--evict MIB] raw <file bytes> <polls> <cap>
//!     a fresh raw accumulator reads a file growing in <polls> equal steps, each poll re-serving
//!     it from the start: ms for all polls
//! native_side [--clock wall|cpu] [--runs WARM TIMED] [--evict MIB] poll <snapshot bytes> <new bytes> <polls> <cap>
//!     mean ms per raw poll, the series `pollCost` of ratio.mjs runs
//! ```
//!
//! `--clock cpu` reads the process CPU time (like Node's `process.cpuUsage()`), else wall time.
//! `--runs WARM TIMED` (default `1 1`): the workload runs WARM times untimed, then TIMED times
//! timed, and the median of the timed runs is printed; ratio.mjs passes the counts its
//! `js_side.mjs` processes use, so that every column is timed after the same history in its
//! process (the same number of accumulators grown and dropped before it).
//! `--evict MIB` (default 0): before every timed run, write one byte in every 64 of a MIB MiB
//! buffer (allocated once per workload), so that the run starts with the CPU caches holding none
//! of its data; ratio.mjs `--cold` passes the same figure to every JS column (whose harness
//! collects garbage between runs, which leaves its caches cold, while this process does nothing
//! there).
//! Exits non-zero when a result is not what the workload implies.

use std::time::{Duration, Instant};

use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};

use tale_sandbox_bench_support::cpu_time;
use tale_sandbox_bench_support::workload::{CHUNK, raw_log, timestamped_stream};

#[derive(Clone, Copy)]
enum Clock {
    Wall(Instant),
    ProcessCpu,
}

impl Clock {
    fn now(self) -> Duration {
        match self {
            Clock::Wall(origin) => origin.elapsed(),
            Clock::ProcessCpu => cpu_time::cpu_time(cpu_time::CpuClock::Process),
        }
    }
}

/// One complete response: begin, 64 KiB chunks, end. Returns the bytes accepted.
fn read(acc: &mut StdoutAccumulator, body: &[u8]) -> usize {
    let mut accepted = acc.begin_read().len();
    for chunk in body.chunks(CHUNK) {
        accepted += acc.push(chunk).expect("inside a read").len();
    }
    accepted + acc.end_read().expect("inside a read").len()
}

fn accumulator(cap: usize, mode: Mode) -> StdoutAccumulator {
    StdoutAccumulator::new(Config { cap_bytes: cap, mode }).expect("a positive cap")
}

/// How many times a workload runs untimed, then timed (`--runs`), and how many MiB are written
/// over before each timed run (`--evict`).
#[derive(Clone, Copy)]
struct Runs {
    warm_ups: usize,
    timed: usize,
    evict_mib: usize,
}

impl Runs {
    /// Runs `once` (which returns its own timed milliseconds) `warm_ups` times, then `timed`
    /// times, and returns the median of the timed runs.
    fn median_of(self, mut once: impl FnMut() -> Result<f64, String>) -> Result<f64, String> {
        // Allocated (and written) before the warm-ups, so that the timed runs' buffers are laid
        // out in the heap as the warm-ups' were, not beyond a buffer that appeared in between.
        let mut evict = vec![1u8; self.evict_mib << 20];
        for _ in 0..self.warm_ups {
            once()?;
        }
        let mut timed = Vec::with_capacity(self.timed);
        for _ in 0..self.timed {
            // One write per 64-byte cache line takes the line over.
            for byte in evict.iter_mut().step_by(64) {
                *byte = byte.wrapping_add(1);
            }
            std::hint::black_box(&evict);
            timed.push(once()?);
        }
        timed.sort_by(f64::total_cmp);
        let mid = timed.len() / 2;
        Ok(if timed.len() % 2 == 1 { timed[mid] } else { (timed[mid - 1] + timed[mid]) / 2.0 })
    }
}

fn timestamped(clock: Clock, runs: Runs, bytes: usize, cap: usize) -> Result<f64, String> {
    let body = timestamped_stream(bytes);
    runs.median_of(|| {
        let mut acc = accumulator(cap, Mode::Timestamped);
        let start = clock.now();
        read(&mut acc, &body);
        let ms = (clock.now() - start).as_secs_f64() * 1e3;
        let out = acc.finish();
        let expected = body.len() as u64 / 100 * 69;
        if out.gaps != 0 || out.malformed != 0 || out.total_bytes != expected {
            return Err(format!(
                "unexpected outcome: {} bytes (expected {expected}), {} gaps",
                out.total_bytes, out.gaps
            ));
        }
        Ok(ms)
    })
}

fn raw(clock: Clock, runs: Runs, bytes: usize, polls: usize, cap: usize) -> Result<f64, String> {
    let file = raw_log(bytes);
    runs.median_of(|| {
        let mut acc = accumulator(cap, Mode::Raw);
        let start = clock.now();
        let mut accepted = 0;
        for i in 1..=polls {
            accepted += read(&mut acc, &file[..bytes * i / polls]);
        }
        let ms = (clock.now() - start).as_secs_f64() * 1e3;
        if accepted != bytes.min(cap) || acc.finish().total_bytes != bytes as u64 {
            return Err(format!("unexpected raw outcome: {accepted} bytes accepted of {bytes}"));
        }
        Ok(ms)
    })
}

/// `pollCost` of ratio.mjs: polls in series on a growing file, state rebuilt (untimed) whenever
/// the window of 1/8 of the size is used up.
fn poll(
    clock: Clock,
    runs: Runs,
    size: usize,
    fresh: usize,
    polls: usize,
    cap: usize,
) -> Result<f64, String> {
    let file = raw_log(size);
    runs.median_of(|| poll_series(clock, &file, fresh, polls, cap))
}

/// One measurement of `poll`: the mean milliseconds per poll of `polls` polls.
fn poll_series(
    clock: Clock,
    file: &[u8],
    fresh: usize,
    polls: usize,
    cap: usize,
) -> Result<f64, String> {
    let size = file.len();
    let window = size / 8;
    let per_reset = window.checked_div(fresh).map_or(polls, |n| n.max(1));
    let first = if fresh == 0 { size } else { size - per_reset * fresh };
    let mut timed = Duration::ZERO;
    let mut done = 0;
    while done < polls {
        let mut acc = accumulator(cap, Mode::Raw);
        read(&mut acc, &file[..first]);
        let series = per_reset.min(polls - done);
        let start = clock.now();
        let mut accepted = 0;
        for i in 1..=series {
            accepted += read(&mut acc, &file[..first + i * fresh]);
        }
        timed += clock.now() - start;
        if accepted != series * fresh || acc.finish().gaps != 0 {
            return Err(format!(
                "unexpected poll outcome: {accepted} bytes accepted, expected {}",
                series * fresh
            ));
        }
        done += series;
    }
    Ok(timed.as_secs_f64() * 1e3 / polls as f64)
}

fn run(args: &[String]) -> Result<f64, String> {
    let number = |i: usize| -> Result<usize, String> {
        args.get(i)
            .ok_or("missing argument")?
            .parse::<usize>()
            .map_err(|e| format!("argument {}: {e}", i + 1))
    };
    let (clock, rest) = match args {
        [flag, value, ..] if flag == "--clock" && value == "wall" => {
            (Clock::Wall(Instant::now()), 2)
        }
        [flag, value, ..] if flag == "--clock" && value == "cpu" => (Clock::ProcessCpu, 2),
        _ => (Clock::Wall(Instant::now()), 0),
    };
    let (mut runs, rest) = match args.get(rest).map(String::as_str) {
        Some("--runs") => {
            let runs = Runs { warm_ups: number(rest + 1)?, timed: number(rest + 2)?, evict_mib: 0 };
            if runs.timed == 0 {
                return Err("--runs needs at least one timed run".into());
            }
            (runs, rest + 3)
        }
        _ => (Runs { warm_ups: 1, timed: 1, evict_mib: 0 }, rest),
    };
    let rest = match args.get(rest).map(String::as_str) {
        Some("--evict") => {
            runs.evict_mib = number(rest + 1)?;
            rest + 2
        }
        _ => rest,
    };
    match args.get(rest).map(String::as_str) {
        Some("timestamped") => timestamped(clock, runs, number(rest + 1)?, number(rest + 2)?),
        Some("raw") => raw(clock, runs, number(rest + 1)?, number(rest + 2)?, number(rest + 3)?),
        Some("poll") => {
            poll(clock, runs, number(rest + 1)?, number(rest + 2)?, number(rest + 3)?, number(rest + 4)?)
        }
        _ => Err("usage: native_side [--clock wall|cpu] [--runs WARM TIMED] [--evict MIB] (timestamped BYTES CAP | raw BYTES POLLS CAP | poll SIZE NEW POLLS CAP)".into()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(ms) => println!("{ms}"),
        Err(message) => {
            eprintln!("native_side: {message}");
            std::process::exit(2);
        }
    }
}
