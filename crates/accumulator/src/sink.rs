//! The capped stdout buffer shared by both modes.

use std::mem::MaybeUninit;

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
        let keep = self.remaining().min(bytes.len());
        if keep > 0 {
            self.make_room(keep);
            self.buf.extend_from_slice(&bytes[..keep]);
        }
    }

    /// Takes the next `len` stream bytes, all kept (`len <= remaining()`), by letting `fill`
    /// write them straight into the buffer: `fill` gets the `len` bytes of spare capacity
    /// after what is kept, and returns them written (what `copy_to_uninit`-style functions
    /// return). Returns `false` and takes nothing if `fill` returns any other slice.
    ///
    /// This spares a caller that cannot lend the bytes as a slice (the wasm binding, whose
    /// chunks live in JS memory) copying them twice.
    #[allow(unsafe_code)]
    pub(crate) fn fill_in_place<F>(&mut self, len: usize, fill: F) -> bool
    where
        F: FnOnce(&mut [MaybeUninit<u8>]) -> &mut [u8],
    {
        debug_assert!(len <= self.remaining());
        self.make_room(len);
        let spare = &mut self.buf.spare_capacity_mut()[..len];
        let start = spare.as_ptr().cast::<u8>();
        let filled = fill(spare);
        if filled.as_ptr() != start || filled.len() != len {
            return false;
        }
        // SAFETY: `filled` is a `&mut [u8]`, so the bytes it covers are initialised, and it
        // covers exactly the `len` bytes of spare capacity right after the buffer's length
        // (same start, same length): the buffer's first `len + len()` bytes are initialised,
        // and `len` fits the capacity (`make_room`).
        unsafe { self.buf.set_len(self.buf.len() + len) };
        self.total += len as u64;
        true
    }

    /// Makes sure `keep` more bytes fit without reallocating (`keep <= remaining()`).
    fn make_room(&mut self, keep: usize) {
        if self.buf.capacity() - self.buf.len() < keep {
            // Most runs print little: grow on demand instead of reserving the whole cap,
            // geometrically as `Vec` would, but never past the cap (plain doubling would
            // leave a full 5 MiB sink holding an 8 MiB buffer).
            let wanted =
                (self.buf.capacity() * 2).max(self.buf.len() + keep).max(4096).min(self.cap);
            self.buf.reserve_exact(wanted - self.buf.len());
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
