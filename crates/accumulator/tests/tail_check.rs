//! `StdoutAccumulator::tail_check` / `tail_confirms`: a `tailLines` read that proves nothing
//! was written after the last line group taken, checked against the kubelet model of
//! `tale-sandbox-kubelet-logs`.
//!
//! Properties:
//! * sound: a confirmed tail means nothing was written after the accumulator's position (the
//!   whole stream written so far is what the accumulator has seen), whatever was written or
//!   rotated after its last read, and however the runtime split the lines into records;
//! * useful: when nothing was written after the last read and the last group's lines are each
//!   one record, the tail read confirms.

use proptest::prelude::*;
use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};
use tale_sandbox_kubelet_logs::{
    ContainerLog, LogConfig, ReadOptions, SplitMode, Stream, Timestamp,
};

const T0: i64 = 1_700_000_000_000_000_000;

fn acc(cap: usize) -> StdoutAccumulator {
    StdoutAccumulator::new(Config { cap_bytes: cap, mode: Mode::Timestamped }).unwrap()
}

fn read_all(a: &mut StdoutAccumulator, body: &[u8]) {
    a.begin_read();
    a.push(body).unwrap();
    a.end_read().unwrap();
}

#[test]
fn confirms_only_the_exact_last_group() {
    let mut a = acc(1024);
    assert_eq!(a.tail_check(), None, "nothing taken yet");
    read_all(
        &mut a,
        b"2024-05-01T10:20:30.000000000Z a\n\
          2024-05-01T10:20:31.000000000Z b\n2024-05-01T10:20:31.000000000Z c\n",
    );
    let check = a.tail_check().unwrap();
    assert_eq!(check.tail_lines(), 4, "both lines sharing the last time, and two records before");
    let before = b"2024-05-01T10:20:30.000000000Z a\n".as_slice();
    let group = b"2024-05-01T10:20:31.000000000Z b\n2024-05-01T10:20:31.000000000Z c\n";
    assert!(a.tail_confirms(&[before, group].concat()));
    assert!(a.tail_confirms(group), "a file that starts with the group");
    // One line of the group only, another time, other content, more after it, a cut response.
    assert!(!a.tail_confirms(b"2024-05-01T10:20:31.000000000Z c\n"));
    assert!(
        !a.tail_confirms(b"2024-05-01T10:20:31.000000001Z b\n2024-05-01T10:20:31.000000001Z c\n")
    );
    assert!(
        !a.tail_confirms(b"2024-05-01T10:20:31.000000000Z b\n2024-05-01T10:20:31.000000000Z d\n")
    );
    assert!(!a.tail_confirms(
        b"2024-05-01T10:20:31.000000000Z b\n2024-05-01T10:20:31.000000000Z c\n2024-05-01T10:20:32.000000000Z e\n"
    ));
    assert!(!a.tail_confirms(&group[..group.len() - 1]));
    assert!(!a.tail_confirms(b""));
    // The check changes nothing.
    assert_eq!(a.finish().stdout, b"a\nb\nc\n");
    assert_eq!(a.finish().gaps, 0);
}

#[test]
fn a_group_taken_in_part_is_not_confirmed_by_lines_that_repeat_it() {
    // One write of two identical lines: both records share one time. The stream was cut
    // after the first; the file's last line is the second, byte for byte the one taken.
    let mut a = acc(1024);
    a.begin_read();
    a.push(b"2024-05-01T10:20:30.000000000Z x\n2024-05-01T10:20:31.000000000Z a\n").unwrap();
    a.abandon_read();
    let file = b"2024-05-01T10:20:30.000000000Z x\n\
        2024-05-01T10:20:31.000000000Z a\n2024-05-01T10:20:31.000000000Z a\n";
    let tail_of = |n: u64| {
        let lines: Vec<&[u8]> = file.split_inclusive(|&b| b == b'\n').collect();
        lines[lines.len().saturating_sub(n as usize)..].concat()
    };
    let n = a.tail_check().unwrap().tail_lines();
    assert_eq!(n, 3);
    assert!(!a.tail_confirms(&tail_of(n)));
    // The full group then confirms.
    a.begin_read();
    a.push(&file[..]).unwrap();
    a.end_read().unwrap();
    assert_eq!(a.finish().stdout, b"x\na\na\n");
    assert!(a.tail_confirms(&tail_of(a.tail_check().unwrap().tail_lines())));
}

/// A write that ended inside a line leaves the line's end in the next write's first record,
/// with the next write's time: read from the record before it, the two render as one older
/// line, and the check still confirms.
#[test]
fn a_line_split_across_two_writes_before_the_group_still_confirms() {
    let mut log = ContainerLog::new(LogConfig::default()).unwrap();
    log.write(Timestamp::from_unix_nanos(T0), Stream::Stdout, b"x\nab");
    log.write(Timestamp::from_unix_nanos(T0 + 7), Stream::Stdout, b"c\nd\ne");
    let mut a = acc(1024);
    read_all(&mut a, &log.read(&ReadOptions { timestamps: true, ..ReadOptions::default() }));
    assert_eq!(a.finish().stdout, b"x\nabc\nd\ne");
    let tail = tail_read(&log, a.tail_check().unwrap().tail_lines());
    assert!(a.tail_confirms(&tail), "{:?}", String::from_utf8_lossy(&tail));
    // One byte more to the unfinished line: no longer the end.
    log.write(Timestamp::from_unix_nanos(T0 + 9), Stream::Stdout, b"f");
    let tail = tail_read(&log, a.tail_check().unwrap().tail_lines());
    assert!(!a.tail_confirms(&tail));
}

#[test]
fn an_unfinished_last_line_must_match_as_unfinished() {
    let mut a = acc(1024);
    read_all(&mut a, b"2024-05-01T10:20:30.000000000Z abc");
    assert!(a.tail_confirms(b"2024-05-01T10:20:30.000000000Z abc"));
    assert!(!a.tail_confirms(b"2024-05-01T10:20:30.000000000Z abc\n"));
    assert!(!a.tail_confirms(b"2024-05-01T10:20:30.000000000Z abcd"));
}

#[test]
fn raw_mode_has_no_tail_check() {
    let mut a = StdoutAccumulator::new(Config { cap_bytes: 64, mode: Mode::Raw }).unwrap();
    read_all(&mut a, b"hello\n");
    assert_eq!(a.tail_check(), None);
    assert!(!a.tail_confirms(b"hello\n"));
}

#[derive(Debug, Clone)]
enum Op {
    Write { dt: i64, data: Vec<u8> },
    Rotate,
}

fn write_op() -> impl Strategy<Value = Op> {
    let data = prop::collection::vec(prop::sample::select(b"ab\n".to_vec()), 0..24);
    prop_oneof![
        6 => (0i64..3, data).prop_map(|(dt, data)| Op::Write { dt, data }),
        1 => Just(Op::Rotate),
    ]
}

fn apply(log: &mut ContainerLog, now: &mut i64, ops: &[Op]) {
    for op in ops {
        match op {
            // dt in units of 400 ms: several records share a second, some share a time.
            Op::Write { dt, data } => {
                *now += dt * 400_000_000;
                log.write(Timestamp::from_unix_nanos(*now), Stream::Stdout, data);
            }
            Op::Rotate => log.rotate(),
        }
    }
}

fn tail_read(log: &ContainerLog, lines: u64) -> Vec<u8> {
    log.read(&ReadOptions { timestamps: true, tail_lines: Some(lines), ..ReadOptions::default() })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Sound: confirmed ⇒ stdout is everything written since the accumulator started reading,
    /// after any writes, rotations and record splits, and after a read cut anywhere.
    #[test]
    fn a_confirmed_tail_means_nothing_was_written_after(
        before in prop::collection::vec(write_op(), 1..12),
        cut in any::<prop::sample::Index>(),
        after in prop::collection::vec(write_op(), 0..6),
        max_record in prop::sample::select(vec![3usize, 8, 16 * 1024]),
        hold_tails in any::<bool>(),
    ) {
        let config = LogConfig {
            max_record_bytes: max_record,
            split_mode: if hold_tails { SplitMode::HoldUntilNewline } else { SplitMode::PerWrite },
            ..LogConfig::default()
        };
        let mut log = ContainerLog::new(config).unwrap();
        let mut now = T0;
        // One head read of the file that is current after `before`, cut anywhere.
        let last_rotation = before.iter().rposition(|op| matches!(op, Op::Rotate));
        let (early, late) = before.split_at(last_rotation.map_or(0, |i| i + 1));
        apply(&mut log, &mut now, early);
        let start = log.true_stream_len() as usize;
        apply(&mut log, &mut now, late);
        let body = log.read(&ReadOptions { timestamps: true, ..ReadOptions::default() });
        let mut a = acc(1 << 20);
        a.begin_read();
        a.push(&body[..cut.index(body.len() + 1)]).unwrap();
        a.abandon_read();
        let Some(check) = a.tail_check() else { return Ok(()) };

        apply(&mut log, &mut now, &after);
        let tail = tail_read(&log, check.tail_lines());
        if a.tail_confirms(&tail) {
            let truth = &log.true_stream().unwrap()[start..];
            prop_assert_eq!(
                a.finish().stdout,
                truth,
                "confirmed by {:?}",
                String::from_utf8_lossy(&tail)
            );
        }
    }

    /// Useful: with one record per line (or a line split across two writes) and nothing written
    /// after a whole read, it confirms.
    #[test]
    fn nothing_written_after_is_confirmed(
        lines in prop::collection::vec((1i64..3, prop::collection::vec(prop::sample::select(b"ab".to_vec()), 0..8)), 1..12),
        split in any::<prop::sample::Index>(),
        rotate_before_last in any::<bool>(),
    ) {
        let mut log = ContainerLog::new(LogConfig::default()).unwrap();
        let mut now = T0;
        // Whole lines, except that one write ends inside its line and the next write (at a
        // later time) starts with the rest of it.
        let split_at = split.index(lines.len());
        let mut carry = Vec::new();
        for (i, (dt, content)) in lines.iter().enumerate() {
            if rotate_before_last && i + 1 == lines.len() {
                log.rotate();
            }
            now += dt * 400_000_000;
            let mut line = std::mem::take(&mut carry);
            line.extend_from_slice(content);
            line.push(b'\n');
            if i == split_at && i + 1 < lines.len() && !rotate_before_last {
                carry = line.split_off(line.len() / 2 + 1);
            }
            log.write(Timestamp::from_unix_nanos(now), Stream::Stdout, &line);
        }
        let mut a = acc(1 << 20);
        read_all(&mut a, &log.read(&ReadOptions { timestamps: true, ..ReadOptions::default() }));
        let tail = tail_read(&log, a.tail_check().unwrap().tail_lines());
        prop_assert!(a.tail_confirms(&tail), "tail {:?}", String::from_utf8_lossy(&tail));
    }
}

/// One write of the runtime can be split by a rotation: its first lines end the old file, the
/// rest start the new one, all with the write's time. A stream cut after a line of such a write
/// took a group that the new file's lines can repeat byte for byte: a file that starts with the
/// group proves nothing then, until a read ends normally at the group.
#[test]
fn a_group_cut_short_is_not_confirmed_by_a_file_that_starts_with_a_repeat_of_it() {
    let mut log = ContainerLog::new(LogConfig::default()).unwrap();
    log.write(Timestamp::from_unix_nanos(T0), Stream::Stdout, b"a\n\na");
    let body = log.read(&ReadOptions { timestamps: true, ..ReadOptions::default() });
    let mut a = acc(1024);
    a.begin_read();
    let first_line = body.iter().position(|&b| b == b'\n').unwrap() + 1;
    a.push(&body[..first_line]).unwrap();
    a.abandon_read();
    assert_eq!(a.finish().stdout, b"a\n");
    log.rotate();
    log.write(Timestamp::from_unix_nanos(T0), Stream::Stdout, b"a\n");
    let tail = tail_read(&log, a.tail_check().unwrap().tail_lines());
    assert!(!a.tail_confirms(&tail), "{:?}", String::from_utf8_lossy(&tail));

    // A read that ends normally with the same group at the end of the file: now it is the end.
    let mut log = ContainerLog::new(LogConfig::default()).unwrap();
    log.write(Timestamp::from_unix_nanos(T0), Stream::Stdout, b"a\n");
    let mut a = acc(1024);
    a.begin_read();
    a.push(b"").unwrap();
    a.abandon_read();
    read_all(&mut a, &log.read(&ReadOptions { timestamps: true, ..ReadOptions::default() }));
    let tail = tail_read(&log, a.tail_check().unwrap().tail_lines());
    assert!(a.tail_confirms(&tail));
}

#[test]
fn tail_ends_as_stdout_compares_the_unfinished_line_after_the_prefix() {
    let mut a = acc(1024);
    read_all(
        &mut a,
        b"2024-05-01T10:20:30.000000000Z a\n2024-05-01T10:20:31.000000000Z part of a line",
    );
    // The last record's content, after a prefix in either form the kubelet may print.
    assert!(a.tail_ends_as_stdout(b"2024-05-01T10:20:31.000000000Z part of a line"));
    assert!(a.tail_ends_as_stdout(
        b"2024-05-01T10:20:29.000000000Z x\n2024-05-01T12:20:31.000000000+02:00 a line"
    ));
    // Cut: its end is not stdout's end.
    assert!(!a.tail_ends_as_stdout(b"2024-05-01T10:20:31.000000000Z part of a li"));
    // The log goes on: a line end, or more after it.
    assert!(!a.tail_ends_as_stdout(b"2024-05-01T10:20:31.000000000Z part of a line\n"));
    assert!(!a.tail_ends_as_stdout(
        b"2024-05-01T10:20:31.000000000Z part of a line\n2024-05-01T10:20:32.000000000Z more"
    ));
    // Without a valid prefix the record is compared whole.
    assert!(!a.tail_ends_as_stdout(b"2024-05-01 10:20:31.000000000Z part of a line and more"));
    assert!(a.tail_ends_as_stdout(b"garbage, then part of a line"));
    assert!(!a.tail_ends_as_stdout(b""));

    // Stdout that ends at a line end has no unfinished line to compare.
    let mut b = acc(1024);
    read_all(&mut b, b"2024-05-01T10:20:30.000000000Z a\n");
    assert!(!b.tail_ends_as_stdout(b"2024-05-01T10:20:30.000000000Z a"));

    // Raw mode has no tail checks.
    let mut raw = StdoutAccumulator::new(Config { cap_bytes: 64, mode: Mode::Raw }).unwrap();
    read_all(&mut raw, b"no newline");
    assert!(!raw.tail_ends_as_stdout(b"no newline"));
}
