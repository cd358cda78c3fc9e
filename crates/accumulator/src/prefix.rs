//! The kubelet's `timestamps=true` line prefix: `2006-01-02T15:04:05.000000000Z07:00` and a space.
//!
//! The kubelet always prints exactly nine fraction digits, so the shape is fixed: 31 bytes with
//! `Z`, 36 with a numeric offset. The shape is checked byte by byte (it must be decidable on a
//! chunk that ends inside the prefix); the calendar maths is left to the `time` crate, and only
//! once per distinct second because consecutive lines almost always share it.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A kubelet record time in nanoseconds since the Unix epoch.
pub(crate) type Nanos = i128;

/// Longest prefix: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+HH:MM `.
pub(crate) const MAX_PREFIX_LEN: usize = 36;
const FRACTION: std::ops::Range<usize> = 20..29;
const ZONE_AT: usize = 29;
/// Length of a prefix in UTC (`Z`) form, the kubelet's usual one.
const UTC_LEN: usize = 31;

/// What feeding bytes at a line start found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Every byte was buffered; the prefix is not complete yet.
    Incomplete,
    /// A valid prefix ended after `used` bytes of the input just fed.
    Complete { used: usize, ts: Nanos },
    /// The bytes cannot be a prefix; `used` bytes of this input were buffered (see [`PrefixParser::pending`]).
    Invalid { used: usize },
}

/// Incremental parser of one line prefix, with a cache of the last second seen.
#[derive(Debug, Clone)]
pub(crate) struct PrefixParser {
    buf: [u8; MAX_PREFIX_LEN],
    len: usize,
    second: Option<SecondCache>,
}

#[derive(Debug, Clone, Copy)]
struct SecondCache {
    /// `YYYY-MM-DDTHH:MM:SS` followed by the zone bytes, as seen.
    head: [u8; 19],
    zone: [u8; 6],
    zone_len: usize,
    base: Nanos,
}

/// Expected byte class at each position of the fixed shape.
fn fits(pos: usize, b: u8, zone: u8) -> bool {
    match pos {
        4 | 7 => b == b'-',
        10 => b == b'T',
        13 | 16 => b == b':',
        19 => b == b'.',
        ZONE_AT => matches!(b, b'Z' | b'+' | b'-'),
        30 if zone == b'Z' => b == b' ',
        32 => b == b':',
        35 => b == b' ',
        _ => b.is_ascii_digit(),
    }
}

fn full_len(zone: u8) -> usize {
    if zone == b'Z' { 31 } else { MAX_PREFIX_LEN }
}

impl Default for PrefixParser {
    fn default() -> Self {
        Self { buf: [0; MAX_PREFIX_LEN], len: 0, second: None }
    }
}

impl PrefixParser {
    /// Bytes buffered so far for the current line start.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Forgets the bytes of the current line start (the second cache stays).
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// Feeds bytes that follow a line start.
    pub(crate) fn feed(&mut self, input: &[u8]) -> Step {
        if self.len == 0 {
            if let Some(ts) = self.same_second_utc(input) {
                return Step::Complete { used: UTC_LEN, ts };
            }
            // Fast path: the whole prefix is inside this chunk, nothing to copy.
            match check_shape(input) {
                Shape::Complete(n) => {
                    return match self.timestamp_of(&input[..n]) {
                        Some(ts) => Step::Complete { used: n, ts },
                        None => self.buffer_invalid(input, n),
                    };
                }
                Shape::Invalid(at) => return self.buffer_invalid(input, at + 1),
                Shape::Short => {}
            }
        }
        for (i, &b) in input.iter().enumerate() {
            let zone = if self.len > ZONE_AT { self.buf[ZONE_AT] } else { 0 };
            self.buf[self.len] = b;
            self.len += 1;
            if !fits(self.len - 1, b, zone) {
                return Step::Invalid { used: i + 1 };
            }
            let zone = if self.len > ZONE_AT { self.buf[ZONE_AT] } else { 0 };
            if self.len > ZONE_AT && self.len == full_len(zone) {
                let prefix = self.buf;
                return match self.timestamp_of(&prefix[..self.len]) {
                    Some(ts) => {
                        self.len = 0;
                        Step::Complete { used: i + 1, ts }
                    }
                    None => Step::Invalid { used: i + 1 },
                };
            }
        }
        Step::Incomplete
    }

    /// The common case, decided without the per-byte shape walk: a whole `Z` prefix in the
    /// same second as the previous one. Its first 19 bytes equal the cached (already
    /// validated) second, so only `.`, the nine fraction digits, `Z` and the space are left
    /// to check. `None` means "not this case" (the general path decides), never "invalid".
    fn same_second_utc(&self, input: &[u8]) -> Option<Nanos> {
        let cache = self.second.as_ref()?;
        let prefix = input.get(..UTC_LEN)?;
        if cache.zone_len != 1 || cache.zone[0] != b'Z' || prefix[..19] != cache.head {
            return None;
        }
        if prefix[19] != b'.' || prefix[ZONE_AT] != b'Z' || prefix[UTC_LEN - 1] != b' ' {
            return None;
        }
        let fraction = parse_nine_digits(prefix[FRACTION].try_into().expect("nine bytes"))?;
        Some(cache.base + Nanos::from(fraction))
    }

    fn buffer_invalid(&mut self, input: &[u8], used: usize) -> Step {
        self.buf[..used].copy_from_slice(&input[..used]);
        self.len = used;
        Step::Invalid { used }
    }

    /// Converts a prefix of the right shape (trailing space included) to nanoseconds.
    fn timestamp_of(&mut self, prefix: &[u8]) -> Option<Nanos> {
        let zone = &prefix[ZONE_AT..prefix.len() - 1];
        let fraction = Nanos::from(parse_nine_digits(prefix[FRACTION].try_into().ok()?)?);
        if let Some(c) = &self.second
            && c.head == prefix[..19]
            && c.zone[..c.zone_len] == *zone
        {
            return Some(c.base + fraction);
        }
        let text = std::str::from_utf8(&prefix[..prefix.len() - 1]).ok()?;
        let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        let base = parsed.unix_timestamp_nanos() - fraction;
        let mut cache = SecondCache { head: [0; 19], zone: [0; 6], zone_len: zone.len(), base };
        cache.head.copy_from_slice(&prefix[..19]);
        cache.zone[..zone.len()].copy_from_slice(zone);
        self.second = Some(cache);
        Some(base + fraction)
    }
}

/// The nine fraction digits as a number, or `None` if any byte is not an ASCII digit.
/// Eight of them are checked and combined in one 64-bit word (three multiply-and-shift
/// steps instead of eight multiply-adds): this runs once per line.
fn parse_nine_digits(digits: &[u8; 9]) -> Option<u32> {
    let word = u64::from_le_bytes(digits[..8].try_into().expect("eight bytes"));
    // A byte below '0' wraps when '0' is subtracted, one above '9' reaches 0x80 when 0x46 is
    // added; either sets its top bit. Carries only move upwards, so the lowest bad byte is
    // always flagged correctly.
    let flagged = (word.wrapping_add(0x4646_4646_4646_4646)
        | word.wrapping_sub(0x3030_3030_3030_3030))
        & 0x8080_8080_8080_8080;
    let last = digits[8].wrapping_sub(b'0');
    if flagged != 0 || last > 9 {
        return None;
    }
    let values = word - 0x3030_3030_3030_3030;
    // Little-endian: the first digit is the lowest byte. Pairs, then quads, then the eight.
    let pairs = (values * 10 + (values >> 8)) & 0x00FF_00FF_00FF_00FF;
    let quads = (pairs * 100 + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    let eight = (quads * 10_000 + (quads >> 32)) & 0xFFFF_FFFF;
    Some(eight as u32 * 10 + u32::from(last))
}

enum Shape {
    Complete(usize),
    Invalid(usize),
    Short,
}

fn check_shape(input: &[u8]) -> Shape {
    let mut zone = 0;
    for (pos, &b) in input.iter().enumerate().take(MAX_PREFIX_LEN) {
        if !fits(pos, b, zone) {
            return Shape::Invalid(pos);
        }
        if pos == ZONE_AT {
            zone = b;
        }
        if pos >= ZONE_AT && pos + 1 == full_len(zone) {
            return Shape::Complete(pos + 1);
        }
    }
    Shape::Short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(s: &[u8]) -> Step {
        PrefixParser::default().feed(s)
    }

    #[test]
    fn parses_utc_and_offset_prefixes() {
        let Step::Complete { used, ts } = parse_all(b"2026-11-26T16:19:03.123456789Z hello") else {
            panic!()
        };
        assert_eq!(used, 31);
        assert_eq!(ts, 1_795_709_943_123_456_789);
        let Step::Complete { used, ts: ts2 } = parse_all(b"2026-11-26T17:19:03.123456789+01:00 x")
        else {
            panic!()
        };
        assert_eq!(used, 36);
        assert_eq!(ts2, ts);
    }

    #[test]
    fn byte_by_byte_equals_whole() {
        let line = b"2026-11-26T16:19:03.000000001Z rest";
        let mut p = PrefixParser::default();
        for (i, b) in line.iter().enumerate() {
            match p.feed(std::slice::from_ref(b)) {
                Step::Incomplete => assert!(i < 30),
                Step::Complete { used, ts } => {
                    assert_eq!((i, used), (30, 1));
                    assert_eq!(ts, 1_795_709_943_000_000_001);
                    return;
                }
                Step::Invalid { .. } => panic!("valid prefix rejected at {i}"),
            }
        }
        panic!("never completed");
    }

    #[test]
    fn rejects_wrong_shapes_and_impossible_dates() {
        for bad in [
            &b"2026-11-26T16:19:03.12345678Z x"[..], // eight digits
            b"2026-11-26 16:19:03.123456789Z x",
            b"2026-11-26T16:19:03.123456789Zx",
            b"2026-13-26T16:19:03.123456789Z x",
            b"2026-02-30T16:19:03.123456789Z x",
            b"hello world, this is no timestamp at all",
        ] {
            assert!(
                matches!(parse_all(bad), Step::Invalid { .. }),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(parse_all(b"2026-11-26T16:19"), Step::Incomplete);
    }

    #[test]
    fn nine_digits_match_a_plain_parse_and_reject_every_non_digit() {
        for n in [0u32, 1, 9, 10, 123_456_789, 999_999_999, 100_000_000, 987_654_321] {
            let text = format!("{n:09}");
            assert_eq!(parse_nine_digits(text.as_bytes().try_into().unwrap()), Some(n));
        }
        for at in 0..9 {
            for bad in (0..=255u8).filter(|b| !b.is_ascii_digit()) {
                let mut digits = *b"123456789";
                digits[at] = bad;
                assert_eq!(parse_nine_digits(&digits), None, "byte {bad:#x} at {at}");
            }
        }
    }

    #[test]
    fn same_second_fast_path_agrees_with_the_full_parse() {
        let mut cached = PrefixParser::default();
        let Step::Complete { .. } = cached.feed(b"2026-11-26T16:19:03.000000000Z ") else {
            panic!()
        };
        for line in [
            &b"2026-11-26T16:19:03.999999999Z x"[..],
            b"2026-11-26T16:19:03.99999999xZ x",
            b"2026-11-26T16:19:03.123456789Zx",
            b"2026-11-26T16:19:03,123456789Z x",
            b"2026-11-26T16:19:03.123456789+00:00 x",
            b"2026-11-26T16:19:04.123456789Z x",
        ] {
            assert_eq!(
                cached.clone().feed(line),
                PrefixParser::default().feed(line),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn second_cache_does_not_leak_across_zones() {
        let mut p = PrefixParser::default();
        let Step::Complete { ts: a, .. } = p.feed(b"2026-11-26T16:19:03.000000000Z ") else {
            panic!()
        };
        let Step::Complete { ts: b, .. } = p.feed(b"2026-11-26T16:19:03.000000000+01:00 ") else {
            panic!()
        };
        assert_eq!(a - b, 3_600_000_000_000);
    }
}
