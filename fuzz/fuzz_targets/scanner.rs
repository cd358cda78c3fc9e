//! The stream scanner on arbitrary bytes and chunkings: never panics, never
//! exceeds its byte budget, and its text is a prefix of the stream without
//! phase-marker lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::scanner::{ScanEvent, ScannerOptions, StreamScanner};

/// The stream text with marker lines removed, each kept line with its '\n'.
fn expected_text(bytes: &[u8]) -> String {
    let decoded = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut parts = decoded.split('\n').peekable();
    while let Some(line) = parts.next() {
        let last = parts.peek().is_none();
        if line == "PHASE: installing" || line == "PHASE: running" {
            continue;
        }
        out.push_str(line);
        if !last {
            out.push('\n');
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let cap = u64::from(u16::from_le_bytes([data[0], data[1]]));
    let chunk = usize::from(data[2] % 32) + 1;
    let stream = &data[3..];
    let mut scanner =
        StreamScanner::new(ScannerOptions { max_line_bytes: 64, ..ScannerOptions::new(cap) });
    let mut events = Vec::new();
    for piece in stream.chunks(chunk) {
        events.extend(scanner.push(piece));
    }
    events.extend(scanner.finish());
    let text: String = events
        .iter()
        .filter_map(|e| match e {
            ScanEvent::StdoutDelta(t) => Some(t.as_str()),
            ScanEvent::Phase(_) => None,
        })
        .collect();
    assert!(text.len() as u64 <= cap);
    assert_eq!(text.len() as u64, scanner.delivered_bytes());
    assert!(expected_text(stream).starts_with(&text));
});
