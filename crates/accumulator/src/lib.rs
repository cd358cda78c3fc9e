//! API SKETCH — being implemented. Signatures are stable; bodies are not.
#![allow(unused)]

/// How log responses are framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `timestamps=false` snapshot polls: every read is the current log file from its start.
    Raw,
    /// `timestamps=true` reads: head reads, `sinceTime` reads, follow streams, reconnects.
    Timestamped,
}

/// Accumulator configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Keep the first `cap_bytes` bytes of the stream (must be > 0).
    pub cap_bytes: usize,
    /// Framing of the responses.
    pub mode: Mode,
}

/// Invalid configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// `cap_bytes` was zero.
    ZeroCap,
}

/// A call made in the wrong state; the accumulator is unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsageError {
    /// `push` without an open read.
    PushOutsideRead,
    /// `end_read` without an open read.
    EndOutsideRead,
}

/// Result snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome<'a> {
    pub stdout: &'a [u8],
    pub truncated: bool,
    pub total_bytes: u64,
    pub rotations: u64,
    pub gaps: u64,
    pub malformed: u64,
}
impl Outcome<'_> {
    /// `stdout` as UTF-8 text, an incomplete trailing character cut by the cap dropped.
    pub fn text(&self) -> std::borrow::Cow<'_, str> { unimplemented!() }
}

pub struct StdoutAccumulator {}
impl StdoutAccumulator {
    pub fn new(config: Config) -> Result<Self, ConfigError> { unimplemented!() }
    pub fn begin_read(&mut self) { unimplemented!() }
    pub fn push(&mut self, chunk: &[u8]) -> Result<&[u8], UsageError> { unimplemented!() }
    pub fn end_read(&mut self) -> Result<&[u8], UsageError> { unimplemented!() }
    pub fn abandon_read(&mut self) { unimplemented!() }
    pub fn finish(&self) -> Outcome<'_> { unimplemented!() }
}
