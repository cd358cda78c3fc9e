//! Differential: the accumulator against the true stream of the kubelet model
//! (`tale-sandbox-kubelet-logs`), where the answer is fully determined.
//!
//! A container writes arbitrary output (newlines anywhere, CRI partial records of a few bytes,
//! both splitter modes, one or many records per nanosecond-distinct time) into a log that is
//! never rotated. It is read the ways the service reads it: raw mode by polls of the whole
//! file (`limitBytes` = cap + 1 or none), timestamped mode by a head read and then reads from
//! the accumulator's own `sinceTime` resume point; any read may be cut at any byte (abandoned)
//! and every read is split into arbitrary chunks. A last complete read follows the container's
//! exit. Then stdout must be exactly the first `cap` bytes of the true stream, with no gap, no
//! rotation, nothing malformed, and `truncated` exactly when the stream is longer than the cap
//! (and, when the last read was not limited, `total_bytes` equal to its length) — except where
//! the README documents that a timestamped resume is ambiguous: then a gap is counted, stdout
//! is still in-order pieces of the stream and `truncated` is set.
#![no_main]

use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;
use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
use tale_sandbox_kubelet_logs::{
    ContainerLog, LogConfig, ReadOptions, SplitMode, Stream, Timestamp,
};

/// Pushes `body` in chunks chosen by the input, up to `cut` bytes; `delivered` gets the deltas.
fn serve(
    u: &mut Unstructured,
    acc: &mut StdoutAccumulator,
    delivered: &mut Vec<u8>,
    body: &[u8],
    cut: Option<usize>,
) -> ArbResult<()> {
    delivered.extend_from_slice(acc.begin_read());
    let end = cut.map_or(body.len(), |c| c.min(body.len()));
    let mut at = 0;
    while at < end {
        let len = match u.int_in_range(0u8..=2).unwrap_or(2) {
            0 => usize::from(u.int_in_range(1u8..=8)?),
            1 => usize::from(u.int_in_range(1u16..=2048)?),
            _ => end - at,
        }
        .min(end - at);
        delivered.extend_from_slice(acc.push(&body[at..at + len]).expect("inside a read"));
        at += len;
    }
    if cut.is_some() {
        delivered.extend_from_slice(acc.abandon_read());
    } else {
        delivered.extend_from_slice(acc.end_read().expect("inside a read"));
    }
    Ok(())
}

fn run(data: &[u8]) -> ArbResult<()> {
    let mut u = Unstructured::new(data);
    let timestamped = u.arbitrary::<bool>()?;
    let cap = usize::from(u.int_in_range(1u16..=2048)?);
    let split_mode =
        if u.arbitrary::<bool>()? { SplitMode::PerWrite } else { SplitMode::HoldUntilNewline };
    let max_record_bytes = usize::from(u.int_in_range(1u8..=64)?);
    let mut log = ContainerLog::new(LogConfig {
        max_record_bytes,
        split_mode,
        keep_history: true,
        ..LogConfig::default()
    })
    .expect("valid log config");
    let mode = if timestamped { Mode::Timestamped } else { Mode::Raw };
    let mut acc = StdoutAccumulator::new(Config { cap_bytes: cap, mode }).expect("valid cap");
    let mut delivered = Vec::new();
    // Record times strictly increase (distinct nanoseconds): no line group can be ambiguous.
    let mut clock = 1_764_151_200_000_000_000i64 + i64::from(u.arbitrary::<u32>()?);
    let limit = (!timestamped && u.arbitrary::<bool>()?).then_some(cap as u64 + 1);
    let read_options = |acc: &StdoutAccumulator, timestamps: bool| ReadOptions {
        timestamps,
        since_time: acc.resume_since().map(|p| Timestamp::from_unix_seconds(p.unix_seconds())),
        limit_bytes: limit,
        ..ReadOptions::default()
    };
    let mut steps = 0;
    while !u.is_empty() && steps < 48 {
        steps += 1;
        if u.ratio(2u8, 3)? {
            clock += i64::from(u.int_in_range(1u32..=1_500_000_000)?);
            let len = u.int_in_range(0u8..=64)?;
            let bytes = u.bytes(usize::from(len).min(u.len()))?.to_vec();
            log.write(Timestamp::from_unix_nanos(clock), Stream::Stdout, &bytes);
        } else {
            let body = log.read(&read_options(&acc, timestamped));
            let cut =
                if u.arbitrary::<bool>()? { Some(u.int_in_range(0..=body.len())?) } else { None };
            serve(&mut u, &mut acc, &mut delivered, &body, cut)?;
        }
    }
    clock += 1;
    log.close(Timestamp::from_unix_nanos(clock));
    let body = log.read(&read_options(&acc, timestamped));
    serve(&mut u, &mut acc, &mut delivered, &body, None)?;

    let truth = log.true_stream().expect("history kept");
    let out = acc.finish();
    let exact = &truth[..truth.len().min(cap)];
    assert_eq!(delivered, out.stdout, "deltas concatenated != stdout");
    assert_eq!((out.rotations, out.malformed), (0, 0), "{out:?}");
    if timestamped && out.gaps > 0 {
        // The documented conservative case: a resumed read whose first line has the time of
        // the last line group taken and could also be the end of the line before that group
        // is skipped, not risked, and counted as a gap. Never wrong bytes, never silent.
        let mut rest = truth.iter();
        assert!(out.stdout.iter().all(|b| rest.any(|t| t == b)), "not in-order pieces: {out:?}");
        assert!(out.truncated);
    } else {
        // Raw polls of a file that is not rotated, and timestamped reads that report no gap:
        // exact.
        assert_eq!(out.stdout, exact, "stdout is not the true stream's first {cap} bytes: {out:?}");
        assert_eq!(out.gaps, 0, "{out:?}");
        assert_eq!(out.truncated, truth.len() > cap, "{out:?} for a {} B stream", truth.len());
        if limit.is_none() {
            assert_eq!(out.total_bytes, truth.len() as u64, "{out:?}");
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
