//! `parse_exec_spec` on arbitrary text: never panics; an accepted spec
//! re-serializes to a spec it accepts again, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::exec_spec::parse_exec_spec;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(spec) = parse_exec_spec(text) {
        let again = serde_json::to_string(&spec).unwrap();
        assert_eq!(parse_exec_spec(&again).unwrap(), spec);
    }
});
