//! Log timestamps: unix nanoseconds, rendered the way containerd and the kubelet render them.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Length in bytes of a rendered timestamp (`2006-01-02T15:04:05.000000000Z`).
pub const TIMESTAMP_LEN: usize = 30;

/// The kubelet's `timeFormatOut` and containerd's CRI log time format, in UTC.
const NANO_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// A point in time as unix nanoseconds (UTC).
///
/// Every `i64` value is valid: the range (years 1677–2262) always renders as a 30-byte
/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

/// A timestamp that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampError {
    /// The text is not RFC 3339.
    Syntax(String),
    /// The time is valid RFC 3339 but outside the range of unix nanoseconds in an `i64`.
    OutOfRange,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimestampError::Syntax(why) => write!(f, "not an RFC 3339 timestamp: {why}"),
            TimestampError::OutOfRange => f.write_str("timestamp outside the representable range"),
        }
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// The timestamp `nanos` nanoseconds after the unix epoch.
    pub const fn from_unix_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// The timestamp `seconds` seconds after the unix epoch, saturating at the range ends.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp(seconds.saturating_mul(NANOS_PER_SECOND))
    }

    /// Nanoseconds since the unix epoch.
    pub const fn as_unix_nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds since the unix epoch (rounded towards negative infinity).
    pub const fn as_unix_seconds(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SECOND)
    }

    /// This time with its fraction of a second dropped (towards negative infinity), which is what a
    /// `sinceTime` query carries after the apiserver re-serialises it with second precision.
    pub const fn floor_to_second(self) -> Self {
        Timestamp(self.0 - self.0.rem_euclid(NANOS_PER_SECOND))
    }

    /// This time plus `nanos` nanoseconds, saturating at the range ends.
    pub const fn saturating_add_nanos(self, nanos: i64) -> Self {
        Timestamp(self.0.saturating_add(nanos))
    }

    /// Parses RFC 3339 text with any number of fraction digits and any offset (Go's `RFC3339Nano`
    /// layout accepts the same), e.g. a CRI record time or a `sinceTime` query value.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| TimestampError::Syntax(e.to_string()))?;
        i64::try_from(parsed.unix_timestamp_nanos())
            .map(Timestamp)
            .map_err(|_| TimestampError::OutOfRange)
    }

    /// Renders as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`: UTC, exactly nine fraction digits, 30 bytes.
    pub fn to_rfc3339_nanos(self) -> String {
        let bytes = self.rfc3339_nanos_bytes();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Same as [`Timestamp::to_rfc3339_nanos`], as a fixed-size byte array (no allocation).
    pub fn rfc3339_nanos_bytes(self) -> [u8; TIMESTAMP_LEN] {
        let mut out = [0u8; TIMESTAMP_LEN];
        // Every i64 nanosecond value maps into years 1677..=2262, which the `time` crate supports and
        // which always render as four-digit years; the fallback below is therefore unreachable, and it
        // keeps the width fixed rather than panicking if that ever changed.
        let rendered = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0))
            .ok()
            .and_then(|t| t.format(NANO_FORMAT).ok());
        match rendered {
            Some(text) if text.len() == TIMESTAMP_LEN => out.copy_from_slice(text.as_bytes()),
            _ => out.copy_from_slice(b"0000-00-00T00:00:00.000000000Z"),
        }
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_nanos())
    }
}

/// Memoises the rendering of the last timestamp: consecutive records very often share one.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimestampCache {
    last: Option<(Timestamp, [u8; TIMESTAMP_LEN])>,
}

impl TimestampCache {
    pub(crate) fn render(&mut self, time: Timestamp) -> &[u8; TIMESTAMP_LEN] {
        if !matches!(self.last, Some((cached, _)) if cached == time) {
            self.last = Some((time, time.rfc3339_nanos_bytes()));
        }
        match &self.last {
            Some((_, bytes)) => bytes,
            None => unreachable!("just filled"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_nine_fraction_digits_even_for_whole_seconds() {
        assert_eq!(
            Timestamp::from_unix_seconds(0).to_rfc3339_nanos(),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            Timestamp::from_unix_nanos(1_700_000_000_000_000_001).to_rfc3339_nanos(),
            "2023-11-14T22:13:20.000000001Z"
        );
    }

    #[test]
    fn range_ends_render_with_fixed_width() {
        assert_eq!(
            Timestamp::from_unix_nanos(i64::MIN).to_rfc3339_nanos(),
            "1677-09-21T00:12:43.145224192Z"
        );
        assert_eq!(
            Timestamp::from_unix_nanos(i64::MAX).to_rfc3339_nanos(),
            "2262-04-11T23:47:16.854775807Z"
        );
    }

    #[test]
    fn parses_what_it_renders_and_other_offsets() {
        let t = Timestamp::from_unix_nanos(1_700_000_000_123_456_789);
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339_nanos()), Ok(t));
        assert_eq!(
            Timestamp::parse_rfc3339("2023-11-14T23:13:20.5+01:00"),
            Ok(Timestamp::from_unix_nanos(1_700_000_000_500_000_000))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2023-11-14T22:13:20Z"),
            Ok(Timestamp::from_unix_seconds(1_700_000_000))
        );
        assert!(matches!(Timestamp::parse_rfc3339("yesterday"), Err(TimestampError::Syntax(_))));
        assert_eq!(
            Timestamp::parse_rfc3339("9999-01-01T00:00:00Z"),
            Err(TimestampError::OutOfRange)
        );
    }

    #[test]
    fn floor_to_second_rounds_down_also_before_the_epoch() {
        assert_eq!(
            Timestamp::from_unix_nanos(1_999_999_999).floor_to_second(),
            Timestamp::from_unix_seconds(1)
        );
        assert_eq!(
            Timestamp::from_unix_nanos(-1).floor_to_second(),
            Timestamp::from_unix_seconds(-1)
        );
        assert_eq!(Timestamp::from_unix_nanos(-1).as_unix_seconds(), -1);
    }
}
