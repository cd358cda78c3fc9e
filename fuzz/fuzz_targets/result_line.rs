//! `parse_result_line` on arbitrary logs: never panics, whatever it accepts
//! formats to one line, and formatting is stable from the first re-parse on
//! (the first format may turn a non-finite number into `null`, as
//! `JSON.stringify` does, which then reads as the field's default).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::protocol::{format_result_line, parse_result_line};

fuzz_target!(|data: &[u8]| {
    let logs = String::from_utf8_lossy(data);
    if let Ok(Some(result)) = parse_result_line(&logs) {
        let line = format_result_line(&result);
        assert!(!line.contains('\n'));
        // A step's infinite `durationMs` is written as null, which a step does not accept.
        if let Ok(Some(again)) = parse_result_line(&line) {
            let line2 = format_result_line(&again);
            assert_eq!(parse_result_line(&line2).unwrap(), Some(again));
        }
    }
});
