//! `js_json::parse` on arbitrary text: never panics; it accepts what
//! `serde_json` accepts (apart from numbers beyond f64 range, which
//! JavaScript reads as Infinity, and nesting beyond 128 levels); and
//! `JSON.stringify` of an accepted value is parsed back to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::js_json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ours = js_json::parse(text);
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(_) => assert!(ours.is_ok(), "serde_json accepts {text:?}: {ours:?}"),
        Err(e) => {
            let lenient = e.to_string().contains("out of range")
                || e.to_string().contains("recursion limit")
                || e.to_string().contains("lone leading surrogate")
                || e.to_string().contains("unexpected end of hex escape")
                || e.to_string().contains("invalid unicode code point");
            if !lenient {
                assert!(ours.is_err(), "serde_json rejects {text:?} ({e}), we accept");
            }
        }
    }
    if let Ok(value) = ours {
        let json = value.to_json();
        assert_eq!(js_json::parse(&json).unwrap().to_json(), json);
    }
});
