//! The shared vector format of `tests/vectors/*.json` (described in that folder's `README.md`),
//! read by every Rust reader: the accumulator's vector test and the CLI's `replay`. The JS
//! runners read the same files with `tests/shared/vector-runner.js`.
//!
//! Parsing is strict: unknown fields, an unknown mode or bad hex are errors, so a file that
//! parses is a complete vector.

#![forbid(unsafe_code)]

use std::ops::Deref;

use serde::{Deserialize, Deserializer};
use tale_sandbox_accumulator::{Config, Mode};

/// Bytes written in a vector as a JSON string (its UTF-8 bytes) or as `{"hex": "..."}` (for a
/// split multi-byte character or invalid UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bytes(Vec<u8>);

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
        }
        match Written::deserialize(deserializer)? {
            Written::Text(text) => Ok(Bytes(text.into_bytes())),
            Written::Hex { hex } => hex::decode(&hex).map(Bytes).map_err(serde::de::Error::custom),
        }
    }
}

/// One vector file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Vector {
    /// Short name, unique among the vectors.
    pub name: String,
    /// Why the vector exists (usually a spec reference).
    pub description: String,
    /// The accumulator's cap (`capBytes` in the file).
    pub cap_bytes: usize,
    /// `"raw"` or `"timestamped"` in the file.
    #[serde(deserialize_with = "mode")]
    pub mode: Mode,
    /// The log responses, in the order they are fed.
    pub reads: Vec<Read>,
    /// What `finish()` must return after every read.
    pub expect: Expect,
}

impl Vector {
    /// Parses one vector file's text.
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The accumulator configuration the vector is run with.
    pub fn config(&self) -> Config {
        Config { cap_bytes: self.cap_bytes, mode: self.mode }
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

/// One log response.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Read {
    /// The body, in the pieces it is pushed in.
    pub chunks: Vec<Bytes>,
    /// `false`: the response was cut (`abandonRead`); absent or `true`: it ended (`endRead`).
    pub end: Option<bool>,
}

impl Read {
    /// Whether the response ended normally (`end_read`) rather than being cut (`abandon_read`).
    pub fn ended(&self) -> bool {
        self.end.unwrap_or(true)
    }
}

/// The expected outcome, field by field as `finish()` reports it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    pub stdout: Bytes,
    /// Not checked when absent.
    pub text: Option<String>,
    pub truncated: bool,
    pub total_bytes: u64,
    pub rotations: u64,
    pub gaps: u64,
    pub malformed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_text_or_hex_and_anything_else_is_rejected() {
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
        assert!(serde_json::from_str::<Bytes>(r#"{"hex": "zz"}"#).is_err());
        assert!(serde_json::from_str::<Bytes>("[1]").is_err());
        let bad_mode = r#"{"name": "n", "description": "d", "capBytes": 4, "mode": "other",
                           "reads": [], "expect": {}}"#;
        assert!(Vector::parse(bad_mode).unwrap_err().to_string().contains("unknown variant"));
    }
}
