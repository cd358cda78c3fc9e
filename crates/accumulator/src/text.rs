//! Turning the accumulated bytes into text without inventing characters.

use std::borrow::Cow;

/// Length of an incomplete UTF-8 sequence at the very end of `bytes` (0 if none).
///
/// Only a *valid prefix* of a multi-byte character counts: such bytes are what a cap, a
/// `limitBytes` cut or an unfinished write leaves behind, and decoding them would invent a
/// U+FFFD that is not in the program's output.
pub(crate) fn incomplete_suffix_len(bytes: &[u8]) -> usize {
    let tail_start = bytes.len().saturating_sub(3);
    for start in (tail_start..bytes.len()).rev() {
        let b = bytes[start];
        if b & 0b1100_0000 == 0b1000_0000 {
            continue; // continuation byte: keep looking for the lead byte
        }
        let needed = match b {
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => return 0,
        };
        let have = bytes.len() - start;
        if have >= needed {
            return 0;
        }
        // A valid prefix also respects the second-byte ranges of E0/ED/F0/F4.
        return match std::str::from_utf8(&bytes[start..]) {
            Err(e) if e.error_len().is_none() => have,
            _ => 0,
        };
    }
    0
}

/// Decodes `bytes` as UTF-8 (invalid sequences inside become U+FFFD), dropping an
/// incomplete character at the end.
pub(crate) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let end = bytes.len() - incomplete_suffix_len(bytes);
    String::from_utf8_lossy(&bytes[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_only_incomplete_trailing_characters() {
        let euro = "€".as_bytes();
        assert_eq!(decode(&euro[..1]), "");
        assert_eq!(decode(&euro[..2]), "");
        assert_eq!(decode(euro), "€");
        let emoji = "a😀".as_bytes();
        for cut in 1..emoji.len() {
            assert_eq!(decode(&emoji[..cut]), "a");
        }
        assert_eq!(decode(emoji), "a😀");
    }

    #[test]
    fn keeps_invalid_bytes_as_replacement() {
        // A lone continuation byte or an impossible lead byte is in the data, not cut by us.
        assert_eq!(decode(b"a\x80"), "a\u{FFFD}");
        assert_eq!(decode(b"a\xFF"), "a\u{FFFD}");
        // ED A0 can never start a valid character (surrogates), so it is not "incomplete".
        assert_eq!(decode(b"a\xED\xA0"), "a\u{FFFD}\u{FFFD}");
        assert_eq!(decode(b"\xE2\x82\xAC\xE2"), "€");
    }
}
