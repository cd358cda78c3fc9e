//! `cap_text`, `strip_control_chars`, `strip_phase_markers` on arbitrary
//! text: never panic; `cap_text` returns a prefix within the cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::text::{cap_text, strip_control_chars, strip_phase_markers};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let cap = u64::from(u16::from_le_bytes([data[0], data[1]]) % 512);
    let text = String::from_utf8_lossy(&data[2..]);
    let clean = strip_control_chars(&strip_phase_markers(&text));
    assert!(!clean.contains('\r'));
    let (capped, cut) = cap_text(&clean, cap);
    assert!(clean.starts_with(capped.as_ref()));
    assert_eq!(cut, clean.len() as u64 > cap);
    if cut {
        assert!(capped.len() as u64 <= cap);
    }
});
