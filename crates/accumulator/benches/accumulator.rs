//! Throughput and per-poll cost of the accumulator (issue 3, item 6). Figures go into
//! BENCHMARKS.md at the repository root, with the command that produced them.
//!
//! `cargo bench -p tale-sandbox-accumulator` runs everything in a few minutes on 2 cores;
//! pass a filter (`-- raw_poll`) to run one group.
//!
//! * `timestamped_throughput`: one `timestamps=true` response of 100-byte lines pushed in
//!   64 KiB chunks; throughput is response-body bytes per second.
//! * `raw_throughput`: raw snapshots; throughput is *new* bytes per second.
//! * `raw_poll`: one poll observation (begin_read, the snapshot in 64 KiB chunks, end_read)
//!   of a snapshot with N new bytes, for the accumulator and for `TypeScriptPoller`
//!   (the TypeScript service's decode/slice/re-encode), at 1, 5 and 20 MiB snapshots.
//!
//! `BENCH_CLOCK=cpu` measures this thread's CPU time instead of wall time: on a shared machine
//! it leaves out the time the benchmark waits for a core (it still pays for caches shared with
//! other work). Criterion's baselines do not tell the clocks apart: compare like with like.

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Throughput, criterion_group, criterion_main};
use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
use tale_sandbox_baseline::TypeScriptPoller;

use tale_sandbox_bench_support::cpu_time;
use tale_sandbox_bench_support::workload::{self, CHUNK};

/// The clock every figure is read from: wall time, or the benchmark thread's CPU time.
#[derive(Clone, Copy, Debug)]
enum Clock {
    Wall,
    ThreadCpu,
}

impl Clock {
    fn from_env() -> Self {
        match std::env::var("BENCH_CLOCK").as_deref() {
            Ok("cpu") if cfg!(unix) => Clock::ThreadCpu,
            Ok("cpu") => panic!("BENCH_CLOCK=cpu needs a Unix thread CPU clock"),
            Ok("wall") | Err(_) => Clock::Wall,
            Ok(other) => panic!("BENCH_CLOCK must be wall or cpu, not {other}"),
        }
    }

    /// Time since an arbitrary origin that is fixed for the process (per clock).
    fn now(self) -> Duration {
        match self {
            Clock::Wall => {
                static ORIGIN: OnceLock<Instant> = OnceLock::new();
                ORIGIN.get_or_init(Instant::now).elapsed()
            }
            Clock::ThreadCpu => cpu_time::cpu_time(cpu_time::CpuClock::Thread),
        }
    }
}

/// Criterion measurement reading [`Clock`]; values are durations, shown like wall time.
struct ClockMeasurement(Clock);

type Criterion = criterion::Criterion<ClockMeasurement>;
type Bencher<'a> = criterion::Bencher<'a, ClockMeasurement>;

impl Measurement for ClockMeasurement {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        self.0.now()
    }
    fn end(&self, start: Duration) -> Duration {
        self.0.now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}

fn configured() -> Criterion {
    let clock = Clock::from_env();
    eprintln!("accumulator benches: clock = {clock:?} (BENCH_CLOCK=wall|cpu)");
    criterion::Criterion::default().with_measurement(ClockMeasurement(clock))
}

const MIB: usize = 1024 * 1024;
/// The service's default `stdoutMaxBytes`.
const DEFAULT_CAP: usize = 5 * MIB;

fn accumulator(cap_bytes: usize, mode: Mode) -> StdoutAccumulator {
    StdoutAccumulator::new(Config { cap_bytes, mode }).expect("positive cap")
}

/// One complete response: begin_read, the body in 64 KiB chunks, end_read. Returns the number
/// of bytes accepted, so that nothing can be optimised away.
fn read(acc: &mut StdoutAccumulator, body: &[u8]) -> usize {
    let mut accepted = acc.begin_read().len();
    for chunk in body.chunks(CHUNK) {
        accepted += acc.push(chunk).expect("read is open").len();
    }
    accepted + acc.end_read().expect("read is open").len()
}

fn label(bytes: usize) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{}MiB", bytes / MIB)
    } else {
        format!("{}KiB", bytes / 1024)
    }
}

fn timestamped_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("timestamped_throughput");
    group.measurement_time(Duration::from_secs(3)).sample_size(20);
    // (input, cap): everything copied into stdout; then the default cap, input mostly past it.
    for (input, cap) in [(16 * MIB, 32 * MIB), (64 * MIB, DEFAULT_CAP)] {
        let body = workload::timestamped_stream(input);
        group.throughput(Throughput::Bytes(body.len() as u64));
        let id = BenchmarkId::new(format!("cap_{}", label(cap)), label(input));
        group.bench_function(id, |b| {
            b.iter(|| {
                let mut acc = accumulator(cap, Mode::Timestamped);
                let accepted = read(&mut acc, black_box(&body));
                let outcome = acc.finish();
                assert_eq!((outcome.gaps, outcome.malformed), (0, 0));
                assert_eq!(outcome.total_bytes, (body.len() / 100 * 69) as u64);
                accepted
            })
        });
    }
    group.finish();
}

fn raw_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("raw_throughput");
    group.measurement_time(Duration::from_secs(3)).sample_size(20);

    // A single read of a file seen for the first time: every byte is new.
    for (input, cap) in [(16 * MIB, 32 * MIB), (64 * MIB, DEFAULT_CAP)] {
        let log = workload::raw_log(input);
        group.throughput(Throughput::Bytes(log.len() as u64));
        let id = BenchmarkId::new(format!("one_read/cap_{}", label(cap)), label(input));
        group.bench_function(id, |b| {
            b.iter(|| {
                let mut acc = accumulator(cap, Mode::Raw);
                read(&mut acc, black_box(&log))
            })
        });
    }

    // Polls of a growing file, 1 MiB more per poll up to 16 MiB: every poll re-serves the whole
    // file. Throughput counts only the new bytes (16 MiB per iteration).
    let log = workload::raw_log(16 * MIB);
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.bench_function(
        BenchmarkId::new("growing_snapshots/cap_32MiB", "16_polls_to_16MiB"),
        |b| {
            b.iter(|| {
                let mut acc = accumulator(32 * MIB, Mode::Raw);
                let accepted: usize =
                    (1..=16).map(|i| read(&mut acc, black_box(&log[..i * MIB]))).sum();
                assert_eq!(accepted, log.len());
                accepted
            })
        },
    );
    group.finish();
}

/// Something that observes one raw poll.
trait Poller {
    fn poll(&mut self, snapshot: &[u8]) -> usize;
}

impl Poller for StdoutAccumulator {
    fn poll(&mut self, snapshot: &[u8]) -> usize {
        read(self, snapshot)
    }
}

impl Poller for TypeScriptPoller {
    fn poll(&mut self, snapshot: &[u8]) -> usize {
        TypeScriptPoller::poll(self, snapshot).len()
    }
}

/// Times single polls that each bring `new` bytes, on snapshots of `size` bytes or a little less.
///
/// A poll with new bytes changes the state, so polls run in series on a growing file, from a
/// state that has consumed `size - window` bytes up to `size` (window = size/8, at least one
/// poll); then a fresh state is built again by one read of `size - window` bytes. Only the
/// series of polls is timed, not the rebuilds. Rebuilding rather than cloning keeps buffers
/// grown as in a real run (a clone's buffers have no spare capacity, so the next poll would pay
/// a reallocation that a real run pays once).
fn bench_polls<P: Poller>(
    b: &mut Bencher<'_>,
    clock: Clock,
    fresh: impl Fn() -> P,
    file: &[u8],
    size: usize,
    new: usize,
) {
    let window = size / 8;
    let per_reset = window.checked_div(new).map_or(u64::MAX, |polls| polls.max(1) as u64);
    let first = size - (per_reset.min(1 << 20) as usize * new);
    b.iter_custom(|iters| {
        let mut timed = Duration::ZERO;
        let mut done = 0;
        while done < iters {
            let mut state = fresh();
            state.poll(&file[..first]);
            let polls = per_reset.min(iters - done);
            let start = clock.now();
            for i in 1..=polls as usize {
                black_box(state.poll(black_box(&file[..first + i * new])));
            }
            timed += clock.now().saturating_sub(start);
            done += polls;
        }
        timed
    });
}

fn raw_poll(c: &mut Criterion) {
    let clock = Clock::from_env();
    let mut group = c.benchmark_group("raw_poll");
    group.measurement_time(Duration::from_secs(3)).sample_size(20);
    // A cap above every snapshot: both implementations keep every new byte.
    let cap = 32 * MIB;
    let file = workload::raw_log(20 * MIB);
    for size in [MIB, 5 * MIB, 20 * MIB] {
        for new in [0, 100, 64 * 1024] {
            let param = format!("{}/new_{}", label(size), new);
            group.bench_function(BenchmarkId::new("accumulator", &param), |b| {
                bench_polls(b, clock, || accumulator(cap, Mode::Raw), &file, size, new)
            });
            group.bench_function(BenchmarkId::new("typescript", &param), |b| {
                bench_polls(b, clock, || TypeScriptPoller::new(cap), &file, size, new)
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = configured();
    targets = timestamped_throughput, raw_throughput, raw_poll
}
criterion_main!(benches);
