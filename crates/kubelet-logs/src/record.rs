//! CRI log records and their line format `<RFC3339Nano> <stream> <F|P> <content>\n`.

use std::fmt;

use crate::timestamp::{TIMESTAMP_LEN, Timestamp};

/// Which pipe of the container a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The container's standard output.
    Stdout,
    /// The container's standard error.
    Stderr,
}

impl Stream {
    /// The name used in the CRI line format.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }
}

/// Whether a record ends a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    /// `F`: the original line ended with a newline, which is not part of the content.
    Full,
    /// `P`: a piece of a line, without a newline of its own.
    Partial,
}

impl Tag {
    /// The letter used in the CRI line format.
    pub const fn as_str(self) -> &'static str {
        match self {
            Tag::Full => "F",
            Tag::Partial => "P",
        }
    }
}

/// One CRI log record (one line of a CRI log file), owning its content.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// When the runtime received the bytes.
    pub time: Timestamp,
    /// The pipe the bytes came from.
    pub stream: Stream,
    /// Full line or partial piece.
    pub tag: Tag,
    /// The bytes, never including the line's terminating newline.
    pub content: Vec<u8>,
}

/// A borrowed view of one CRI log record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordRef<'a> {
    /// When the runtime received the bytes.
    pub time: Timestamp,
    /// The pipe the bytes came from.
    pub stream: Stream,
    /// Full line or partial piece.
    pub tag: Tag,
    /// The bytes, never including the line's terminating newline.
    pub content: &'a [u8],
}

/// Bytes a record takes in a CRI log file besides its content: timestamp, three spaces, a six-letter
/// stream name, the tag letter and the newline.
pub(crate) const RECORD_OVERHEAD: usize = TIMESTAMP_LEN + 1 + 6 + 1 + 1 + 1 + 1;

impl Record {
    /// A record with the given fields.
    pub fn new(time: Timestamp, stream: Stream, tag: Tag, content: impl Into<Vec<u8>>) -> Self {
        Record { time, stream, tag, content: content.into() }
    }

    /// A borrowed view of this record.
    pub fn as_ref(&self) -> RecordRef<'_> {
        RecordRef { time: self.time, stream: self.stream, tag: self.tag, content: &self.content }
    }

    /// Appends the record's CRI line, newline included, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        self.as_ref().encode_into(out);
    }

    /// The record's CRI line, newline included.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Size of the record's CRI line in a log file, newline included.
    pub fn encoded_len(&self) -> usize {
        RECORD_OVERHEAD + self.content.len()
    }

    /// The bytes this record contributes to a log response without timestamps: the content, plus a
    /// newline for a full record.
    pub fn payload(&self) -> Vec<u8> {
        let mut out = self.content.clone();
        if self.tag == Tag::Full {
            out.push(b'\n');
        }
        out
    }
}

impl RecordRef<'_> {
    /// Copies the content into an owned [`Record`].
    pub fn to_owned(&self) -> Record {
        Record {
            time: self.time,
            stream: self.stream,
            tag: self.tag,
            content: self.content.to_vec(),
        }
    }

    /// Appends the record's CRI line, newline included, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(RECORD_OVERHEAD + self.content.len());
        out.extend_from_slice(&self.time.rfc3339_nanos_bytes());
        out.push(b' ');
        out.extend_from_slice(self.stream.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.tag.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.content);
        out.push(b'\n');
    }
}

/// A CRI log line that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// A field separator (space) is missing; `field` names the field that could not be delimited.
    MissingField {
        /// The field that was expected.
        field: &'static str,
    },
    /// The time field is not an RFC 3339 timestamp.
    BadTimestamp(String),
    /// The stream field is neither `stdout` nor `stderr`.
    BadStream(String),
    /// The tag field is neither `F` nor `P`.
    BadTag(String),
    /// The content contains a newline (only possible when decoding a single line).
    NewlineInContent,
    /// A file does not end with a newline: its last line is incomplete.
    UnterminatedLastLine,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::MissingField { field } => write!(f, "CRI log line has no {field} field"),
            DecodeError::BadTimestamp(text) => {
                write!(f, "CRI log line has a bad timestamp: {text:?}")
            }
            DecodeError::BadStream(text) => {
                write!(f, "CRI log line has an unknown stream: {text:?}")
            }
            DecodeError::BadTag(text) => write!(f, "CRI log line has an unknown tag: {text:?}"),
            DecodeError::NewlineInContent => f.write_str("CRI log line content contains a newline"),
            DecodeError::UnterminatedLastLine => {
                f.write_str("CRI log file does not end with a newline")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

fn split_field<'a>(
    rest: &'a [u8],
    field: &'static str,
) -> Result<(&'a [u8], &'a [u8]), DecodeError> {
    let space = memchr::memchr(b' ', rest).ok_or(DecodeError::MissingField { field })?;
    Ok((&rest[..space], &rest[space + 1..]))
}

/// Decodes one CRI log line (with or without its trailing newline).
///
/// Unlike the kubelet, which tolerates extra `:`-separated tag attributes, this model only accepts the
/// exact tags `F` and `P`: anything else is reported, so a test notices a malformed file.
pub fn decode_cri_line(line: &[u8]) -> Result<Record, DecodeError> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let (time, rest) = split_field(line, "time")?;
    let (stream, rest) = split_field(rest, "stream")?;
    let (tag, content) = split_field(rest, "tag")?;
    let time_text = String::from_utf8_lossy(time);
    let time = Timestamp::parse_rfc3339(&time_text)
        .map_err(|_| DecodeError::BadTimestamp(time_text.into_owned()))?;
    let stream = match stream {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        other => return Err(DecodeError::BadStream(String::from_utf8_lossy(other).into_owned())),
    };
    let tag = match tag {
        b"F" => Tag::Full,
        b"P" => Tag::Partial,
        other => return Err(DecodeError::BadTag(String::from_utf8_lossy(other).into_owned())),
    };
    if memchr::memchr(b'\n', content).is_some() {
        return Err(DecodeError::NewlineInContent);
    }
    Ok(Record { time, stream, tag, content: content.to_vec() })
}

/// Decodes a whole CRI log file: one record per `\n`-terminated line. An empty file has no records.
pub fn decode_cri_file(bytes: &[u8]) -> Result<Vec<Record>, DecodeError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let body = bytes.strip_suffix(b"\n").ok_or(DecodeError::UnterminatedLastLine)?;
    body.split(|&b| b == b'\n').map(decode_cri_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Timestamp {
        Timestamp::from_unix_nanos(1_700_000_000_000_000_042)
    }

    #[test]
    fn encodes_the_cri_line_format() {
        let full = Record::new(t(), Stream::Stdout, Tag::Full, b"hello world".to_vec());
        assert_eq!(
            full.encode(),
            b"2023-11-14T22:13:20.000000042Z stdout F hello world\n".to_vec()
        );
        assert_eq!(full.encoded_len(), full.encode().len());
        let partial = Record::new(t(), Stream::Stderr, Tag::Partial, Vec::new());
        assert_eq!(partial.encode(), b"2023-11-14T22:13:20.000000042Z stderr P \n".to_vec());
    }

    #[test]
    fn decodes_what_it_encodes_including_spaces_in_content() {
        let records = vec![
            Record::new(t(), Stream::Stdout, Tag::Partial, b"a b  c ".to_vec()),
            Record::new(t(), Stream::Stderr, Tag::Full, Vec::new()),
            Record::new(t(), Stream::Stdout, Tag::Full, vec![0xE2, 0x82]),
        ];
        let mut file = Vec::new();
        for r in &records {
            r.encode_into(&mut file);
        }
        assert_eq!(decode_cri_file(&file), Ok(records));
    }

    #[test]
    fn rejects_malformed_lines_with_a_reason() {
        assert_eq!(
            decode_cri_line(b"2023-11-14T22:13:20Z"),
            Err(DecodeError::MissingField { field: "time" })
        );
        assert_eq!(
            decode_cri_line(b"2023-11-14T22:13:20Z stdout"),
            Err(DecodeError::MissingField { field: "stream" })
        );
        assert_eq!(
            decode_cri_line(b"2023-11-14T22:13:20Z stdin F x"),
            Err(DecodeError::BadStream("stdin".into()))
        );
        assert_eq!(
            decode_cri_line(b"2023-11-14T22:13:20Z stdout X x"),
            Err(DecodeError::BadTag("X".into()))
        );
        assert_eq!(
            decode_cri_line(b"noon stdout F x"),
            Err(DecodeError::BadTimestamp("noon".into()))
        );
        assert_eq!(
            decode_cri_file(b"2023-11-14T22:13:20Z stdout F x"),
            Err(DecodeError::UnterminatedLastLine)
        );
        assert_eq!(
            decode_cri_line(b"2023-11-14T22:13:20Z stdout F x\ny"),
            Err(DecodeError::NewlineInContent)
        );
        assert_eq!(decode_cri_file(b""), Ok(vec![]));
    }
}
