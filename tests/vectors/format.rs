//! The Rust reading of the shared vector format (see `README.md` beside this file), included
//! with `#[path]` by every Rust reader of `tests/vectors/*.json` — the accumulator's vector test
//! and the CLI's `replay` — so the format is defined once. Needs `serde` and `hex`.
// Each reader uses part of it (the CLI prints no expectations).
#![allow(dead_code)]

use serde::Deserialize;
use tale_sandbox_accumulator::Mode;

/// A chunk, or the expected stdout: a JSON string (its UTF-8 bytes) or `{"hex": "..."}`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum Bytes {
    /// The UTF-8 bytes of the string.
    Text(String),
    /// Bytes written in hex.
    Hex {
        /// Two hex digits per byte.
        hex: String,
    },
}

impl Bytes {
    /// The bytes meant.
    pub fn decode(&self) -> Result<Vec<u8>, hex::FromHexError> {
        match self {
            Bytes::Text(s) => Ok(s.as_bytes().to_vec()),
            Bytes::Hex { hex } => hex::decode(hex),
        }
    }
}

/// One vector file.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Vector {
    /// Short name.
    pub name: String,
    /// Why the vector exists.
    pub description: String,
    /// The accumulator's `capBytes`.
    pub cap_bytes: usize,
    /// `"raw"` or `"timestamped"`.
    pub mode: String,
    /// The log responses, in order.
    pub reads: Vec<Read>,
    /// What `finish()` must return.
    pub expect: Expect,
}

impl Vector {
    /// The accumulator mode named by `mode`.
    pub fn accumulator_mode(&self) -> Result<Mode, String> {
        match self.mode.as_str() {
            "raw" => Ok(Mode::Raw),
            "timestamped" => Ok(Mode::Timestamped),
            other => Err(format!("unknown mode {other:?}")),
        }
    }
}

/// One log response.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Read {
    /// The body, as pushed.
    pub chunks: Vec<Bytes>,
    /// `false`: the response was cut (`abandonRead`); absent or `true`: it ended (`endRead`).
    pub end: Option<bool>,
}

/// The expected outcome.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// Expected `stdout`.
    pub stdout: Bytes,
    /// Expected `text`, when given.
    pub text: Option<String>,
    /// Expected `truncated`.
    pub truncated: bool,
    /// Expected `totalBytes`.
    pub total_bytes: u64,
    /// Expected `rotations`.
    pub rotations: u64,
    /// Expected `gaps`.
    pub gaps: u64,
    /// Expected `malformed`.
    pub malformed: u64,
}
