//! `parse_started_line` on arbitrary logs: never panics, round-trips what it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::protocol::{format_started_line, parse_started_line};

fuzz_target!(|data: &[u8]| {
    let logs = String::from_utf8_lossy(data);
    if let Ok(Some(info)) = parse_started_line(&logs) {
        assert_eq!(parse_started_line(&format_started_line(&info)).unwrap(), Some(info));
    }
});
