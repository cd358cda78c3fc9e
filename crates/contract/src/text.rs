//! Text helpers of exec-common.ts (spec §5.3–§5.4): `stripPhaseMarkers`,
//! `stripControlChars`, `capText`.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::constants::{PHASE_INSTALL, PHASE_RUN};

/// `stripPhaseMarkers(text)`: drop `\n`-separated lines exactly equal to a
/// phase marker (no trimming: `PHASE: running\r` stays). A trailing newline
/// is preserved.
pub fn strip_phase_markers(text: &str) -> String {
    text.split('\n')
        .filter(|line| *line != PHASE_INSTALL && *line != PHASE_RUN)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `ANSI_OSC_BEL_RE`.
static ANSI_OSC_BEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\][^\x07]*\x07").expect("valid regex"));
/// `ANSI_OSC_ST_RE`.
static ANSI_OSC_ST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\][^\x1b]*\x1b\\").expect("valid regex"));
/// `ANSI_CSI_RE`.
static ANSI_CSI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").expect("valid regex"));
/// `ESC_AND_CONTROL_RE`.
static ESC_AND_CONTROL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\x07\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]").expect("valid regex"));

/// `stripControlChars(text)`: remove OSC (BEL- then ST-terminated), CSI
/// sequences and the bare control characters of `ESC_AND_CONTROL_RE`, then
/// turn `\r\n` and lone `\r` into `\n`. TAB, LF, NUL–0x06, a lone ESC, DEL,
/// C1 controls and unterminated OSC sequences are kept.
pub fn strip_control_chars(text: &str) -> String {
    let text = ANSI_OSC_BEL.replace_all(text, "");
    let text = ANSI_OSC_ST.replace_all(&text, "");
    let text = ANSI_CSI.replace_all(&text, "");
    let text = ESC_AND_CONTROL.replace_all(&text, "");
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Largest `i <= max` that is a char boundary of `text`.
pub(crate) fn floor_char_boundary(text: &str, max: usize) -> usize {
    if max >= text.len() {
        return text.len();
    }
    let mut i = max;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `capText(text, maxBytes)`: `(text, false)` when its UTF-8 form fits;
/// otherwise the first `maxBytes` bytes without the character the cut split,
/// and without any U+FFFD immediately before the cut (the TypeScript removes
/// all trailing U+FFFD after its lossy decode), and `true`.
///
/// The result never exceeds `max_bytes` bytes and never ends in a partial
/// character; no truncation marker is appended.
pub fn cap_text(text: &str, max_bytes: u64) -> (Cow<'_, str>, bool) {
    let max = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    if text.len() <= max {
        return (Cow::Borrowed(text), false);
    }
    let head = &text[..floor_char_boundary(text, max)];
    (Cow::Borrowed(head.trim_end_matches('\u{FFFD}')), true)
}
