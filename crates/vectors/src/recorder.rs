//! [`Recorder`]: builds a version-2 vector (a recording) from the log responses a run fed to
//! its accumulator, as they happened. Sans-I/O: the caller reports each event with its time,
//! then writes [`Recorder::finish`]'s vector wherever it wants.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tale_sandbox_accumulator::{Mode, Outcome};

use crate::{Bytes, Expect, FORMAT_VERSION, OtherRead, Read, Recording, Vector};

/// The query of a log read, as sent (`GET .../pods/<pod>/log?...`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogQuery {
    /// `container=`.
    pub container: String,
    /// `follow=true`.
    #[serde(default)]
    pub follow: bool,
    /// `timestamps=true`.
    #[serde(default)]
    pub timestamps: bool,
    /// `sinceTime=` (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_time: Option<String>,
    /// `limitBytes=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_bytes: Option<i64>,
    /// `tailLines=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tail_lines: Option<i64>,
}

/// How a follow stream ended, for [`Recorder::end_follow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowEnd {
    /// The body ended (`endRead`).
    Eof,
    /// The connection broke (`abandonRead`).
    Cut(String),
    /// The stream failed, or could not be opened (`abandonRead`).
    Error(String),
    /// The reader closed it: a stall, more than the cap seen, the end of the run (`abandonRead`).
    Closed,
}

/// Builds a recording. Stream ids are the caller's (any `u64` unique per stream).
#[derive(Debug)]
pub struct Recorder {
    cap_bytes: usize,
    mode: Mode,
    started_at_ms: i64,
    pod: Option<String>,
    reads: Vec<Read>,
    open: HashMap<u64, usize>,
    other: Vec<OtherRead>,
    bytes: u64,
}

impl Recorder {
    /// A recorder for an accumulator of `cap_bytes` in `mode`; times count from
    /// `started_at_ms` (wall-clock epoch milliseconds).
    pub fn new(cap_bytes: usize, mode: Mode, started_at_ms: i64) -> Self {
        Recorder {
            cap_bytes,
            mode,
            started_at_ms,
            pod: None,
            reads: Vec::new(),
            open: HashMap::new(),
            other: Vec::new(),
            bytes: 0,
        }
    }

    /// Names the pod whose log is read.
    pub fn set_pod(&mut self, pod: &str) {
        self.pod = Some(pod.to_string());
    }

    /// Body bytes recorded so far (what the file will hold, before encoding).
    pub fn recorded_bytes(&self) -> u64 {
        self.bytes
    }

    fn rel(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.started_at_ms)
    }

    /// A follow stream was opened (the accumulator's `beginRead`).
    pub fn open_follow(&mut self, stream: u64, query: LogQuery, now_ms: i64) {
        let read = Read {
            kind: Some("follow".into()),
            query: Some(query),
            end: Some(false),
            how: Some("open".into()),
            at_ms: Some(self.rel(now_ms)),
            chunk_ms: Some(Vec::new()),
            ..Read::default()
        };
        self.open.insert(stream, self.reads.len());
        self.reads.push(read);
    }

    /// A chunk of an open follow stream, as received (ignored for an unknown stream).
    pub fn follow_chunk(&mut self, stream: u64, chunk: &[u8], now_ms: i64) {
        let at = self.rel(now_ms);
        if let Some(&i) = self.open.get(&stream) {
            self.bytes += chunk.len() as u64;
            let read = &mut self.reads[i];
            read.chunks.push(Bytes(chunk.to_vec()));
            read.chunk_ms.get_or_insert_with(Vec::new).push(at);
        }
    }

    /// An open follow stream ended (ignored for an unknown or already ended stream).
    pub fn end_follow(&mut self, stream: u64, end: FollowEnd, now_ms: i64) {
        let at = self.rel(now_ms);
        let Some(i) = self.open.remove(&stream) else { return };
        let read = &mut self.reads[i];
        read.end_ms = Some(at);
        let (ended, how, error) = match end {
            FollowEnd::Eof => (true, "eof", None),
            FollowEnd::Cut(e) => (false, "cut", Some(e)),
            FollowEnd::Error(e) => (false, "error", Some(e)),
            FollowEnd::Closed => (false, "closed", None),
        };
        read.end = if ended { None } else { Some(false) };
        read.how = Some(how.into());
        read.error = error;
    }

    /// A one-shot read whose whole body was fed (`beginRead`, `push`, `endRead`).
    pub fn one_shot(&mut self, kind: &str, query: LogQuery, body: &[u8], at_ms: i64, now_ms: i64) {
        let at = self.rel(now_ms);
        self.bytes += body.len() as u64;
        self.reads.push(Read {
            kind: Some(kind.into()),
            query: Some(query),
            chunks: vec![Bytes(body.to_vec())],
            end: None,
            how: Some("complete".into()),
            error: None,
            at_ms: Some(self.rel(at_ms)),
            end_ms: Some(at),
            chunk_ms: Some(vec![at]),
        });
    }

    /// A log read that fed nothing to the accumulator: only its shape is kept, never its body.
    pub fn other(
        &mut self,
        kind: &str,
        query: LogQuery,
        result: Result<u64, String>,
        at_ms: i64,
        now_ms: i64,
    ) {
        let (bytes, how, error) = match result {
            Ok(n) => (n, "complete", None),
            Err(e) => (0, "error", Some(e)),
        };
        self.other.push(OtherRead {
            kind: kind.into(),
            query,
            bytes,
            how: how.into(),
            error,
            at_ms: self.rel(at_ms),
            end_ms: self.rel(now_ms),
        });
    }

    /// The recording as a vector: `expect` is what the run's own accumulator reported,
    /// `response` (optional) a summary of the run's response.
    pub fn finish(
        self,
        name: String,
        description: String,
        native: &Outcome<'_>,
        response: Option<serde_json::Value>,
    ) -> Vector {
        Vector {
            version: Some(FORMAT_VERSION),
            name,
            description,
            cap_bytes: self.cap_bytes,
            mode: self.mode,
            reads: self.reads,
            expect: Expect {
                stdout: Bytes(native.stdout.to_vec()),
                text: None,
                truncated: native.truncated,
                total_bytes: native.total_bytes,
                rotations: native.rotations,
                gaps: native.gaps,
                malformed: native.malformed,
            },
            recording: Some(Recording {
                recorder: concat!("tale-sandbox-vectors ", env!("CARGO_PKG_VERSION")).into(),
                started_at_ms: self.started_at_ms,
                pod: self.pod,
                response,
                other_reads: self.other,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tale_sandbox_accumulator::{Config, StdoutAccumulator};

    #[test]
    fn a_recording_replays_to_what_was_fed() {
        let cfg = Config { cap_bytes: 1024, mode: Mode::Timestamped };
        let mut acc = StdoutAccumulator::new(cfg).unwrap();
        let mut rec = Recorder::new(1024, Mode::Timestamped, 1000);
        let query = LogQuery {
            container: "runner".into(),
            follow: true,
            timestamps: true,
            ..LogQuery::default()
        };
        acc.begin_read();
        rec.open_follow(7, query.clone(), 1001);
        for chunk in [&b"2024-05-01T10:20:30.000000001Z on"[..], b"e\n2024-05-01T10:20:31.0"] {
            acc.push(chunk).unwrap();
            rec.follow_chunk(7, chunk, 1002);
        }
        acc.abandon_read();
        rec.end_follow(7, FollowEnd::Cut("reset".into()), 1003);
        rec.follow_chunk(7, b"late", 1004); // after its end: not recorded
        let body = b"2024-05-01T10:20:30.000000001Z one\n2024-05-01T10:20:31.000000001Z two\n";
        acc.begin_read();
        acc.push(body).unwrap();
        acc.end_read().unwrap();
        let poll = LogQuery { follow: false, since_time: Some("x".into()), ..query };
        rec.one_shot("poll", poll.clone(), body, 1005, 1006);
        rec.other("log", poll, Err("HTTP 500".into()), 1007, 1008);
        let vector = rec.finish("n".into(), "d".into(), &acc.finish(), None);
        let text = vector.to_json();
        let back = Vector::parse(&text).unwrap();
        assert_eq!(back.format_version(), 2);
        assert_eq!(back.reads.len(), 2);
        assert_eq!(back.reads[0].how.as_deref(), Some("cut"));
        assert!(!back.reads[0].ended());
        assert_eq!(back.reads[0].chunk_ms.as_deref(), Some(&[2, 2][..]));
        assert_eq!(back.reads[1].at_ms, Some(5));
        assert_eq!(back.recording.as_ref().unwrap().other_reads.len(), 1);
        // Replaying gives what the accumulator reported.
        assert_eq!(back.replay().unwrap().finish().stdout, &back.expect.stdout[..]);
        assert_eq!(&back.expect.stdout[..], b"one\ntwo\n");
    }
}
