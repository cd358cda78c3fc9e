//! Timestamped mode: where a new response is placed against the last line group taken (the
//! mark) when its first lines could be read more than one way — a re-served group, the
//! continuation of the line before it, the tail of a skipped line, or another file. Each
//! sequence here once produced wrong output or repeated bytes.

use tale_sandbox_accumulator::{Config, Mode, StdoutAccumulator};

fn p(s: u32, n: u32) -> String {
    format!("2026-11-26T10:00:{s:02}.{n:09}Z ")
}

fn run(reads: &[String]) -> (Vec<u8>, u64) {
    let mut acc =
        StdoutAccumulator::new(Config { cap_bytes: 100, mode: Mode::Timestamped }).unwrap();
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
    let (stdout, gaps) = run(&[
        format!("{}ok\n", p(1, 5)),
        format!("{a}first new line\n{a}ok\n{a}second\n", a = p(1, 5)),
    ]);
    let exact = stdout == b"ok\nfirst new line\nok\nsecond\n";
    assert!(exact || gaps > 0, "silent wrong output: {:?}", String::from_utf8_lossy(&stdout));
}

#[test]
fn continuation_reading_needs_a_line_before_the_group_empty_lines() {
    let t = p(1, 5);
    let (stdout, gaps) = run(&[format!("{t}\n"), format!("{t}a\n{t}\n{t}b")]);
    assert!(
        stdout == b"\na\n\nb" || gaps > 0,
        "silent wrong output: {:?}",
        String::from_utf8_lossy(&stdout)
    );
}

/// Line content shaped like a kubelet prefix at the start of a `sinceTime` response (the tail
/// of a line whose start was skipped) must not make bytes repeat.
#[test]
fn prefix_shaped_content_in_a_leading_tail_does_not_repeat_bytes() {
    let forged = "2099-01-01T00:00:00.000000000Z zzz\n";
    let (stdout, _) = run(&[
        format!("{}AAAA{forged}{}B\n", p(1, 0), p(2, 700_000_000)),
        format!("{forged}{}B\n", p(2, 700_000_000)),
    ]);
    assert_eq!(String::from_utf8_lossy(&stdout), format!("AAAA{forged}B\n"));
}

/// A response whose first line may be either the mark's group or the continuation of the line
/// before it holds what follows until one reading is ruled out. Fed one byte at a time (a
/// program writing slowly), the outcome must be the one of a single chunk; the undecided state
/// re-checks the continuation only as the held bytes double, so this is not quadratic either.
#[test]
fn an_undecided_response_fed_byte_by_byte_ends_as_one_fed_whole() {
    let group = "G".repeat(60_000);
    let reads = [
        format!("{}QQQQ{group}\n{}{group}\n", p(1, 0), p(2, 0)),
        format!("{t}{group}\n{t}{group}\n{}tail\n", p(3, 0), t = p(2, 0)),
    ];
    let feed = |chunk: usize| {
        let mut acc =
            StdoutAccumulator::new(Config { cap_bytes: 1 << 20, mode: Mode::Timestamped }).unwrap();
        let mut delivered = Vec::new();
        for body in &reads {
            delivered.extend_from_slice(acc.begin_read());
            for piece in body.as_bytes().chunks(chunk) {
                delivered.extend_from_slice(acc.push(piece).unwrap());
            }
            delivered.extend_from_slice(acc.end_read().unwrap());
        }
        let out = acc.finish();
        assert_eq!(out.stdout, &delivered[..]);
        (out.stdout.to_vec(), out.gaps, out.total_bytes, out.rotations)
    };
    let whole = feed(usize::MAX);
    assert_eq!(feed(1), whole);
    assert_eq!(feed(7), whole);
    let (stdout, gaps, ..) = whole;
    // Nothing repeated: what was taken first, then at most the second group and the tail.
    let first = format!("QQQQ{group}\n{group}\n");
    assert!(stdout.starts_with(first.as_bytes()) && stdout.ends_with(b"tail\n"));
    assert!(stdout.len() <= first.len() + group.len() + 1 + 5);
    assert!(stdout.len() == first.len() + group.len() + 1 + 5 || gaps > 0);
}

/// Records sharing one nanosecond on both sides of two rotations (found by the kubelet model
/// once it wrote same-time records): a response whose line group differs from the mark was taken
/// as another file, but when that was decided at a line start the mark kept the old group, so the
/// next read of the same file differed again and its last line was taken twice.
#[test]
fn a_group_taken_as_another_file_becomes_the_mark_also_at_a_line_start() {
    let (t0, t1) = (p(0, 0), p(0, 1));
    let gen2 = format!("{t1}\n{t1}#10000\n{t1}a");
    let mut acc =
        StdoutAccumulator::new(Config { cap_bytes: 1200, mode: Mode::Timestamped }).unwrap();
    for body in [format!("{t0}a"), format!("{t1}\n{t1}a"), gen2.clone(), gen2] {
        acc.begin_read();
        acc.push(body.as_bytes()).unwrap();
        acc.end_read().unwrap();
    }
    let out = acc.finish();
    let truth = b"a\na\n#10000\na";
    let mut rest = &truth[..];
    for &b in out.stdout {
        let at = rest.iter().position(|&t| t == b);
        assert!(
            at.is_some(),
            "{:?} is not made of in-order pieces of {:?}",
            String::from_utf8_lossy(out.stdout),
            String::from_utf8_lossy(truth)
        );
        rest = &rest[at.unwrap() + 1..];
    }
    assert!(out.gaps > 0);
}
