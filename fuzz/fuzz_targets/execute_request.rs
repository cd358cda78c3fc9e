//! `ExecuteRequest::from_json` on arbitrary text: never panics; the verbatim
//! request of an accepted one is accepted again, reads as the same typed
//! fields when all its numbers were finite, and writes itself back unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::wire::ExecuteRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(req) = ExecuteRequest::from_json(text) {
        let _ = req.check_backend_acceptance();
        let verbatim = req.verbatim().to_json();
        let again = ExecuteRequest::from_json(&verbatim).unwrap();
        assert_eq!(again.verbatim().to_json(), verbatim);
        if !verbatim.contains("null") {
            let typed = |r: &ExecuteRequest| ExecuteRequest { received: None, ..r.clone() };
            assert_eq!(typed(&again), typed(&req));
        }
        // The typed view serializes to a request that is accepted too.
        let typed_json = serde_json::to_string(&req).unwrap();
        ExecuteRequest::from_json(&typed_json).unwrap();
    }
});
