//! Property tests: capText never splits a character or exceeds the cap; the
//! scanner equals a reference line splitter under any chunking; parsers never panic.

use proptest::prelude::*;
use tale_sandbox_contract::exec_spec::parse_exec_spec;
use tale_sandbox_contract::protocol::{parse_result_line, parse_started_line};
use tale_sandbox_contract::scanner::*;
use tale_sandbox_contract::text::{cap_text, strip_control_chars, strip_phase_markers};
use tale_sandbox_contract::wire::{ExecuteRequest, Phase};

/// Text over an alphabet that hits every interesting case: ASCII, 2/3/4-byte
/// characters, U+FFFD, newlines, CR, ESC.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a",
            "b",
            "\n",
            "\r",
            "é",
            "€",
            "😀",
            "\u{FFFD}",
            "\x1b",
            "PHASE: running",
            "PHASE: installing",
        ]),
        0..60,
    )
    .prop_map(|parts| parts.concat())
}

/// Bytes that are mostly text but may contain invalid UTF-8.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            8 => text().prop_map(String::into_bytes),
            1 => prop::collection::vec(any::<u8>(), 0..6),
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}

/// Merge adjacent deltas so differently chunked runs compare equal.
fn normalize(events: Vec<ScanEvent>) -> Vec<ScanEvent> {
    let mut out: Vec<ScanEvent> = Vec::new();
    for e in events {
        match (out.last_mut(), e) {
            (Some(ScanEvent::StdoutDelta(prev)), ScanEvent::StdoutDelta(next)) => {
                prev.push_str(&next)
            }
            (_, e) => out.push(e),
        }
    }
    out
}

/// Reference: decode everything at once, split on '\n', markers become
/// phases, the rest is text (with its '\n'), cut to the byte budget at a
/// character boundary; nothing after the first cut.
fn reference(bytes: &[u8], cap: usize) -> Vec<ScanEvent> {
    let decoded = String::from_utf8_lossy(bytes);
    let mut lines: Vec<&str> = decoded.split('\n').collect();
    let residual = lines.pop().unwrap_or("");
    let mut events = Vec::new();
    let mut budget = cap;
    let mut exhausted = false;
    let mut text = |t: String, events: &mut Vec<ScanEvent>| {
        if exhausted {
            return;
        }
        if t.len() <= budget {
            budget -= t.len();
            events.push(ScanEvent::StdoutDelta(t));
        } else {
            let mut end = budget;
            while !t.is_char_boundary(end) {
                end -= 1;
            }
            events.push(ScanEvent::StdoutDelta(t[..end].to_string()));
            exhausted = true;
        }
    };
    let phase = |l: &str| match l {
        "PHASE: installing" => Some(Phase::Installing),
        "PHASE: running" => Some(Phase::Running),
        _ => None,
    };
    for line in lines {
        match phase(line) {
            Some(p) => events.push(ScanEvent::Phase(p)),
            None => text(format!("{line}\n"), &mut events),
        }
    }
    if !residual.is_empty() {
        match phase(residual) {
            Some(p) => events.push(ScanEvent::Phase(p)),
            None => text(residual.to_string(), &mut events),
        }
    }
    normalize(
        events
            .into_iter()
            .filter(|e| !matches!(e, ScanEvent::StdoutDelta(t) if t.is_empty()))
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn cap_text_never_splits_or_exceeds(s in text(), cap in 0u64..80) {
        let (capped, cut) = cap_text(&s, cap);
        prop_assert!(capped.len() as u64 <= cap.max(s.len() as u64));
        if cut {
            prop_assert!(capped.len() as u64 <= cap);
            prop_assert!(s.starts_with(capped.as_ref()), "a prefix of the input");
            prop_assert!(!capped.ends_with(char::REPLACEMENT_CHARACTER), "no trailing U+FFFD");
        } else {
            prop_assert_eq!(capped.as_ref(), s.as_str());
            prop_assert!(s.len() as u64 <= cap);
        }
    }

    #[test]
    fn scanner_equals_reference_under_any_chunking(
        bytes in stream_bytes(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        cap in 0usize..400,
        max_line in 64usize..100,
    ) {
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut scanner = StreamScanner::new(ScannerOptions { max_line_bytes: max_line, ..ScannerOptions::new(cap as u64) });
        let mut events = Vec::new();
        let mut start = 0;
        for p in points.into_iter().chain([bytes.len()]) {
            events.extend(scanner.push(&bytes[start..p]));
            start = p;
        }
        events.extend(scanner.finish());
        let delivered: usize = events.iter().map(|e| match e { ScanEvent::StdoutDelta(t) => t.len(), _ => 0 }).sum();
        prop_assert!(delivered <= cap);
        prop_assert_eq!(normalize(events), reference(&bytes, cap));
    }

    #[test]
    fn text_helpers_never_panic_and_strip_is_idempotent_on_markers(s in text()) {
        let once = strip_phase_markers(&s);
        prop_assert_eq!(strip_phase_markers(&once), once.clone());
        let clean = strip_control_chars(&s);
        prop_assert!(!clean.contains('\r'));
    }

    #[test]
    fn parsers_never_panic(s in ".{0,200}", suffix in "[{}\":,0-9a-zA-Z\\[\\] ]{0,80}") {
        let _ = parse_result_line(&s);
        let _ = parse_started_line(&s);
        let _ = parse_result_line(&format!("__TALE_RESULT__ {suffix}"));
        let _ = parse_started_line(&format!("x\n__TALE_HARVEST_STARTED__{suffix}\n"));
        let _ = parse_exec_spec(&s);
        let _ = parse_exec_spec(&suffix);
        let _ = ExecuteRequest::from_json(&suffix);
    }
}

/// The TypeScript `ENTRY_PATH_RE` (/user and /workspace eras), evaluated by a
/// backtracking engine with look-ahead, as the reference for the rewrite.
fn ts_entry_path_re(variant: tale_sandbox_contract::config::ContractVariant) -> fancy_regex::Regex {
    use tale_sandbox_contract::config::ContractVariant;
    let pattern = match variant {
        ContractVariant::Workspace => {
            r"^(?:\/workspace\/(?:code|\.tale)\/(?!.*\.\.)[A-Za-z0-9_./-]{1,256}|(?!.*\.\.)[A-Za-z0-9_-][A-Za-z0-9_./-]{0,255})$"
        }
        _ => {
            r"^(?:\/user\/(?:code|\.runtime\/tale)\/(?!.*\.\.)[A-Za-z0-9_./-]{1,256}|(?!.*\.\.)[A-Za-z0-9_-][A-Za-z0-9_./-]{0,255})$"
        }
    };
    fancy_regex::Regex::new(pattern).unwrap()
}

fn entry_candidate() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "",
        "/user/code/",
        "/user/.runtime/tale/",
        "/workspace/code/",
        "/workspace/.tale/",
        "/user/",
        "/",
        "..",
        "./",
    ]);
    let body = prop::collection::vec(
        prop::sample::select(vec!["a", "Z", "9", "_", "-", ".", "/", "..", " ", ";", "é", "\n"]),
        0..12,
    )
    .prop_map(|p| p.concat());
    let long = prop::collection::vec(Just("a"), 250..262).prop_map(|p| p.concat());
    (prefix, prop_oneof![4 => body, 1 => long]).prop_map(|(p, b)| format!("{p}{b}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn entry_path_rule_equals_the_typescript_regex(candidate in entry_candidate()) {
        use tale_sandbox_contract::config::ContractVariant;
        use tale_sandbox_contract::names::is_safe_entry_path;
        for variant in [ContractVariant::Workspace, ContractVariant::User, ContractVariant::UserAttestUlimit] {
            let reference = ts_entry_path_re(variant).is_match(&candidate).unwrap();
            prop_assert_eq!(is_safe_entry_path(&candidate, variant), reference, "{:?} {:?}", candidate, variant);
        }
    }
}

#[test]
fn entry_path_rule_equals_the_typescript_regex_on_the_spec_cases() {
    use tale_sandbox_contract::config::ContractVariant;
    use tale_sandbox_contract::names::is_safe_entry_path;
    for case in [
        "main.py",
        "../escape.py",
        "/user/code/main.py",
        "/user/code/a..b",
        "a/../b",
        "",
        ".x",
        "/etc/passwd",
    ] {
        let v = ContractVariant::User;
        assert_eq!(
            is_safe_entry_path(case, v),
            ts_entry_path_re(v).is_match(case).unwrap(),
            "{case}"
        );
    }
}

/// JSON values `serde_json` and `JSON.stringify` write identically: keys that
/// are not array indices (so both orders are the sorted map order) and
/// integers a double holds exactly.
fn plain_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,3}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn js_number_text_reads_back_as_the_same_double(bits in any::<u64>()) {
        use tale_sandbox_contract::js_json::format_number;
        let value = f64::from_bits(bits);
        prop_assume!(value.is_finite());
        let text = format_number(value);
        prop_assert_eq!(text.parse::<f64>().unwrap(), value, "{}", text);
        // And JSON.parse reads it too.
        let parsed = tale_sandbox_contract::js_json::parse(&text).unwrap();
        prop_assert_eq!(parsed, tale_sandbox_contract::js_json::JsValue::Number(value));
    }

    #[test]
    fn js_json_writes_plain_json_like_serde_json(value in plain_json()) {
        let text = serde_json::to_string(&value).unwrap();
        let parsed = tale_sandbox_contract::js_json::parse(&text).unwrap();
        prop_assert_eq!(parsed.to_json(), text);
        let back: serde_json::Value = tale_sandbox_contract::js_json::from_value(&parsed).unwrap();
        prop_assert_eq!(back, value);
    }

    #[test]
    fn escaped_utf16_reads_like_buffer_from_and_writes_back(units in prop::collection::vec(
        prop_oneof![0xD800u16..0xE000, 0u16..0x80, any::<u16>()], 0..12)) {
        use tale_sandbox_contract::js_json::{JsValue, parse};
        let literal: String = units.iter().map(|u| format!("\\u{u:04X}")).collect();
        let parsed = parse(&format!("\"{literal}\"")).unwrap();
        let JsValue::String(s) = &parsed else { panic!("a string") };
        prop_assert_eq!(s.as_str(), String::from_utf16_lossy(&units));
        let written = parsed.to_json();
        prop_assert_eq!(parse(&written).unwrap(), parsed);
    }
}
