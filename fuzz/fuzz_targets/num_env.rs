//! `num_env` (`numEnv`) on arbitrary values: never panics, and an accepted
//! value respects the bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tale_sandbox_contract::config::num_env;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(v) = num_env("SANDBOX_STDOUT_MAX_BYTES", Some(text), 5, 1024, Some(1 << 40)) {
        assert!(v == 5 || (1024..=(1 << 40)).contains(&v));
    }
});
