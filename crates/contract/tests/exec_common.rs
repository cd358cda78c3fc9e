//! Spec §7.4 (`exec-common.test.ts`) and the text helpers of §5.3–§5.4.
//! (§7.4 cases 7–8 exercise the in-pod `harvestOutputDir` file walk, which is
//! I/O in the harvest container and not part of this crate.)

use tale_sandbox_contract::response::{OomHint, classify_failure};
use tale_sandbox_contract::text::{cap_text, strip_control_chars, strip_phase_markers};
use tale_sandbox_contract::wire::ErrorCode;

#[test]
fn exit_124_is_timeout() {
    assert_eq!(classify_failure(124, "anything", None).code, ErrorCode::Timeout);
}

#[test]
fn exit_137_oom_or_sigkill() {
    let c = classify_failure(137, "", None);
    assert_eq!((c.code, c.message.as_str()), (ErrorCode::Timeout, "Container killed (SIGKILL)"));
    let c = classify_failure(137, "bash: line 1: Killed", None);
    assert_eq!((c.code, c.message.as_str()), (ErrorCode::Oom, "Container killed (likely OOM)"));
    assert_eq!(classify_failure(137, "", Some(OomHint { oom_killed: true })).code, ErrorCode::Oom);
    assert_eq!(
        classify_failure(137, "", Some(OomHint { oom_killed: false })).code,
        ErrorCode::Timeout
    );
    // JavaScript's /killed/i without the u flag does not fold the Kelvin sign.
    assert_eq!(classify_failure(137, "\u{212A}illed", None).code, ErrorCode::Timeout);
}

#[test]
fn exit_64_install_failures() {
    assert_eq!(
        classify_failure(64, "ERROR: No matching distribution found for nope", None).code,
        ErrorCode::PackageNotFound
    );
    assert_eq!(classify_failure(64, "npm ERR! code E404", None).code, ErrorCode::PackageNotFound);
    assert_eq!(classify_failure(64, "403 Filtered by proxy", None).code, ErrorCode::EgressDenied);
    let c = classify_failure(64, "something else", None);
    assert_eq!((c.code, c.message.as_str()), (ErrorCode::InstallFailed, "Package install failed"));
}

#[test]
fn other_exit_codes() {
    let c = classify_failure(65, "", None);
    assert_eq!(
        (c.code, c.message.as_str()),
        (ErrorCode::SpawnerUnavailable, "Sandbox runtime rejected the invocation")
    );
    let c = classify_failure(3, "", None);
    assert_eq!(
        (c.code, c.message.as_str()),
        (ErrorCode::RuntimeError, "User code exited with status 3")
    );
    assert_eq!(
        classify_failure(1, "Tunnel connection failed: 403", None).code,
        ErrorCode::EgressDenied
    );
    assert_eq!(classify_failure(1, "urllib3 PROXYERROR", None).code, ErrorCode::EgressDenied);
    assert_eq!(classify_failure(-9, "", None).message, "User code exited with status -9");
}

#[test]
fn cap_text_cases() {
    assert_eq!(cap_text("hello", 100), ("hello".into(), false));
    let (text, cut) = cap_text("€€", 4);
    assert_eq!((text.as_ref(), cut), ("€", true));
    assert!(!text.contains('\u{FFFD}'));
    // A real U+FFFD just before the cut is removed too (TS trims all trailing U+FFFD).
    assert_eq!(cap_text("a\u{FFFD}bc", 4), ("a".into(), true));
    // Exactly at the cap nothing changes, even a trailing U+FFFD.
    assert_eq!(cap_text("a\u{FFFD}", 4), ("a\u{FFFD}".into(), false));
    // 😀 is 4 bytes: cuts after 1, 2 or 3 of its bytes all drop it.
    for cap in 1..=3 {
        assert_eq!(cap_text("😀😀", cap + 4).0, "😀", "cap {}", cap + 4);
    }
    assert_eq!(cap_text("😀😀", 8), ("😀😀".into(), false));
    assert_eq!(cap_text("abc", 0), ("".into(), true));
}

#[test]
fn strip_phase_markers_cases() {
    assert_eq!(
        strip_phase_markers("PHASE: installing\nout\nPHASE: running\nmore\n"),
        "out\nmore\n"
    );
    assert_eq!(strip_phase_markers("PHASE: running\r\nx"), "PHASE: running\r\nx");
    assert_eq!(strip_phase_markers("a\nPHASE: running"), "a");
    assert_eq!(strip_phase_markers(""), "");
}

#[test]
fn strip_control_chars_cases() {
    assert_eq!(strip_control_chars("\x1b[1;31mred\x1b[0m"), "red");
    assert_eq!(strip_control_chars("\x1b]0;title\x07text"), "text");
    assert_eq!(strip_control_chars("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), "link");
    assert_eq!(strip_control_chars("a\r\nb\rc"), "a\nb\nc");
    assert_eq!(
        strip_control_chars("bell\x07 bs\x08 vt\x0b ff\x0c so\x0e us\x1f"),
        "bell bs vt ff so us"
    );
    // Kept: TAB, NUL..0x06, lone ESC, DEL, C1, unterminated OSC.
    let kept = "\t\x00\x06\x1b \x7f\u{85}\u{9b}";
    assert_eq!(strip_control_chars(kept), kept);
    assert_eq!(strip_control_chars("\x1b]unterminated"), "\x1b]unterminated");
    // The OSC-BEL rule runs first and may span lines.
    assert_eq!(strip_control_chars("x\x1b]a\nb\x07y"), "xy");
    // Progress-bar carriage returns become newlines.
    assert_eq!(strip_control_chars("10%\r50%\r100%\n"), "10%\n50%\n100%\n");
}
