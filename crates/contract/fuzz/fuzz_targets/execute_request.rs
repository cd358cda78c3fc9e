//! `ExecuteRequest::from_json` on arbitrary text: never panics; accepted
//! requests round-trip through serialization.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::wire::ExecuteRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(req) = ExecuteRequest::from_json(text) {
        let _ = req.check_backend_acceptance();
        let again = serde_json::to_string(&req).unwrap();
        assert_eq!(ExecuteRequest::from_json(&again).unwrap(), req);
    }
});
