//! The capped stdout buffer shared by both modes.

/// Collects the first `cap` bytes of the stream and counts every byte offered.
#[derive(Debug, Clone)]
pub(crate) struct Sink {
    buf: Vec<u8>,
    cap: usize,
    total: u64,
}

impl Sink {
    pub(crate) fn new(cap: usize) -> Self {
        Self { buf: Vec::new(), cap, total: 0 }
    }

    /// Offers the next bytes of the stream: kept while under the cap, always counted.
    pub(crate) fn take(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = self.remaining();
        if room > 0 {
            let keep = room.min(bytes.len());
            if self.buf.capacity() - self.buf.len() < keep {
                // Most runs print little: grow on demand instead of reserving the whole cap,
                // geometrically as `Vec` would, but never past the cap (plain doubling would
                // leave a full 5 MiB sink holding an 8 MiB buffer).
                let wanted =
                    (self.buf.capacity() * 2).max(self.buf.len() + keep).max(4096).min(self.cap);
                self.buf.reserve_exact(wanted - self.buf.len());
            }
            self.buf.extend_from_slice(&bytes[..keep]);
        }
    }

    /// Counts stream bytes that were observed but are past the cap anyway.
    pub(crate) fn count_only(&mut self, n: u64) {
        debug_assert!(self.is_full());
        self.total += n;
    }

    pub(crate) fn remaining(&self) -> usize {
        self.cap - self.buf.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.buf.len() == self.cap
    }

    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }
}
