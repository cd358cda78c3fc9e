//! Under random writes, rotations and reads, what was written comes back unchanged: through the
//! line splitter, in the CRI file, from a follow stream, and as a prefix under `limitBytes`.

use proptest::prelude::*;
use tale_sandbox_kubelet_logs::{
    ContainerLog, FollowCursor, FollowOptions, FollowStatus, LineSplitter, LogConfig, ReadOptions,
    Record, SplitMode, Stream, TIMESTAMP_LEN, Tag, Timestamp, decode_cri_file,
};

#[derive(Clone, Debug)]
enum Op {
    Write(Stream, Vec<u8>),
    Rotate,
    MaybeRotate(u64),
    Poll(usize),
}

fn chunk() -> impl Strategy<Value = Vec<u8>> {
    // Bytes that make lines of all lengths, multi-byte characters and empty lines likely.
    let byte = prop_oneof![4 => Just(b'a'), 2 => Just(b'\n'), 1 => Just(0xE2), 1 => Just(0x82), 1 => Just(b' '), 1 => any::<u8>()];
    prop::collection::vec(byte, 0..40)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop_oneof![3 => Just(Stream::Stdout), 1 => Just(Stream::Stderr)], chunk()).prop_map(|(s, c)| Op::Write(s, c)),
        1 => Just(Op::Rotate),
        1 => (0u64..400).prop_map(Op::MaybeRotate),
        3 => (1usize..100).prop_map(Op::Poll),
    ]
}

fn mode() -> impl Strategy<Value = SplitMode> {
    prop_oneof![Just(SplitMode::PerWrite), Just(SplitMode::HoldUntilNewline)]
}

/// Removes `timestamps=true` prefixes, checking they sit exactly at line starts and parse.
fn strip_prefixes(served: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut at_line_start = true;
    let mut i = 0;
    while i < served.len() {
        if at_line_start {
            let prefix = served.get(i..i + TIMESTAMP_LEN + 1).ok_or("truncated prefix")?;
            let text = std::str::from_utf8(&prefix[..TIMESTAMP_LEN]).map_err(|e| e.to_string())?;
            Timestamp::parse_rfc3339(text).map_err(|e| format!("{e} at {i}"))?;
            if prefix[TIMESTAMP_LEN] != b' ' {
                return Err(format!("no space after the timestamp at {i}"));
            }
            i += TIMESTAMP_LEN + 1;
            at_line_start = false;
            continue;
        }
        let end = served[i..].iter().position(|&b| b == b'\n').map_or(served.len(), |p| i + p + 1);
        out.extend_from_slice(&served[i..end]);
        at_line_start = served[end - 1] == b'\n';
        i = end;
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn splitting_preserves_the_bytes(max in 1usize..12, mode in mode(), writes in prop::collection::vec(chunk(), 0..8)) {
        let mut splitter = LineSplitter::new(max, mode);
        let mut records = Vec::new();
        for (i, w) in writes.iter().enumerate() {
            let t = Timestamp::from_unix_nanos(i as i64);
            let produced = splitter.write(t, Stream::Stdout, w);
            prop_assert!(produced.iter().all(|r| r.time == t && r.content.len() <= max && !r.content.contains(&b'\n')));
            records.extend(produced);
        }
        records.extend(splitter.close(Timestamp::from_unix_nanos(99), Stream::Stdout));
        let payload: Vec<u8> = records.iter().flat_map(Record::payload).collect();
        prop_assert_eq!(payload, writes.concat());
        // Every partial that is not a write's (or the close's) last record is exactly `max` bytes.
        for pair in records.windows(2) {
            if pair[0].tag == Tag::Partial && pair[0].time == pair[1].time {
                prop_assert_eq!(pair[0].content.len(), max);
            }
        }
    }

    #[test]
    fn the_file_decodes_to_what_was_appended(ops in prop::collection::vec(op(), 0..30)) {
        let mut log = ContainerLog::new(LogConfig { max_record_bytes: 7, ..LogConfig::default() }).unwrap();
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::Write(stream, bytes) => { log.write(Timestamp::from_unix_nanos(i as i64 * 333_333_333), *stream, bytes); }
                Op::Rotate => log.rotate(),
                _ => {}
            }
        }
        let decoded = decode_cri_file(&log.current_file_bytes()).unwrap();
        let current: Vec<Record> = log.current_records().map(|r| r.to_owned()).collect();
        prop_assert_eq!(log.current_size(), log.current_file_bytes().len() as u64);
        prop_assert_eq!(decoded, current);
    }

    #[test]
    fn a_follow_stream_polled_after_every_change_serves_the_true_stream(
        ops in prop::collection::vec(op(), 0..60),
        max_record_bytes in 1usize..10,
        mode in mode(),
        timestamps in any::<bool>(),
    ) {
        let config = LogConfig { max_record_bytes, split_mode: mode, max_files: 2, keep_history: true };
        let mut log = ContainerLog::new(config).unwrap();
        let read = ReadOptions { timestamps, ..ReadOptions::default() };
        let mut cursor = FollowCursor::new(&log, read, FollowOptions::default());
        let mut served = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match op {
                Op::Write(stream, bytes) => { log.write(Timestamp::from_unix_nanos(i as i64 * 250_000_000), *stream, bytes); }
                Op::Rotate => log.rotate(),
                Op::MaybeRotate(max) => { log.maybe_rotate(*max); }
                Op::Poll(budget) => {
                    // A small budget makes the stream stop mid-file; it must resume where it stopped.
                    let _ = cursor.read_into(&log, &mut served, *budget);
                    continue;
                }
            }
            while cursor.read_into(&log, &mut served, 16) == FollowStatus::MoreAvailable {}
        }
        log.close(Timestamp::from_unix_nanos(1 << 40));
        prop_assert_eq!(cursor.read_into(&log, &mut served, usize::MAX), FollowStatus::Finished);
        prop_assert!(cursor.is_finished(&log));
        prop_assert_eq!(cursor.skipped_files(), 0);
        let payload = if timestamps { strip_prefixes(&served).map_err(TestCaseError::fail)? } else { served };
        prop_assert_eq!(payload.as_slice(), log.true_stream().unwrap());
    }

    #[test]
    fn limit_bytes_is_a_prefix_of_the_unlimited_read(
        ops in prop::collection::vec(op(), 0..30),
        timestamps in any::<bool>(),
        tail in prop::option::of(0u64..20),
        since in prop::option::of(0i64..8),
        limit in 0u64..400,
    ) {
        let mut log = ContainerLog::new(LogConfig { max_record_bytes: 5, ..LogConfig::default() }).unwrap();
        for (i, op) in ops.iter().enumerate() {
            if let Op::Write(stream, bytes) = op {
                log.write(Timestamp::from_unix_nanos(i as i64 * 400_000_000), *stream, bytes);
            }
        }
        let unlimited = ReadOptions { timestamps, tail_lines: tail, since_time: since.map(Timestamp::from_unix_seconds), limit_bytes: None };
        let all = log.read(&unlimited);
        let cut = log.read(&ReadOptions { limit_bytes: Some(limit), ..unlimited });
        prop_assert_eq!(cut.as_slice(), &all[..all.len().min(limit as usize)]);
        if since.is_none() && tail.is_none() && timestamps {
            prop_assert_eq!(strip_prefixes(&all).map_err(TestCaseError::fail)?, log.read(&ReadOptions::default()));
        }
    }
}
