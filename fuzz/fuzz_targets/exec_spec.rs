//! `parse_exec_spec` on arbitrary text: never panics; an accepted spec
//! writes a `spec.json` that is accepted again and writes itself back
//! byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::exec_spec::parse_exec_spec;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(spec) = parse_exec_spec(text) {
        let json = spec.to_json();
        let again = parse_exec_spec(&json).unwrap();
        assert_eq!(again.to_json(), json);
        // The serde view of the spec is JSON too.
        serde_json::to_string(&spec).unwrap();
    }
});
