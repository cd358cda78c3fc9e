//! Regression tests for sequences found by an adversarial review (each once produced wrong
//! output or repeated bytes).

use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};

fn p(s: u32, n: u32) -> String {
    format!("2026-11-26T10:00:{s:02}.{n:09}Z ")
}

fn run(reads: &[String]) -> (Vec<u8>, u64) {
    let mut acc = StdoutAccumulator::new(Config { cap_bytes: 100, mode: Mode::Timestamped }).unwrap();
    for body in reads {
        acc.begin_read();
        acc.push(body.as_bytes()).unwrap();
        acc.end_read().unwrap();
    }
    let out = acc.finish();
    (out.stdout.to_vec(), out.gaps)
}

/// Nothing is before the group, so the first line cannot be the end of an earlier line: the
/// continuation reading must not win (it silently dropped "first new line\nok\n").
#[test]
fn continuation_reading_needs_a_line_before_the_group() {
    let (stdout, gaps) = run(&[format!("{}ok\n", p(1, 5)), format!("{a}first new line\n{a}ok\n{a}second\n", a = p(1, 5))]);
    let exact = stdout == b"ok\nfirst new line\nok\nsecond\n";
    assert!(exact || gaps > 0, "silent wrong output: {:?}", String::from_utf8_lossy(&stdout));
}

#[test]
fn continuation_reading_needs_a_line_before_the_group_empty_lines() {
    let t = p(1, 5);
    let (stdout, gaps) = run(&[format!("{t}\n"), format!("{t}a\n{t}\n{t}b")]);
    assert!(stdout == b"\na\n\nb" || gaps > 0, "silent wrong output: {:?}", String::from_utf8_lossy(&stdout));
}

/// Line content shaped like a kubelet prefix at the start of a `sinceTime` response (the tail
/// of a line whose start was skipped) must not make bytes repeat.
#[test]
fn prefix_shaped_content_in_a_leading_tail_does_not_repeat_bytes() {
    let forged = "2099-01-01T00:00:00.000000000Z zzz\n";
    let (stdout, _) = run(&[format!("{}AAAA{forged}{}B\n", p(1, 0), p(2, 700_000_000)), format!("{forged}{}B\n", p(2, 700_000_000))]);
    assert_eq!(String::from_utf8_lossy(&stdout), format!("AAAA{forged}B\n"));
}
