//! The simulated run: a fast writer, a kubelet that rotates its log, and three readers.

use clap::Args;
use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
use tale_sandbox_baseline::TypeScriptPoller;
use tale_sandbox_kubelet_logs::{
    ContainerLog, FollowCursor, FollowOptions, LogConfig, ReadOptions, Stream, Timestamp,
};

const MIB: u64 = 1024 * 1024;
const TICK_MS: u64 = 10;
const START_NANOS: i64 = 1_795_680_000_000_000_000;

/// Parameters of the simulated run (all times are simulated, the run is deterministic).
#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// Seconds the program writes for.
    #[arg(long, default_value_t = 6)]
    pub seconds: u64,
    /// Output rate in MB/s (lines of about 100 bytes).
    #[arg(long, default_value_t = 6)]
    pub rate_mb: u64,
    /// `stdoutMaxBytes`, in MiB.
    #[arg(long, default_value_t = 64)]
    pub cap_mib: u64,
    /// `containerLogMaxSize`, in MiB.
    #[arg(long, default_value_t = 2)]
    pub rotate_mib: u64,
    /// The kubelet's rotation check period, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub monitor_ms: u64,
    /// The service's poll period, in milliseconds.
    #[arg(long, default_value_t = 700)]
    pub poll_ms: u64,
}

impl Default for DemoArgs {
    fn default() -> Self {
        Self { seconds: 6, rate_mb: 6, cap_mib: 64, rotate_mib: 2, monitor_ms: 1000, poll_ms: 700 }
    }
}

/// One reader's result.
struct Row {
    name: &'static str,
    stdout: Vec<u8>,
    truncated: bool,
    detail: String,
}

/// Runs the simulation and prints the comparison.
pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.cap_mib > 0 && args.rotate_mib > 0 && args.poll_ms > 0 && args.monitor_ms > 0,
        "all sizes and periods must be positive"
    );
    let cap = (args.cap_mib * MIB) as usize;
    let mut log = ContainerLog::new(LogConfig::default())?;
    let mut ts_poller = TypeScriptPoller::new(cap);
    let mut raw = StdoutAccumulator::new(Config { cap_bytes: cap, mode: Mode::Raw })?;
    let mut follow_acc =
        StdoutAccumulator::new(Config { cap_bytes: cap, mode: Mode::Timestamped })?;
    let mut follow = FollowCursor::new(
        &log,
        ReadOptions { timestamps: true, ..Default::default() },
        FollowOptions::default(),
    );
    follow_acc.begin_read();
    let poll_limit = ReadOptions { limit_bytes: Some(cap as u64 + 1), ..Default::default() };
    let bytes_per_tick = (args.rate_mb * 1_000_000 * TICK_MS / 1000) as usize;
    let mut line_no = 0u64;
    let mut rotations = 0;
    let ticks = args.seconds * 1000 / TICK_MS;
    for tick in 1..=ticks {
        let now_ms = tick * TICK_MS;
        let t = Timestamp::from_unix_nanos(START_NANOS + (now_ms * 1_000_000) as i64);
        let mut chunk = Vec::with_capacity(bytes_per_tick + 128);
        while chunk.len() < bytes_per_tick {
            line_no += 1;
            chunk.extend_from_slice(format!("line {line_no:08} {}\n", "x".repeat(84)).as_bytes());
        }
        log.write(t, Stream::Stdout, &chunk);
        follow_acc.push(&follow.read_available(&log))?;
        if now_ms.is_multiple_of(args.monitor_ms) && log.maybe_rotate(args.rotate_mib * MIB) {
            rotations += 1;
        }
        if now_ms.is_multiple_of(args.poll_ms) || tick == ticks {
            let body = log.read(&poll_limit);
            ts_poller.poll(&body);
            raw.begin_read();
            raw.push(&body)?;
            raw.end_read()?;
        }
    }
    log.close(Timestamp::from_unix_nanos(START_NANOS + (ticks * TICK_MS * 1_000_000) as i64));
    follow_acc.push(&follow.read_available(&log))?;
    follow_acc.end_read()?;

    let truth = log.true_stream().expect("history is kept");
    let expected = &truth[..truth.len().min(cap)];
    println!("Simulated run on the embedded node (kubelet model):");
    println!(
        "  the program wrote {:.1} MB in {} s; the kubelet rotated its log {} times (at {} MiB, checked every {} ms);",
        truth.len() as f64 / 1e6,
        args.seconds,
        rotations,
        args.rotate_mib,
        args.monitor_ms
    );
    if truth.len() > cap {
        println!(
            "  stdoutMaxBytes = {} MiB, so the right answer is the first {} bytes, truncated.\n",
            args.cap_mib,
            expected.len()
        );
    } else {
        println!(
            "  stdoutMaxBytes = {} MiB, so the right answer is all {} bytes, not truncated.\n",
            args.cap_mib,
            expected.len()
        );
    }
    let raw_out = raw.finish();
    let follow_out = follow_acc.finish();
    let rows = [
        Row {
            name: "TypeScript polling (spec §6.3)",
            stdout: ts_poller.stdout().to_vec(),
            truncated: ts_poller.truncated(),
            detail: String::new(),
        },
        Row {
            name: "accumulator, raw polls",
            stdout: raw_out.stdout.to_vec(),
            truncated: raw_out.truncated,
            detail: format!("rotations {}, gaps {}", raw_out.rotations, raw_out.gaps),
        },
        Row {
            name: "accumulator, follow stream",
            stdout: follow_out.stdout.to_vec(),
            truncated: follow_out.truncated,
            detail: format!("rotations {}, gaps {}", follow_out.rotations, follow_out.gaps),
        },
    ];
    println!("  {:<32} {:>12}  {:<40} truncated", "reader", "stdout bytes", "verdict");
    for row in &rows {
        println!(
            "  {:<32} {:>12}  {:<40} {:<9} {}",
            row.name,
            row.stdout.len(),
            verdict(&row.stdout, expected, truth, row.truncated),
            row.truncated,
            row.detail
        );
    }
    Ok(())
}

/// How a reader's stdout compares with the true first `cap` bytes.
fn verdict(got: &[u8], expected: &[u8], truth: &[u8], truncated: bool) -> String {
    if got == expected {
        return "exact".into();
    }
    let same = got.iter().zip(expected).take_while(|(a, b)| a == b).count();
    let kind = if is_subsequence(got, truth) { "pieces of the stream" } else { "WRONG BYTES" };
    let warning = if truncated { "loss reported" } else { "SILENT" };
    format!("{kind}, diverges at {same} ({warning})")
}

fn is_subsequence(got: &[u8], truth: &[u8]) -> bool {
    let mut it = truth.iter();
    got.iter().all(|b| it.any(|t| t == b))
}
