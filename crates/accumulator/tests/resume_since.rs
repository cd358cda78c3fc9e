//! `StdoutAccumulator::resume_since`: the `sinceTime` a resumed timestamped read must send.

use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};

fn acc(cap: usize, mode: Mode) -> StdoutAccumulator {
    StdoutAccumulator::new(Config { cap_bytes: cap, mode }).unwrap()
}

#[test]
fn none_before_any_line_and_in_raw_mode() {
    let mut ts = acc(64, Mode::Timestamped);
    assert_eq!(ts.resume_since(), None);
    ts.begin_read();
    ts.push(b"").unwrap();
    ts.end_read().unwrap();
    assert_eq!(ts.resume_since(), None);

    let mut raw = acc(64, Mode::Raw);
    raw.begin_read();
    raw.push(b"hello\n").unwrap();
    raw.end_read().unwrap();
    assert_eq!(raw.resume_since(), None);
}

#[test]
fn floor_of_the_last_line_taken_in_utc() {
    let mut a = acc(8, Mode::Timestamped);
    a.begin_read();
    a.push(b"2024-05-01T10:20:30.999999999Z one\n2024-05-01T12:20:31.000000001+02:00 tw").unwrap();
    // The unfinished last line counts, and a line past the cap still moves the point.
    let point = a.resume_since().unwrap();
    assert_eq!(point.since_time(), "2024-05-01T10:20:31Z");
    assert_eq!(point.unix_seconds(), 1_714_558_831);
    assert_eq!(point.to_string(), point.since_time());
}

#[test]
fn a_resume_from_the_point_continues_exactly() {
    // A cut stream, then a reconnect at the resume point that re-serves the whole second.
    let mut a = acc(1024, Mode::Timestamped);
    a.begin_read();
    a.push(b"2024-05-01T10:20:29.000000000Z a\n2024-05-01T10:20:30.100000000Z b\n2024-05-01T10:20:30.2").unwrap();
    a.abandon_read();
    assert_eq!(a.resume_since().unwrap().since_time(), "2024-05-01T10:20:30Z");
    a.begin_read();
    a.push(b"2024-05-01T10:20:30.100000000Z b\n2024-05-01T10:20:30.200000000Z c\n").unwrap();
    a.end_read().unwrap();
    let out = a.finish();
    assert_eq!(out.stdout, b"a\nb\nc\n");
    assert_eq!(out.gaps, 0);
}
