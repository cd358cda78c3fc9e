//! `parse_result_line` on arbitrary logs: never panics, and whatever it
//! accepts survives a format → parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::protocol::{format_result_line, parse_result_line};

fuzz_target!(|data: &[u8]| {
    let logs = String::from_utf8_lossy(data);
    if let Ok(Some(result)) = parse_result_line(&logs) {
        let line = format_result_line(&result);
        assert!(!line.contains('\n'));
        assert_eq!(parse_result_line(&line).unwrap(), Some(result));
    }
});
