//! Differential check against V8: `tests/golden/contract/text-vectors.jsonl`
//! holds random strings with the results of the spec's JavaScript regexes
//! (`stripControlChars`, `stripPhaseMarkers`, `capText`, `/killed/i`,
//! `EGRESS_DENIED_RE`, `PACKAGE_NOT_FOUND_RE`) as computed by node
//! (`gen-text-vectors.cjs` next to it). No JavaScript runs at test time.

use std::path::PathBuf;

use tale_sandbox_contract::response::classify_failure;
use tale_sandbox_contract::text::{cap_text, strip_control_chars, strip_phase_markers};
use tale_sandbox_contract::wire::ErrorCode;

#[test]
fn text_helpers_and_classifier_agree_with_v8() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/contract/text-vectors.jsonl");
    let text = std::fs::read_to_string(path).expect("vector file exists");
    let mut count = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = v["s"].as_str().unwrap();
        assert_eq!(
            strip_control_chars(s),
            v["strip"].as_str().unwrap(),
            "stripControlChars({s:?})"
        );
        assert_eq!(
            strip_phase_markers(s),
            v["phases"].as_str().unwrap(),
            "stripPhaseMarkers({s:?})"
        );
        let (capped, cut) = cap_text(s, v["m"].as_u64().unwrap());
        assert_eq!(capped.as_ref(), v["cap"].as_str().unwrap(), "capText({s:?})");
        assert_eq!(cut, v["cut"].as_bool().unwrap(), "capText({s:?}) flag");
        let oom = classify_failure(137, s, None).code == ErrorCode::Oom;
        assert_eq!(oom, v["killed"].as_bool().unwrap(), "/killed/i on {s:?}");
        let egress = classify_failure(1, s, None).code == ErrorCode::EgressDenied;
        assert_eq!(egress, v["egress"].as_bool().unwrap(), "EGRESS_DENIED_RE on {s:?}");
        let pkg = classify_failure(64, s, None).code == ErrorCode::PackageNotFound;
        assert_eq!(pkg, v["pkg"].as_bool().unwrap(), "PACKAGE_NOT_FOUND_RE on {s:?}");
        count += 1;
    }
    assert_eq!(count, 1500, "every vector was checked");
}

/// `scanner-vectors.jsonl`: chunked byte streams (including invalid UTF-8
/// split across chunks) with the events of the spec §5.5 scanner driven by
/// V8's streaming `TextDecoder`. Budget and line limit are never reached
/// there, so the Rust scanner must produce the very same events.
#[test]
fn scanner_agrees_with_v8_text_decoder() {
    use tale_sandbox_contract::scanner::{ScanEvent, ScannerOptions, StreamScanner};
    use tale_sandbox_contract::wire::Phase;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/golden/contract/scanner-vectors.jsonl");
    let text = std::fs::read_to_string(path).expect("vector file exists");
    let mut count = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut scanner = StreamScanner::new(ScannerOptions::new(1 << 30));
        let mut events = Vec::new();
        for chunk in v["chunks"].as_array().unwrap() {
            let bytes: Vec<u8> =
                chunk.as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect();
            events.extend(scanner.push(&bytes));
        }
        events.extend(scanner.finish());
        let expected: Vec<ScanEvent> = v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| match (e.get("phase"), e.get("delta")) {
                (Some(p), _) if p == "installing" => ScanEvent::Phase(Phase::Installing),
                (Some(_), _) => ScanEvent::Phase(Phase::Running),
                (None, Some(d)) => ScanEvent::StdoutDelta(d.as_str().unwrap().to_string()),
                _ => panic!("bad vector event {e}"),
            })
            .collect();
        assert_eq!(events, expected, "chunks {}", v["chunks"]);
        count += 1;
    }
    assert_eq!(count, 600, "every vector was checked");
}
