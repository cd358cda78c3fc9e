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

    fn buffer_invalid(&mut self, input: &[u8], used: usize) -> Step {
        self.buf[..used].copy_from_slice(&input[..used]);
        self.len = used;
        Step::Invalid { used }
    }

    /// Converts a prefix of the right shape (trailing space included) to nanoseconds.
    fn timestamp_of(&mut self, prefix: &[u8]) -> Option<Nanos> {
        let zone = &prefix[ZONE_AT..prefix.len() - 1];
        let fraction = FRACTION.clone().fold(0i128, |acc, i| acc * 10 + Nanos::from(prefix[i] - b'0'));
        if let Some(c) = &self.second {
            if c.head == prefix[..19] && c.zone[..c.zone_len] == *zone {
                return Some(c.base + fraction);
            }
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
        let Step::Complete { used, ts } = parse_all(b"2026-11-26T16:19:03.123456789Z hello") else { panic!() };
        assert_eq!(used, 31);
        assert_eq!(ts, 1_795_709_943_123_456_789);
        let Step::Complete { used, ts: ts2 } = parse_all(b"2026-11-26T17:19:03.123456789+01:00 x") else { panic!() };
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
            assert!(matches!(parse_all(bad), Step::Invalid { .. }), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(parse_all(b"2026-11-26T16:19"), Step::Incomplete);
    }

    #[test]
    fn second_cache_does_not_leak_across_zones() {
        let mut p = PrefixParser::default();
        let Step::Complete { ts: a, .. } = p.feed(b"2026-11-26T16:19:03.000000000Z ") else { panic!() };
        let Step::Complete { ts: b, .. } = p.feed(b"2026-11-26T16:19:03.000000000+01:00 ") else { panic!() };
        assert_eq!(a - b, 3_600_000_000_000);
    }
}
