//! A faithful model of the TypeScript service's per-poll accumulation (spec §6.3, the
//! post-PR-#1915 fix): the baseline the accumulator is compared with by the CLI demo, `replay`
//! and the benchmarks. Do not use it to build stdout: it has every weakness listed in spec §6.4
//! (W1–W5, W10), on purpose.

#![forbid(unsafe_code)]

/// The TypeScript poll state: `lastLogLen` in UTF-16 code units, the canonical byte chunks
/// capped at `stdoutMaxBytes`, and the shrink flag.
#[derive(Debug, Clone)]
pub struct TypeScriptPoller {
    cap: usize,
    last_log_len: usize,
    canonical: Vec<u8>,
    log_shrunk: bool,
}

impl TypeScriptPoller {
    /// A poller with the service's `stdoutMaxBytes`.
    pub fn new(cap_bytes: usize) -> Self {
        Self { cap: cap_bytes, last_log_len: 0, canonical: Vec::new(), log_shrunk: false }
    }

    /// One successful poll: the response body of `GET …/log?container=runner&limitBytes=N`.
    /// Returns the delta the TypeScript code hands to its live-progress scanner.
    pub fn poll(&mut self, body: &[u8]) -> Vec<u8> {
        // The client decodes the body to a JavaScript (UTF-16) string, replacing bad bytes.
        let logs: Vec<u16> = String::from_utf8_lossy(body).encode_utf16().collect();
        if logs.len() < self.last_log_len {
            self.log_shrunk = true;
            self.last_log_len = 0;
            return Vec::new();
        }
        if logs.len() == self.last_log_len {
            return Vec::new();
        }
        // `logs.slice(lastLogLen)` then `Buffer.from(delta)`: a cut surrogate pair becomes U+FFFD.
        let delta = String::from_utf16_lossy(&logs[self.last_log_len..]).into_bytes();
        self.last_log_len = logs.len();
        let room = self.cap.saturating_sub(self.canonical.len());
        self.canonical.extend_from_slice(&delta[..room.min(delta.len())]);
        delta
    }

    /// The canonical stdout bytes (`Buffer.concat(canonicalChunks)`).
    pub fn stdout(&self) -> &[u8] {
        &self.canonical
    }

    /// The canonical stdout as the service decodes it (invalid or cut sequences → U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.canonical).into_owned()
    }

    /// `truncated.stdout` before `capText`: `canonicalByteCount >= stdoutMaxBytes || logShrunk` (W10).
    pub fn truncated(&self) -> bool {
        self.canonical.len() >= self.cap || self.log_shrunk
    }
}

#[cfg(test)]
mod tests {
    use super::TypeScriptPoller;

    fn run(cap: usize, polls: &[&str]) -> (String, bool) {
        let mut p = TypeScriptPoller::new(cap);
        for body in polls {
            p.poll(body.as_bytes());
        }
        (p.text(), p.truncated())
    }

    #[test]
    fn reproduces_the_spec_test_sequences() {
        assert_eq!(run(1 << 20, &["AAAAA", "BBB"]), ("AAAAA".into(), true)); // T1
        assert_eq!(run(1 << 20, &["AAAAAA", "BBBB", "BBBBBBBB"]), ("AAAAAABBBBBBBB".into(), true)); // T2
        assert_eq!(run(4, &["AAAAAAAAAA", "AAAAAAAAAA"]), ("AAAA".into(), true)); // T3
    }

    #[test]
    fn reproduces_w1_and_w4() {
        // W1: the new file already past the old offset: its head is silently skipped.
        assert_eq!(run(1 << 20, &["0123456789", "abcdefghijkl"]), ("0123456789kl".into(), false));
        // W4: a poll ending inside '€' leaves a U+FFFD that the next poll never repairs.
        let mut p = TypeScriptPoller::new(1 << 20);
        let line = "€€".as_bytes();
        p.poll(&line[..4]);
        p.poll(line);
        assert_eq!(p.text(), "€\u{FFFD}");
    }
}
