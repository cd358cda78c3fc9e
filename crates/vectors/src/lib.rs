//! The shared vector format of `tests/vectors/*.json` (described in that folder's `README.md`),
//! read by every Rust reader: the accumulator's vector test and the CLI's `replay`. The JS
//! runners read the same files with `tests/shared/vector-runner.js`.
//!
//! Version 1 (no `version` field) is a hand-written vector. Version 2 adds what a recording of a
//! real run carries (written by [`Recorder`], e.g. `tale-sandbox exec --record run.json`): per
//! response its kind, query, how it ended and when, base64 chunks, and a `recording` block with
//! the reads that were not fed to the accumulator. A version-2 file is still a vector: every
//! runner replays its `reads` the same way.
//!
//! Parsing is strict: unknown fields, an unknown mode or version, bad hex or base64, and
//! version-2 fields in a version-1 file are errors, so a file that parses is a complete vector.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod recorder;

use std::ops::Deref;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tale_sandbox_accumulator::{Config, ConfigError, Mode, StdoutAccumulator};

pub use recorder::{FollowEnd, LogQuery, Recorder};

/// The newest format version: what [`Recorder`] writes.
pub const FORMAT_VERSION: u32 = 2;

/// Bytes written in a vector as a JSON string (its UTF-8 bytes), as `{"hex": "..."}` (for a
/// split multi-byte character or invalid UTF-8), or as `{"base64": "..."}` (version 2).
/// Written back as a string when the bytes are UTF-8, else as base64.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bytes(pub Vec<u8>);

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Written {
            Text(String),
            Hex { hex: String },
            Base64 { base64: String },
        }
        match Written::deserialize(deserializer)? {
            Written::Text(text) => Ok(Bytes(text.into_bytes())),
            Written::Hex { hex } => hex::decode(&hex).map(Bytes).map_err(serde::de::Error::custom),
            Written::Base64 { base64 } => base64::engine::general_purpose::STANDARD
                .decode(&base64)
                .map(Bytes)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => {
                #[derive(Serialize)]
                struct Base64 {
                    base64: String,
                }
                let base64 = base64::engine::general_purpose::STANDARD.encode(&self.0);
                Base64 { base64 }.serialize(serializer)
            }
        }
    }
}

/// One vector file.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Vector {
    /// The format version: absent (1) for hand-written vectors, 2 for recordings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// Short name, unique among the vectors.
    pub name: String,
    /// Why the vector exists (usually a spec reference).
    pub description: String,
    /// The accumulator's cap (`capBytes` in the file).
    pub cap_bytes: usize,
    /// `"raw"` or `"timestamped"` in the file.
    #[serde(deserialize_with = "mode", serialize_with = "mode_name")]
    pub mode: Mode,
    /// The log responses, in the order they are fed.
    pub reads: Vec<Read>,
    /// What `finish()` must return after every read.
    pub expect: Expect,
    /// Version 2: where the recording comes from and what else the run read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Recording>,
}

/// Why a file is not a vector.
#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    /// Not JSON, or not of the format.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A `version` this reader does not know.
    #[error("unsupported vector format version {0} (this reader knows 1 and 2)")]
    Version(u32),
    /// A version-2 field in a version-1 file.
    #[error("{0} needs \"version\": 2")]
    NeedsVersion2(&'static str),
}

impl Vector {
    /// Parses one vector file's text (version 1 or 2).
    pub fn parse(json: &str) -> Result<Self, VectorError> {
        let vector: Vector = serde_json::from_str(json)?;
        vector.check_version()?;
        Ok(vector)
    }

    fn check_version(&self) -> Result<(), VectorError> {
        match self.version.unwrap_or(1) {
            1 => {}
            2 => return Ok(()),
            other => return Err(VectorError::Version(other)),
        }
        if self.recording.is_some() {
            return Err(VectorError::NeedsVersion2("\"recording\""));
        }
        if self.reads.iter().any(Read::has_v2_fields) {
            return Err(VectorError::NeedsVersion2("a read's kind, query, how, error or times"));
        }
        Ok(())
    }

    /// The format version (1 when the file has none).
    pub fn format_version(&self) -> u32 {
        self.version.unwrap_or(1)
    }

    /// The accumulator configuration the vector is run with.
    pub fn config(&self) -> Config {
        Config { cap_bytes: self.cap_bytes, mode: self.mode }
    }

    /// Feeds every read to a new accumulator of [`config`](Self::config), as a run fed them:
    /// each read opened, its chunks pushed as recorded, then ended, or abandoned when it was cut.
    /// Returns the accumulator with no read open; an error only for a cap of 0.
    ///
    /// ```
    /// use tale_sandbox_vectors::Vector;
    ///
    /// let v = Vector::parse(
    ///     r#"{"name": "n", "description": "d", "capBytes": 4, "mode": "raw",
    ///         "reads": [{"chunks": ["ab", "c"], "end": false}, {"chunks": ["abcdef"]}],
    ///         "expect": {"stdout": "abcd", "text": "abcd", "truncated": true, "totalBytes": 6,
    ///                    "rotations": 0, "gaps": 0, "malformed": 0}}"#,
    /// )
    /// .unwrap();
    /// let acc = v.replay().unwrap();
    /// assert_eq!(acc.finish().stdout, &v.expect.stdout[..]);
    /// ```
    pub fn replay(&self) -> Result<StdoutAccumulator, ConfigError> {
        let mut acc = StdoutAccumulator::new(self.config())?;
        for read in &self.reads {
            acc.begin_read();
            for chunk in &read.chunks {
                acc.push(chunk).expect("a read is open");
            }
            if read.ended() {
                acc.end_read().expect("a read is open");
            } else {
                acc.abandon_read();
            }
        }
        Ok(acc)
    }

    /// The file text: pretty JSON for short vectors is what `generate.py` writes; recordings are
    /// written compact.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a vector always serialises")
    }
}

fn mode<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Mode, D::Error> {
    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Name {
        Raw,
        Timestamped,
    }
    Ok(match Name::deserialize(deserializer)? {
        Name::Raw => Mode::Raw,
        Name::Timestamped => Mode::Timestamped,
    })
}

fn mode_name<S: Serializer>(mode: &Mode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(match mode {
        Mode::Raw => "raw",
        Mode::Timestamped => "timestamped",
    })
}

/// One log response.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Read {
    /// Version 2: what read it was: `"follow"` (the runner's follow stream or a reconnect),
    /// `"poll"` (a `sinceTime` poll after streaming kept failing), `"final"` (the final resume
    /// read), or another name a tool chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Version 2: the query the response answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<LogQuery>,
    /// The body, in the pieces it is pushed in (as received).
    pub chunks: Vec<Bytes>,
    /// `false`: the response was cut (`abandonRead`); absent or `true`: it ended (`endRead`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
    /// Version 2: how it ended: `"eof"` (the body ended), `"complete"` (a one-shot read's whole
    /// body), `"cut"` (the connection broke), `"error"` (the stream could not be opened or
    /// failed), `"closed"` (the reader closed it: stall, over the cap, end of run), `"open"`
    /// (still open when the run ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
    /// Version 2: the error of an `"error"` or `"cut"` end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Version 2: milliseconds from the recording's start to the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<i64>,
    /// Version 2: milliseconds from the recording's start to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<i64>,
    /// Version 2: for each chunk, milliseconds from the recording's start to its arrival.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_ms: Option<Vec<i64>>,
}

impl Read {
    /// Whether the response ended normally (`end_read`) rather than being cut (`abandon_read`).
    pub fn ended(&self) -> bool {
        self.end.unwrap_or(true)
    }

    fn has_v2_fields(&self) -> bool {
        self.kind.is_some()
            || self.query.is_some()
            || self.how.is_some()
            || self.error.is_some()
            || self.at_ms.is_some()
            || self.end_ms.is_some()
            || self.chunk_ms.is_some()
    }
}

/// The expected outcome, field by field as `finish()` reports it.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// `stdout`.
    pub stdout: Bytes,
    /// Not checked when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `truncated`.
    pub truncated: bool,
    /// `totalBytes`.
    pub total_bytes: u64,
    /// `rotations`.
    pub rotations: u64,
    /// `gaps`.
    pub gaps: u64,
    /// `malformed`.
    pub malformed: u64,
}

/// Version 2: what a recording knows beyond the reads fed to the accumulator.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recording {
    /// What wrote it (`tale-sandbox-execute 0.1.0`).
    pub recorder: String,
    /// Wall-clock epoch milliseconds at which recording started (`atMs` counts from here).
    pub started_at_ms: i64,
    /// The pod whose runner log was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The native run's response: `status` and `truncated.stdout` (which also counts a failed
    /// final read and the response's own cap, so it may be `true` where `expect.truncated` is
    /// not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
    /// Log reads of the run that fed nothing to the accumulator (failed polls, other
    /// containers' logs): kind, query, how they ended and their size, never their body.
    #[serde(default)]
    pub other_reads: Vec<OtherRead>,
}

/// A log read that fed nothing to the accumulator (its body is not recorded).
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtherRead {
    /// Why it was read (`"harvest"`, `"stage-tail"`, `"tail-check"`, `"stale"`, or a failed
    /// `"poll"` / `"final"`).
    pub kind: String,
    /// The query.
    pub query: LogQuery,
    /// Body bytes received (0 for a failed read).
    pub bytes: u64,
    /// `"complete"`, or `"error"` with [`OtherRead::error`].
    pub how: String,
    /// The error of a failed read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Milliseconds from the recording's start to the request.
    pub at_ms: i64,
    /// Milliseconds from the recording's start to the reply.
    pub end_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_text_or_hex_or_base64_and_anything_else_is_rejected() {
        let vector = Vector::parse(
            r#"{"name": "n", "description": "d", "capBytes": 4, "mode": "timestamped",
                "reads": [{"chunks": ["ab", {"hex": "e282"}], "end": false}],
                "expect": {"stdout": "ab", "truncated": false, "totalBytes": 2,
                           "rotations": 0, "gaps": 0, "malformed": 0}}"#,
        )
        .unwrap();
        assert_eq!(vector.config(), Config { cap_bytes: 4, mode: Mode::Timestamped });
        assert_eq!(&*vector.reads[0].chunks[1], b"\xe2\x82");
        assert!(!vector.reads[0].ended());
        assert_eq!(vector.format_version(), 1);
        assert!(serde_json::from_str::<Bytes>(r#"{"hex": "zz"}"#).is_err());
        assert!(serde_json::from_str::<Bytes>(r#"{"base64": "!!"}"#).is_err());
        assert_eq!(&*serde_json::from_str::<Bytes>(r#"{"base64": "4oI="}"#).unwrap(), b"\xe2\x82");
        assert!(serde_json::from_str::<Bytes>("[1]").is_err());
        let bad_mode = r#"{"name": "n", "description": "d", "capBytes": 4, "mode": "other",
                           "reads": [], "expect": {}}"#;
        assert!(Vector::parse(bad_mode).unwrap_err().to_string().contains("unknown variant"));
    }

    #[test]
    fn bytes_are_written_as_text_when_utf8_else_base64() {
        assert_eq!(serde_json::to_string(&Bytes(b"a\"b\n".to_vec())).unwrap(), r#""a\"b\n""#);
        assert_eq!(
            serde_json::to_string(&Bytes(b"\xe2\x82".to_vec())).unwrap(),
            r#"{"base64":"4oI="}"#
        );
    }

    const EXPECT: &str = r#""expect": {"stdout": "", "truncated": false, "totalBytes": 0,
                                      "rotations": 0, "gaps": 0, "malformed": 0}"#;

    #[test]
    fn versions_are_checked_and_version_2_fields_need_version_2() {
        let v2 = format!(
            r#"{{"version": 2, "name": "n", "description": "d", "capBytes": 4, "mode": "raw",
                "reads": [{{"kind": "poll", "chunks": [], "how": "complete", "atMs": 3}}], {EXPECT}}}"#
        );
        let vector = Vector::parse(&v2).unwrap();
        assert_eq!(vector.format_version(), 2);
        assert_eq!(vector.reads[0].kind.as_deref(), Some("poll"));
        let v1_with_kind = v2.replace(r#""version": 2, "#, "");
        let err = Vector::parse(&v1_with_kind).unwrap_err().to_string();
        assert!(err.contains("needs \"version\": 2"), "{err}");
        let v3 = v2.replace(r#""version": 2"#, r#""version": 3"#);
        let err = Vector::parse(&v3).unwrap_err().to_string();
        assert!(err.contains("unsupported vector format version 3"), "{err}");
        let unknown = v2.replace(r#""atMs": 3"#, r#""atMs": 3, "extra": 1"#);
        assert!(Vector::parse(&unknown).unwrap_err().to_string().contains("unknown field"));
    }
}
