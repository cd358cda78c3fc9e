//! `read_caught_up` tells a caller whether a response got as far as what was taken before it, so
//! that a response cut short (however cleanly) is not mistaken for the log's end: it must turn
//! true exactly when the re-served part is complete, and never before.

use proptest::prelude::*;
use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};

/// A rendered `timestamps=true` line of second `sec`, nanosecond `nanos`.
fn line(sec: u32, nanos: u32, text: &str, newline: bool) -> String {
    let end = if newline { "\n" } else { "" };
    format!("2024-05-01T10:20:{sec:02}.{nanos:09}Z {text}{end}")
}

/// Lines as (second, nanos, text): seconds never go back; a few lines share a time.
fn lines() -> impl Strategy<Value = Vec<(u32, u32, String)>> {
    prop::collection::vec((0u32..2, 0u32..3, "[a-z]{0,12}"), 1..24).prop_map(|steps| {
        let (mut sec, mut nanos) = (10u32, 0u32);
        steps
            .into_iter()
            .map(|(dsec, dnanos, text)| {
                if dsec > 0 {
                    sec += dsec;
                    nanos = 0;
                }
                nanos += dnanos;
                (sec, nanos, text)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The first `taken` lines are read (the last maybe unfinished); a read resumed from the
    /// floor of the last second taken is fed `n` bytes of the log: it has caught up exactly when
    /// those bytes cover everything taken.
    #[test]
    fn a_resumed_read_catches_up_when_it_re_served_what_was_taken(
        lines in lines(),
        taken in 0usize..24,
        cut_last in 0usize..14,
        fed in 0usize..2000,
    ) {
        let taken = taken.min(lines.len() - 1) + 1;
        let log: String = lines.iter().map(|(s, n, t)| line(*s, *n, t, true)).collect();
        let mut first: String = lines[..taken - 1].iter().map(|(s, n, t)| line(*s, *n, t, true)).collect();
        let (sec, nanos, text) = &lines[taken - 1];
        // The last line taken may be unfinished: only its first bytes were written then.
        let unfinished = cut_last < text.len();
        let last = if unfinished { &text[..cut_last] } else { text.as_str() };
        first.push_str(&line(*sec, *nanos, last, !unfinished));

        let mut acc = StdoutAccumulator::new(Config { cap_bytes: 1 << 20, mode: Mode::Timestamped }).unwrap();
        acc.begin_read();
        prop_assert!(acc.read_caught_up(), "nothing taken yet: any read is caught up");
        acc.push(first.as_bytes()).unwrap();
        acc.abandon_read();
        prop_assert!(!acc.read_caught_up(), "outside a read");

        // The resumed read serves the log from the floor of the last second taken.
        let since = log.find(&format!("2024-05-01T10:20:{sec:02}.")).unwrap();
        let served = &log.as_bytes()[since..];
        // Where what was taken ends in that response.
        let taken_end = first.len() - since;
        let n = fed.min(served.len());
        acc.begin_read();
        acc.push(&served[..n]).unwrap();
        prop_assert_eq!(acc.read_caught_up(), n >= taken_end, "{} of {} bytes fed", n, taken_end);
    }
}

#[test]
fn a_raw_read_catches_up_at_the_length_consumed() {
    let mut acc = StdoutAccumulator::new(Config { cap_bytes: 1 << 10, mode: Mode::Raw }).unwrap();
    acc.begin_read();
    acc.push(b"hello\nworld\n").unwrap();
    acc.end_read().unwrap();
    acc.begin_read();
    acc.push(b"hello\nworl").unwrap();
    assert!(!acc.read_caught_up());
    acc.push(b"d\n").unwrap();
    assert!(acc.read_caught_up());
    acc.push(b"more\n").unwrap();
    assert!(acc.read_caught_up());
    acc.end_read().unwrap();
    assert!(!acc.read_caught_up());
}
