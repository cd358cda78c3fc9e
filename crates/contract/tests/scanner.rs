//! The live-progress scanner (spec §5.5), including the W8/W9 fixes.

use tale_sandbox_contract::scanner::*;
use tale_sandbox_contract::wire::Phase;

fn delta(s: &str) -> ScanEvent {
    ScanEvent::StdoutDelta(s.to_string())
}

fn feed_all(scanner: &mut StreamScanner, chunks: &[&[u8]]) -> Vec<ScanEvent> {
    let mut out = Vec::new();
    for c in chunks {
        out.extend(scanner.push(c));
    }
    out.extend(scanner.finish());
    out
}

#[test]
fn markers_fire_phases_and_lines_become_deltas_with_newline() {
    let mut s = StreamScanner::new(ScannerOptions::new(1 << 20));
    let events = feed_all(
        &mut s,
        &[b"PHASE: installing\nCollecting x\nPHA", b"SE: running\nhello\nwor", b"ld"],
    );
    assert_eq!(
        events,
        [
            ScanEvent::Phase(Phase::Installing),
            delta("Collecting x\n"),
            ScanEvent::Phase(Phase::Running),
            delta("hello\n"),
            delta("world"),
        ]
    );
}

#[test]
fn residual_marker_fires_on_finish_and_finish_is_idempotent() {
    let mut s = StreamScanner::new(ScannerOptions::new(100));
    assert_eq!(s.push(b"PHASE: running"), []);
    assert_eq!(s.finish(), [ScanEvent::Phase(Phase::Running)]);
    assert_eq!(s.finish(), []);
    assert_eq!(s.push(b"late\n"), [], "chunks after finish are ignored");
}

#[test]
fn marker_with_carriage_return_is_text() {
    let mut s = StreamScanner::new(ScannerOptions::new(100));
    assert_eq!(s.push(b"PHASE: running\r\n"), [delta("PHASE: running\r\n")]);
}

#[test]
fn utf8_split_across_chunks_and_invalid_bytes() {
    let euro = "€".as_bytes();
    let mut s = StreamScanner::new(ScannerOptions::new(100));
    let events = feed_all(&mut s, &[&euro[..1], &euro[1..], b"\n\xff\xfeok\n\xf0\x9f"]);
    assert_eq!(events, [delta("€\n"), delta("\u{FFFD}\u{FFFD}ok\n"), delta("\u{FFFD}")]);
}

#[test]
fn w8_budget_counts_bytes_and_never_overshoots() {
    // "日本語\n" is 10 bytes; the TypeScript counted 4 units per line and sent ~3x the cap.
    let mut s = StreamScanner::new(ScannerOptions::new(25));
    let events = feed_all(
        &mut s,
        &[b"PHASE: installing\n", "日本語\n日本語\n日本語\n".as_bytes(), b"PHASE: running\nx"],
    );
    assert_eq!(
        events,
        [
            ScanEvent::Phase(Phase::Installing),
            delta("日本語\n"),
            delta("日本語\n"),
            delta("日"), // 20 + 3 = 23 bytes; "本" would exceed 25
            ScanEvent::Phase(Phase::Running),
        ]
    );
    assert_eq!(s.delivered_bytes(), 23);
    assert!(s.budget_exhausted());
}

#[test]
fn w8_residual_line_is_under_the_budget() {
    let mut s = StreamScanner::new(ScannerOptions::new(3));
    assert_eq!(feed_all(&mut s, &[b"abcdef"]), [delta("abc")]);
}

#[test]
fn w9_newline_free_output_is_streamed_in_pieces_without_fake_newlines() {
    let opts = ScannerOptions { max_line_bytes: 64, ..ScannerOptions::new(1 << 20) };
    let mut s = StreamScanner::new(opts);
    let mut text = String::new();
    let mut events = Vec::new();
    for _ in 0..100 {
        events.extend(s.push(&[b'z'; 50]));
        text.push_str(&"z".repeat(50));
    }
    events.extend(s.push(b"!\nnext\n"));
    events.extend(s.finish());
    let joined: String = events
        .iter()
        .map(|e| match e {
            ScanEvent::StdoutDelta(t) => t.as_str(),
            ScanEvent::Phase(_) => panic!("no phases here"),
        })
        .collect();
    assert_eq!(joined, format!("{text}!\nnext\n"), "deltas concatenate to the stream");
    assert_eq!(joined.matches('\n').count(), 2, "no artificial line breaks");
    assert!(events.len() > 50, "delivered as it arrives, not held until the newline");
}

#[test]
fn w9_tail_of_a_long_line_is_not_a_marker() {
    let opts = ScannerOptions { max_line_bytes: 64, ..ScannerOptions::new(1 << 20) };
    let mut s = StreamScanner::new(opts);
    let mut events = s.push(&[b'q'; 100]);
    events.extend(s.push(b"PHASE: running\n"));
    assert!(!events.contains(&ScanEvent::Phase(Phase::Running)));
    assert_eq!(events.last(), Some(&delta("PHASE: running\n")));
}

#[test]
fn emit_flags() {
    let phases_only = ScannerOptions { emit_deltas: false, ..ScannerOptions::new(100) };
    let mut s = StreamScanner::new(phases_only);
    assert_eq!(feed_all(&mut s, &[b"a\nPHASE: running\nb"]), [ScanEvent::Phase(Phase::Running)]);
    let deltas_only = ScannerOptions { emit_phases: false, ..ScannerOptions::new(100) };
    let mut s = StreamScanner::new(deltas_only);
    assert_eq!(feed_all(&mut s, &[b"a\nPHASE: running\nb"]), [delta("a\n"), delta("b")]);
}
